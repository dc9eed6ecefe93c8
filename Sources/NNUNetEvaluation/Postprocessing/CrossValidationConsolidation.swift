import Foundation
import NNUNetCore

/// Consolidates a finished five-fold cross-validation and determines the postprocessing used at inference.
///
/// Port of v1 `postprocessing/consolidate_postprocessing.py` `consolidate_folds` (what `nnUNet_determine_postprocessing`
/// and find_best_configuration run), reference sheet §11–§12. In the trainer folder
/// (`RESULTS_FOLDER/nnUNet/<config>/<Task>/<Trainer>__<plans>`):
/// 1. `cv_niftis_raw/` is recreated with every `fold_k/<validation folder>/*.nii.gz`; the count must equal
///    `gt_niftis/`'s.
/// 2. It is evaluated with fold 0's labels (background included) → `cv_niftis_raw/summary.json`.
/// 3. ``PostprocessingDetermination`` runs with raw = `cv_niftis_raw`, final = `cv_niftis_postprocessed`, writing
///    `postprocessing.json` in the trainer folder.
public enum CrossValidationConsolidation {
    /// `RESULTS_FOLDER/nnUNet/<configuration>/<task>/<trainer>__<plans>` (v1 `get_output_folder_name`).
    public static func trainerFolder(trainedModels: URL, configuration: NetworkConfiguration, task: String,
                                     trainer: String, plansIdentifier: String) -> URL {
        trainedModels.appendingPathComponent(configuration.rawValue, isDirectory: true)
            .appendingPathComponent(task, isDirectory: true)
            .appendingPathComponent("\(trainer)__\(plansIdentifier)", isDirectory: true)
    }

    /// Runs the consolidation.
    ///
    /// - Throws: ``EvaluationError/missingFolds(trainerFolder:folds:validationFolder:)`` naming every missing fold,
    ///   ``EvaluationError/incompleteCrossValidation(trainerFolder:predictions:groundTruth:)``, and the errors of the
    ///   evaluation and determination.
    @discardableResult
    public static func consolidate(trainerFolder: URL, validationFolder: String = "validation_raw",
                                   folds: [Int] = [0, 1, 2, 3, 4],
                                   threads: Int = ThreadSettings.defaultThreads) throws -> PostprocessingDecision {
        let summary = try collectAndEvaluate(trainerFolder: trainerFolder, validationFolder: validationFolder,
                                             folds: folds, threads: threads)
        return try PostprocessingDetermination.determine(
            rawFolder: trainerFolder.appendingPathComponent(rawFolderName, isDirectory: true), rawSummary: summary,
            groundTruthFolder: trainerFolder.appendingPathComponent(groundTruthFolderName, isDirectory: true),
            finalFolder: trainerFolder.appendingPathComponent("cv_niftis_postprocessed", isDirectory: true),
            decisionFile: trainerFolder.appendingPathComponent("postprocessing.json"), threads: threads)
    }

    /// The folder of the collected cross-validation predictions inside a trainer folder.
    public static let rawFolderName = "cv_niftis_raw"
    /// The folder of the ground truth that the trainer copied for validation.
    public static let groundTruthFolderName = "gt_niftis"

    /// Steps 1 and 2 of the consolidation without the postprocessing: recreates `cv_niftis_raw/` from the folds'
    /// validation predictions and evaluates it against `gt_niftis/` with the labels of the first fold's
    /// `summary.json` (background included) → `cv_niftis_raw/summary.json`.
    ///
    /// This is what v1's find_best_configuration does with `--disable_postprocessing` (`collect_cv_niftis` +
    /// `evaluate_folder`).
    /// - Parameters:
    ///   - trainerFolder: the `TRAINER__PLANS` folder with the `fold_*` folders.
    ///   - validationFolder: the folds' validation folder name (`validation_raw`).
    ///   - folds: the folds to collect; the first one's `summary.json` gives the labels.
    ///   - threads: worker threads.
    /// - Returns: the evaluation written to `cv_niftis_raw/summary.json`.
    /// - Throws: ``EvaluationError/missingFolds(trainerFolder:folds:validationFolder:)`` naming every missing fold,
    ///   ``EvaluationError/incompleteCrossValidation(trainerFolder:predictions:groundTruth:)`` when the predictions do
    ///   not cover `gt_niftis/`, ``EvaluationError/unreadableFile(path:reason:)`` without `gt_niftis/`, and the
    ///   evaluation's errors.
    @discardableResult
    public static func collectAndEvaluate(trainerFolder: URL, validationFolder: String = "validation_raw",
                                          folds: [Int] = [0, 1, 2, 3, 4],
                                          threads: Int = ThreadSettings.defaultThreads) throws -> EvaluationSummary {
        guard !folds.isEmpty else { throw EvaluationError.invalidArgument("Give at least one fold to consolidate.") }
        let fileManager = FileManager.default
        let foldFolders = folds.map {
            trainerFolder.appendingPathComponent("fold_\($0)", isDirectory: true)
                .appendingPathComponent(validationFolder, isDirectory: true)
        }
        let missing = zip(folds, foldFolders).filter { !isDirectory($0.1) }.map(\.0)
        guard missing.isEmpty else {
            throw EvaluationError.missingFolds(trainerFolder: trainerFolder.path, folds: missing,
                                               validationFolder: validationFolder)
        }
        let rawFolder = trainerFolder.appendingPathComponent(rawFolderName, isDirectory: true)
        let groundTruth = trainerFolder.appendingPathComponent(groundTruthFolderName, isDirectory: true)
        guard isDirectory(groundTruth) else {
            throw EvaluationError.unreadableFile(path: groundTruth.path, reason: "the ground-truth folder gt_niftis "
                + "is missing; it is written when the first fold is trained")
        }
        if fileManager.fileExists(atPath: rawFolder.path) {
            do { try fileManager.removeItem(at: rawFolder) } catch {
                throw EvaluationError.unwritableFile(path: rawFolder.path, reason: "the old folder cannot be removed")
            }
        }
        try PostprocessingDetermination.createFolder(rawFolder)
        for folder in foldFolders {
            for name in try FolderEvaluation.niftiFiles(in: folder) {
                let destination = rawFolder.appendingPathComponent(name)
                try? fileManager.removeItem(at: destination)
                do { try AtomicFile.copy(folder.appendingPathComponent(name), to: destination) } catch let error as CoreError {
                    throw EvaluationError.unwritableFile(path: destination.path, reason: error.description)
                }
            }
        }
        let predictions = try FolderEvaluation.niftiFiles(in: rawFolder)
        let references = try FolderEvaluation.niftiFiles(in: groundTruth)
        guard predictions.count == references.count else {
            throw EvaluationError.incompleteCrossValidation(trainerFolder: trainerFolder.path,
                                                            predictions: predictions.count, groundTruth: references.count)
        }
        let firstSummary = foldFolders[0].appendingPathComponent("summary.json")
        let labels = try EvaluationSummary.read(firstSummary).mean.compactMap { Int($0.label) }
        return try FolderEvaluation.aggregateScores(
            pairs: predictions.map { (rawFolder.appendingPathComponent($0), groundTruth.appendingPathComponent($0)) },
            options: EvaluationOptions(labels: labels), jsonOutput: rawFolder.appendingPathComponent("summary.json"),
            threads: threads)
    }

    /// Folder mode (`nnunet determine-postprocessing --raw PRED --gt GT --out OUT [-l LABELS]`), for predictions made
    /// outside cross-validation. `rawFolder` is only read. Into `outputFolder` go: `summary_raw.json` (the raw
    /// predictions' evaluation), the postprocessed `.nii.gz` files with their `summary.json`, and `postprocessing.json`
    /// (`validation_raw` / `validation_final` = the two folder names).
    ///
    /// - Parameters:
    ///   - rawFolder: the predictions (`.nii.gz`), only read.
    ///   - groundTruthFolder: the reference label maps, same file names.
    ///   - outputFolder: where the results go (not `rawFolder`).
    ///   - labels: labels to evaluate (background may be included; it is never postprocessed). Default: every label
    ///     found in the ground truth.
    ///   - threads: worker threads.
    @discardableResult
    public static func determineForFolder(rawFolder: URL, groundTruthFolder: URL, outputFolder: URL, labels: [Int]? = nil,
                                          threads: Int = ThreadSettings.defaultThreads) throws -> PostprocessingDecision {
        guard rawFolder.standardizedFileURL.path != outputFolder.standardizedFileURL.path else {
            throw EvaluationError.invalidArgument("--out must differ from --raw: the raw predictions are never "
                + "overwritten.")
        }
        let names = try FolderEvaluation.niftiFiles(in: rawFolder)
        let groundTruthNames = Set(try FolderEvaluation.niftiFiles(in: groundTruthFolder))
        let missing = names.filter { !groundTruthNames.contains($0) }
        guard missing.isEmpty else {
            throw EvaluationError.mismatchedFileSets(referenceFolder: groundTruthFolder.path, predictionFolder: rawFolder.path,
                                                     missingInPrediction: [], missingInReference: missing)
        }
        guard !names.isEmpty else { throw EvaluationError.emptyFolder(path: rawFolder.path) }
        let evaluated = try labels ?? labelsPresent(in: names.map { groundTruthFolder.appendingPathComponent($0) })
        try PostprocessingDetermination.createFolder(outputFolder)
        let summary = try FolderEvaluation.aggregateScores(
            pairs: names.map { (rawFolder.appendingPathComponent($0), groundTruthFolder.appendingPathComponent($0)) },
            options: EvaluationOptions(labels: evaluated),
            jsonOutput: outputFolder.appendingPathComponent("summary_raw.json"), threads: threads)
        return try PostprocessingDetermination.determine(
            rawFolder: rawFolder, rawSummary: summary, groundTruthFolder: groundTruthFolder, finalFolder: outputFolder,
            decisionFile: outputFolder.appendingPathComponent("postprocessing.json"), threads: threads)
    }

    /// The sorted distinct integer labels in some label maps.
    static func labelsPresent(in files: [URL]) throws -> [Int] {
        var found = Set<Int>()
        for file in files {
            let volume = try CaseEvaluator.readSegmentation(file)
            var seen = [Bool](repeating: false, count: 256)
            for value in volume.data {
                if value >= 0 && value < 256, let i = Int(exactly: value) { seen[i] = true } else if let i = Int(exactly: value) {
                    found.insert(i)
                }
            }
            for i in 0..<256 where seen[i] { found.insert(i) }
        }
        return found.sorted()
    }

    static func isDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
