import Foundation
import NNUNetCore
import NNUNetEvaluation

/// Predicts a folder of images with a ``V2TrainedModel`` as v2's `nnUNetv2_predict_from_modelfolder` does: the
/// outputs, their names and the side files are v2's.
///
/// Port of the behaviour of v2 `inference/predict_from_raw_data.py` `nnUNetPredictor.predict_from_files`:
/// - cases are the names `CASE_XXXX<file_ending>` of the input folder (`XXXX` four digits, one file per channel),
///   sorted, of which part `partID` of `partCount` is predicted (every `partCount`-th case from `partID` on);
/// - each case writes `CASE<file_ending>` (uint8 labels, uint16 from 255 foreground labels on, in the input's
///   geometry) and, with ``saveProbabilities``, `CASE.npz` (`probabilities`, float32 `[K, z, y, x]`) and `CASE.pkl`
///   (the case properties) first;
/// - without ``overwrite`` (v2's `--continue_prediction`) cases whose outputs exist are skipped;
/// - the output folder receives `dataset.json`, `plans.json` and `predict_from_raw_data_args.json`.
///
/// Only NIfTI (`.nii.gz`, `.nii`) inputs are read (v2's `SimpleITKIO` default).
public struct V2FolderPrediction {
    /// The folder with `CASE_XXXX<file_ending>` images.
    public var inputFolder: URL
    /// Where the predictions go (created if needed).
    public var outputFolder: URL
    /// Whether `CASE.npz` and `CASE.pkl` are written (`--save_probabilities`).
    public var saveProbabilities = false
    /// Whether existing predictions are redone (v2's default; `--continue_prediction` sets it false).
    public var overwrite = true
    /// For a cascade stage: the folder with the previous stage's segmentation of every case, `CASE<file_ending>`
    /// (`-prev_stage_predictions`). Required for cascade stages, refused for others.
    public var previousStageFolder: URL?
    /// Number of parts the cases are split into (`-num_parts`), and the part predicted here (`-part_id`).
    public var partCount = 1, partID = 0
    /// Called with one line per event (case started, done, skipped); nil prints nothing.
    public var progress: ((String) -> Void)?

    /// Creates a run; see the properties for the options.
    public init(inputFolder: URL, outputFolder: URL) {
        self.inputFolder = inputFolder
        self.outputFolder = outputFolder
    }

    /// One case of the input folder.
    public struct Case: Sendable, Equatable {
        /// The case identifier (the file name without `_XXXX<file_ending>`).
        public var identifier: String
        /// Its channel files, sorted (`_0000`, `_0001`, ...).
        public var files: [URL]
    }

    /// The cases of `folder` (v2's `create_lists_from_splitted_dataset_folder`): identifiers are the names ending in
    /// `fileEnding` less that ending and the 5 characters `_XXXX`, unique and sorted; a case's files are those named
    /// exactly `IDENTIFIER_DDDD<fileEnding>`.
    /// - Throws: ``TrainingError/unusableModel(_:)`` when the folder cannot be read.
    public static func cases(in folder: URL, fileEnding: String) throws -> [Case] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() } catch {
            throw TrainingError.unusableModel("the input folder '\(folder.path)' cannot be read (\(error))")
        }
        let files = names.filter { $0.hasSuffix(fileEnding) && $0.count >= fileEnding.count + 5 }
        let identifiers = Set(files.map { String($0.dropLast(fileEnding.count + 5)) }).sorted()
        return identifiers.map { identifier in
            let own = files.filter { name in
                guard name.hasPrefix(identifier + "_"), name.count == identifier.count + 5 + fileEnding.count else {
                    return false
                }
                let digits = name.dropFirst(identifier.count + 1).prefix(4)
                return digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber)
            }
            return Case(identifier: identifier, files: own.map { folder.appendingPathComponent($0) })
        }
    }

    /// What a run did.
    public struct Summary: Sendable {
        /// Identifiers predicted and written.
        public var predicted: [String] = []
        /// Identifiers skipped because their outputs existed (``overwrite`` false).
        public var skipped: [String] = []
    }

    /// Predicts this part of the input folder.
    ///
    /// Everything that can be checked before predicting is (the file ending, the input cases and their channel
    /// counts, the part), so that a run that cannot work writes nothing.
    /// - Throws: ``TrainingError`` naming the folder, case or file; a case that fails stops the run (as in v2), after
    ///   the cases before it were written.
    @discardableResult
    public func run(model: V2TrainedModel) throws -> Summary {
        let ending = model.dataset.fileEnding
        guard ending == ".nii.gz" || ending == ".nii" else {
            throw TrainingError.unusableModel("'\(model.dataset.source)': file_ending '\(ending)' is not supported; "
                                              + "this port reads and writes NIfTI (.nii.gz, .nii)")
        }
        guard partCount >= 1, partID >= 0, partID < partCount else {
            throw TrainingError.unusableModel("part \(partID) of \(partCount) does not exist: -part_id must be in "
                                              + "0 ..< -num_parts")
        }
        let all = try Self.cases(in: inputFolder, fileEnding: ending)
        let mine = stride(from: partID, to: all.count, by: partCount).map { all[$0] }
        for item in mine where item.files.count != model.dataset.channelCount {
            throw TrainingError.unusableModel("case '\(item.identifier)' in '\(inputFolder.path)' has "
                                              + "\(item.files.count) channel file(s); the model needs "
                                              + "\(model.dataset.channelCount) (\(item.identifier)_0000\(ending) ...)")
        }
        var previousStage: [String: URL] = [:]
        if model.needsPreviousStage {
            guard let folder = previousStageFolder else {
                throw TrainingError.unusableModel("configuration '\(model.configuration.name)' of "
                                                  + "'\(model.modelFolder.path)' is a cascade stage; give the folder "
                                                  + "with the predictions of its previous stage "
                                                  + "'\(model.configuration.previousStage ?? "")' for these cases "
                                                  + "(-prev_stage_predictions)")
            }
            for item in mine {
                let file = folder.appendingPathComponent(item.identifier + ending)
                guard FileManager.default.fileExists(atPath: file.path) else {
                    throw TrainingError.unusableModel("case '\(item.identifier)': the previous stage's segmentation "
                                                      + "'\(file.path)' does not exist (predict the cases with "
                                                      + "'\(model.configuration.previousStage ?? "")' first)")
                }
                previousStage[item.identifier] = file
            }
        } else if let folder = previousStageFolder {
            throw TrainingError.unusableModel("configuration '\(model.configuration.name)' has no previous stage; "
                                              + "-prev_stage_predictions '\(folder.path)' is for cascade stages only")
        }
        do { try FileManager.default.createDirectory(at: outputFolder, withIntermediateDirectories: true) } catch {
            throw CoreError.fileSystem(path: outputFolder.path, reason: "cannot create the output folder (\(error))")
        }
        try writeRunFiles(model: model)
        var summary = Summary()
        for (index, item) in mine.enumerated() {
            let base = outputFolder.appendingPathComponent(item.identifier)
            let segmentation = URL(fileURLWithPath: base.path + ending)
            let npz = URL(fileURLWithPath: base.path + ".npz"), pkl = URL(fileURLWithPath: base.path + ".pkl")
            let exists = { (url: URL) in FileManager.default.fileExists(atPath: url.path) }
            if !overwrite && exists(segmentation) && (!saveProbabilities || exists(npz)) {
                summary.skipped.append(item.identifier)
                progress?("[\(index + 1)/\(mine.count)] \(item.identifier): exists, skipped")
                continue
            }
            let start = Date()
            let prediction = try model.predictCase(imageFiles: item.files, identifier: item.identifier,
                                                   previousStage: previousStage[item.identifier],
                                                   keepingProbabilities: saveProbabilities)
            if let probabilities = prediction.probabilities {
                try NPZ.write([("probabilities", NPYArray(float32: probabilities, shape: prediction.probabilityShape))],
                              to: npz)
                try PickleWriter.write(prediction.properties.pickleValue, to: pkl)
            }
            let largest = model.dataset.hasRegions ? (model.dataset.regionsClassOrder?.max() ?? 0)
                : model.dataset.segmentationHeadCount - 1
            try NIfTI.write(prediction.labels, to: segmentation, dataType: largest < 255 ? .uint8 : .uint16)
            summary.predicted.append(item.identifier)
            progress?("[\(index + 1)/\(mine.count)] \(item.identifier): done in "
                      + String(format: "%.1f s", Date().timeIntervalSince(start)))
        }
        return summary
    }

    /// `dataset.json`, `plans.json` and `predict_from_raw_data_args.json` in the output folder, as v2 writes them.
    func writeRunFiles(model: V2TrainedModel) throws {
        for name in ["dataset.json", "plans.json"] {
            try AtomicFile.copy(model.modelFolder.appendingPathComponent(name),
                                to: outputFolder.appendingPathComponent(name))
        }
        let arguments = JSONValue.object([
            ("folder_with_segs_from_prev_stage", previousStageFolder.map { .string($0.path) } ?? .null),
            ("list_of_lists_or_source_folder", .string(inputFolder.path)),
            ("num_parts", .int(partCount)),
            ("num_processes_preprocessing", .int(1)),
            ("num_processes_segmentation_export", .int(1)),
            ("output_folder_or_list_of_truncated_output_files", .string(outputFolder.path)),
            ("overwrite", .bool(overwrite)),
            ("part_id", .int(partID)),
            ("save_probabilities", .bool(saveProbabilities)),
        ])
        try AtomicFile.write(arguments.serialized(sortKeys: true, indent: 4),
                             to: outputFolder.appendingPathComponent("predict_from_raw_data_args.json"))
    }
}
