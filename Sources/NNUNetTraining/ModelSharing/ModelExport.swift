import Foundation
import NNUNetCore

/// Packs the trained models of a task into a zip file to share: the Swift API behind `nnunet export-model-to-zip`
/// (v1 `nnUNet_export_model_to_zip`, `inference/pretrained_models/collect_pretrained_models.py`).
///
/// Archive paths are relative to `RESULTS_FOLDER/nnUNet`, so `nnunet install-pretrained-model-from-zip` (see
/// NNUNetCore's `SafeZipExtractor`) puts every file back in place. Per exported configuration the trainer folder
/// `<config>/<Task>/<Trainer>__<plans>/` contributes, in this order:
/// - per fold (`fold_k/`, or `all/`): `debug.json` (if present), `model_final_checkpoint.model`, its sidecar
///   (`.model.json` written by this package, `.model.pkl` by v1; whichever exist), then `progress.png` and
///   `network_architecture.pdf` if present;
/// - `plans.json` and/or `plans.pkl` (whichever exist), then `postprocessing.json`.
///
/// Then `ensembles/<Task>/<ensemble>/postprocessing.json` for every ensemble folder whose name
/// (`ensemble_<m1>__<tr1>__<pl>--<m2>__<tr2>__<pl>`) mentions only exported configurations with their trainer and the
/// plans identifier. `model_best` is not exported (as in v1).
///
/// In strict mode (the default) a missing configuration folder, fold checkpoint or `postprocessing.json` is an error
/// that names it; otherwise it is skipped and listed in ``Contents/skipped``. A trainer folder without plans is always
/// an error. The zip is written to a temporary file next to the target and renamed into place, so a failed export never
/// leaves a partial archive.
///
/// ```swift
/// var options = ModelExport.Options(task: "Task004_Hippocampus")
/// options.configurations = [.fullres]
/// let contents = try ModelExport.export(options, trainedModels: paths.trainedModels(), to: zipURL)
/// ```
public enum ModelExport {
    /// What to export (v1's command-line arguments).
    public struct Options: Sendable, Equatable {
        /// The task folder name, `TaskXXX_NAME`.
        public var task: String
        /// Configurations (`2d`, `3d_lowres`, `3d_fullres`, `3d_cascade_fullres`); default all four.
        public var configurations: [NetworkConfiguration] = NetworkConfiguration.allCases
        /// Trainer of `2d`, `3d_lowres` and `3d_fullres` (v1 `-tr`).
        public var trainer = "nnUNetTrainerV2"
        /// Trainer of `3d_cascade_fullres` (v1 `-trc`).
        public var cascadeTrainer = "nnUNetTrainerV2CascadeFullRes"
        /// Plans identifier (v1 `-pl`).
        public var plansIdentifier = "nnUNetPlansv2.1"
        /// Folds: numbers (folder `fold_k`) or `all` (folder `all`); default 0 to 4.
        public var folds: [Fold] = Fold.defaultCrossValidation
        /// Whether anything missing is an error (v1's default; `--disable_strict` turns it off).
        public var isStrict = true

        /// Options for `task` (`TaskXXX_NAME`) with v1's defaults: all configurations, folds 0 to 4, strict.
        public init(task: String) { self.task = task }

        /// The trainer that a configuration is trained with.
        public func trainer(for configuration: NetworkConfiguration) -> String {
            configuration.isCascade ? cascadeTrainer : trainer
        }
    }

    /// The files an export packs and what it skipped.
    public struct Contents: Sendable, Equatable {
        /// Paths relative to `RESULTS_FOLDER/nnUNet`, in archive order.
        public var files: [String]
        /// One line per thing skipped outside strict mode (relative path and why).
        public var skipped: [String]
    }

    /// The name of a model checkpoint that is exported (v1 exports only the final one).
    public static let checkpointName = "model_final_checkpoint"

    /// Collects the files to export, checking that everything strict mode needs exists.
    ///
    /// - Parameters:
    ///   - options: what to export.
    ///   - trainedModels: `RESULTS_FOLDER/nnUNet`.
    /// - Throws: ``TrainingError/incompleteModelExport(path:reason:)`` naming what is missing.
    public static func collect(_ options: Options, trainedModels: URL) throws -> Contents {
        let fm = FileManager.default
        func exists(_ relative: String) -> Bool {
            var isDirectory: ObjCBool = false
            return fm.fileExists(atPath: trainedModels.appendingPathComponent(relative).path, isDirectory: &isDirectory)
                && !isDirectory.boolValue
        }
        func isFolder(_ relative: String) -> Bool {
            var isDirectory: ObjCBool = false
            return fm.fileExists(atPath: trainedModels.appendingPathComponent(relative).path, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }
        func missing(_ relative: String, _ reason: String) -> TrainingError {
            .incompleteModelExport(path: trainedModels.appendingPathComponent(relative).path, reason: reason)
        }
        let foldFolders = options.folds.map(\.folderName)
        let strictHint = "pass --disable_strict to skip what is missing"
        var files: [String] = [], skipped: [String] = [], exported: [NetworkConfiguration] = []
        for configuration in options.configurations {
            let folder = "\(configuration)/\(options.task)/\(options.trainer(for: configuration))__"
                + options.plansIdentifier
            guard isFolder(folder) else {
                if options.isStrict {
                    throw missing(folder, "does not exist: the task has no trained \(configuration) model. Export "
                                  + "only trained configurations with -m, or \(strictHint)")
                }
                skipped.append("\(folder) (no such model folder)")
                continue
            }
            var modelFiles: [String] = []
            var foldsExported = 0
            for fold in foldFolders {
                let base = "\(folder)/\(fold)/"
                let checkpoint = base + checkpointName + ".model"
                let sidecars = [checkpoint + ".json", checkpoint + ".pkl"].filter(exists)
                guard exists(checkpoint), !sidecars.isEmpty else {
                    let what = exists(checkpoint) ? "\(checkpointName).model.json (or v1's .model.pkl) next to it"
                        : "\(checkpointName).model"
                    if options.isStrict {
                        throw missing(checkpoint, "is not a complete checkpoint: \(what) is missing (\(fold) not "
                                      + "trained?). Choose the trained folds with -f, or \(strictHint)")
                    }
                    skipped.append("\(base) (no complete \(checkpointName))")
                    continue
                }
                modelFiles += [base + "debug.json"].filter(exists) + [checkpoint] + sidecars
                    + [base + "progress.png", base + "network_architecture.pdf"].filter(exists)
                foldsExported += 1
            }
            guard foldsExported > 0 else {
                skipped.append("\(folder) (none of the folds \(foldFolders.joined(separator: ", ")) is trained)")
                continue
            }
            let plans = ["\(folder)/plans.json", "\(folder)/plans.pkl"].filter(exists)
            guard !plans.isEmpty else {
                throw missing(folder, "holds no plans.json (or v1's plans.pkl); it is not a complete model folder")
            }
            modelFiles += plans
            let postprocessing = "\(folder)/postprocessing.json"
            if exists(postprocessing) {
                modelFiles.append(postprocessing)
            } else if options.isStrict {
                throw missing(postprocessing, "does not exist. Run 'nnunet determine-postprocessing' for this model "
                              + "(needs the full cross-validation), or \(strictHint)")
            } else {
                skipped.append("\(postprocessing) (missing)")
            }
            files += modelFiles
            exported.append(configuration)
        }
        let ensembles = "ensembles/\(options.task)"
        let names = ((try? fm.contentsOfDirectory(atPath: trainedModels.appendingPathComponent(ensembles).path)) ?? [])
            .filter { isFolder("\(ensembles)/\($0)") && isExported(ensemble: $0, configurations: exported, options) }
            .sorted()
        for name in names {
            let postprocessing = "\(ensembles)/\(name)/postprocessing.json"
            if exists(postprocessing) {
                files.append(postprocessing)
            } else if options.isStrict {
                throw missing(postprocessing, "does not exist. Run 'nnunet find-best-configuration' again to "
                              + "determine the ensemble's postprocessing, or \(strictHint)")
            } else {
                skipped.append("\(postprocessing) (missing)")
            }
        }
        guard !files.isEmpty else {
            throw missing("", "holds nothing to export for \(options.task) (skipped: "
                          + skipped.joined(separator: "; ") + ")")
        }
        return Contents(files: files, skipped: skipped)
    }

    /// Whether an ensemble folder name (`ensemble_<m1>__<tr1>__<pl>--<m2>__<tr2>__<pl>`) mentions only the exported
    /// configurations, each with its trainer, and the exported plans identifier.
    public static func isExported(ensemble name: String, configurations: [NetworkConfiguration], _ options: Options)
        -> Bool {
        guard name.hasPrefix("ensemble_") else { return false }
        let members = name.dropFirst("ensemble_".count).components(separatedBy: "--")
        guard members.count >= 2 else { return false }
        return members.allSatisfy { member in
            let parts = member.components(separatedBy: "__")
            guard parts.count == 3, let configuration = NetworkConfiguration(rawValue: parts[0]) else { return false }
            return configurations.contains(configuration) && parts[1] == options.trainer(for: configuration)
                && parts[2] == options.plansIdentifier
        }
    }

    /// Collects and writes the archive: ``collect(_:trainedModels:)`` then NNUNetCore's `ZipArchiveWriter.write(_:from:to:)`.
    /// - Returns: what was packed and what was skipped.
    @discardableResult
    public static func export(_ options: Options, trainedModels: URL, to zip: URL) throws -> Contents {
        let contents = try collect(options, trainedModels: trainedModels)
        try ZipArchiveWriter.write(contents.files, from: trainedModels, to: zip)
        return contents
    }
}
