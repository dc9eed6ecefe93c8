import Foundation
import NNUNetCore
import NNUNetEvaluation
import NNUNetPlanning

/// Predicts a folder (or a list) of images with a trained model folder, as v1's `nnUNet_predict` does: the
/// library call behind `nnunet predict`.
///
/// One call covers what `nnUNet_predict` does around the network: it takes the output folder's lock
/// (NNUNetCore's `FolderLock`) and removes temporaries of interrupted runs (`TemporaryFile.sweep`),
/// predicts this part of the cases (``Options/part``), skips cases whose output exists (unless
/// ``Options/overwritesExisting``), writes `CASE.nii.gz` (and with ``Options/savesProbabilities`` v1's `CASE.npz` +
/// `CASE.pkl`), runs the cascade's 3d_lowres stage first when asked (``Options/previousStage``), applies the model
/// folder's `postprocessing.json`, and writes `plans.json`/`plans.pkl` and `prediction_time.txt` next to the
/// predictions. A case that fails does not stop the others; the call throws at the end, naming every failed case.
///
/// Model folders trained by this package and by nnU-Net v1 (`plans.pkl`, `model_final_checkpoint.model` +
/// `.model.pkl`) load the same way (``TrainedModel``).
///
/// ```swift
/// var options = FolderPredictor.Options()
/// options.folds = [.index(0)]
/// let predictor = try FolderPredictor(modelFolder: trainerFolder, options: options)
/// let summary = try predictor.predict(.folder(imagesTs), into: outputFolder) { event in
///     if case let .caseFinished(item, seconds) = event { print(item.identifier, seconds) }
/// }
/// ```
///
/// Threads: ``Options/threads`` (default: `ThreadSettings.defaultThreads` of the calling scope) is bound for the
/// whole call. The call changes no process-wide setting; see <doc:ThreadsAndMemory> for what an application may opt
/// in to (`ProcessTuning`).
///
/// ### See Also
/// - ``TrainedModel``: one case at a time, in memory.
/// - ``Options``, ``Event``, ``Summary``
public struct FolderPredictor {
    /// The trained model folder (`RESULTS_FOLDER/nnUNet/CONFIG/TaskXXX_NAME/TRAINER__PLANS`).
    public let modelFolder: URL
    /// The options the model was set up with and the predictions follow.
    public let options: Options
    /// The loaded model (every requested fold), set up as ``options`` say.
    public let model: TrainedModel

    /// Loads the model folder's plans and the requested folds' checkpoints and checks the options.
    ///
    /// - Parameters:
    ///   - modelFolder: a trainer folder of this package or of nnU-Net v1.
    ///   - options: how to predict (default: v1's defaults).
    /// - Throws: ``TrainingError/invalidPredictionRequest(_:)`` for inconsistent options;
    ///   ``TrainingError/unusableModel(_:)`` or ``TrainingError/corruptCheckpoint(path:reason:)`` naming what is
    ///   missing or broken in the model folder.
    public init(modelFolder: URL, options: Options = Options()) throws {
        try options.validate()
        self.modelFolder = modelFolder
        self.options = options
        model = try Self.loadModel(modelFolder, options: options)
    }

    /// Predicts the cases of `input` into `outputFolder` (created if needed).
    ///
    /// - Parameters:
    ///   - input: the images (v1 naming, `CASE_0000.nii.gz`, ...).
    ///   - outputFolder: where `CASE.nii.gz` and the rest go; locked for the duration of the call.
    ///   - progress: called on the calling thread for each ``Event``, in order; nil to be silent.
    /// - Returns: the main model's ``Summary`` (the cascade's 3d_lowres stage reports its own through `progress`).
    /// - Throws: ``TrainingError/invalidPredictionRequest(_:)`` (an output that is a file, a cascade without its
    ///   previous stage, misnamed files), ``TrainingError/noCasesToPredict(folder:)``,
    ///   `CoreError.folderLocked(path:holder:)` when another run writes the same folder, and
    ///   ``TrainingError/casesFailed(_:)`` after the other cases are done when some failed.
    @discardableResult
    public func predict(_ input: Input, into outputFolder: URL, progress: ((Event) -> Void)? = nil) throws -> Summary {
        try ThreadSettings.withThreads(options.threads ?? ThreadSettings.defaultThreads) {
            try predictLocked(input, into: outputFolder, progress: progress ?? { _ in })
        }
    }

    private func predictLocked(_ input: Input, into outputFolder: URL, progress: (Event) -> Void) throws -> Summary {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: outputFolder.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw TrainingError.invalidPredictionRequest("the output '\(outputFolder.path)' is a file; give a folder")
        }
        if model.needsPreviousStage, options.previousStage == nil {
            throw TrainingError.invalidPredictionRequest(
                "'\(modelFolder.path)' is a 3d_cascade_fullres model and needs each case's 3d_lowres segmentation: "
                + "set the previous stage (nnunet predict -m 3d_cascade_fullres, with -l FOLDER if you have them)")
        }
        if !model.needsPreviousStage, options.previousStage != nil {
            throw TrainingError.invalidPredictionRequest(
                "'\(modelFolder.path)' is not a 3d_cascade_fullres model; 3d_lowres segmentations (-l) are only used "
                + "by the cascade")
        }
        if case let .segmentations(folder) = options.previousStage {
            guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue
            else {
                throw TrainingError.invalidPredictionRequest("'\(folder.path)' is not a folder of 3d_lowres "
                                                             + "segmentations")
            }
        }
        let cases = try input.cases(modalities: model.plans.numModalities)
        model.threads = ThreadSettings.defaultThreads  // bound by predict(_:into:progress:)
        // One run per output folder: a second one fails at once naming this one. Stray temporaries of killed runs
        // (here and in 3d_lowres_predictions/) are removed once the lock is held.
        let lock = try FolderLock.acquire(outputFolder, purpose: options.purpose
                                          ?? "FolderPredictor \(modelFolder.lastPathComponent)")
        defer { lock.release() }
        let removed = TemporaryFile.sweep(outputFolder, startedBefore: lock.acquiredAt)
        if !removed.isEmpty { progress(.removedTemporaryFiles(count: removed.count)) }

        var lowres: URL?
        switch options.previousStage {
        case nil:
            break
        case let .segmentations(folder):
            lowres = folder
        case let .predict(lowresFolder):
            let folder = outputFolder.appendingPathComponent("3d_lowres_predictions", isDirectory: true)
            progress(.previousStageStarted(folder: folder))
            var lowresOptions = options
            lowresOptions.savesProbabilities = false
            lowresOptions.previousStage = nil
            let lowresModel = try Self.loadModel(lowresFolder, options: lowresOptions)
            lowresModel.threads = ThreadSettings.defaultThreads
            let summary = try predict(cases, with: lowresModel, from: lowresFolder, into: folder, previousStage: nil,
                                      keepsProbabilities: false, progress: progress)
            try Self.throwIfFailed(summary)
            progress(.previousStageFinished(folder: folder))
            lowres = folder
        }
        let summary = try predict(cases, with: model, from: modelFolder, into: outputFolder, previousStage: lowres,
                                  keepsProbabilities: options.savesProbabilities, progress: progress)
        try Self.throwIfFailed(summary)
        return summary
    }

    /// Predicts this part of `cases` with one model into `outputFolder`, then applies the model's postprocessing and
    /// writes `prediction_time.txt` and the plans.
    private func predict(_ cases: [InputCase], with model: TrainedModel, from modelFolder: URL,
                         into outputFolder: URL, previousStage: URL?, keepsProbabilities: Bool,
                         progress: (Event) -> Void) throws -> Summary {
        let start = Date()
        try FileManager.default.createDirectory(at: outputFolder, withIntermediateDirectories: true)
        let mine = cases.enumerated().filter { $0.offset % options.part.count == options.part.index }.map(\.element)
        progress(.started(modelFolder: modelFolder, caseCount: mine.count, foldCount: model.folds.count,
                          usesMirroring: model.usesMirroring))
        var summary = Summary(outputFolder: outputFolder, predicted: [], skipped: [], failures: [],
                              appliedPostprocessing: false, seconds: 0)
        for (index, item) in mine.enumerated() {
            let target = outputFolder.appendingPathComponent(item.identifier + ".nii.gz")
            let position = CaseProgress(identifier: item.identifier, index: index, count: mine.count, output: target)
            if !options.overwritesExisting, FileManager.default.fileExists(atPath: target.path) {
                summary.skipped.append(item.identifier)
                progress(.caseSkipped(position, reason: .outputExists))
                continue
            }
            if let missing = item.imageFiles.first(where: { !FileManager.default.fileExists(atPath: $0.path) }) {
                summary.failures.append(Failure(identifier: item.identifier,
                                                message: "missing modality file \(missing.path)"))
                progress(.caseSkipped(position, reason: .missingModality(missing)))
                continue
            }
            let segmentation = previousStage?.appendingPathComponent(item.identifier + ".nii.gz")
            if let segmentation, !FileManager.default.fileExists(atPath: segmentation.path) {
                summary.failures.append(Failure(identifier: item.identifier,
                                                message: "missing 3d_lowres segmentation \(segmentation.path)"))
                progress(.caseSkipped(position, reason: .missingPreviousStage(segmentation)))
                continue
            }
            progress(.caseStarted(position))
            let caseStart = Date()
            do {
                let prediction = try model.predictCase(imageFiles: item.imageFiles, identifier: item.identifier,
                                                       keepingProbabilities: keepsProbabilities,
                                                       previousStage: segmentation)
                if let probabilities = prediction.probabilities {
                    // v1 --save_npz: CASE.npz (float16 softmax at the cropped size) + CASE.pkl (properties).
                    try NPZ.write([("softmax", NPYArray(float16: probabilities, shape: prediction.probabilityShape))],
                                  to: outputFolder.appendingPathComponent(item.identifier + ".npz"))
                    try PickleWriter.write(prediction.properties.v1PickleValue,
                                           to: outputFolder.appendingPathComponent(item.identifier + ".pkl"))
                }
                try NIfTI.write(prediction.labels, to: target, dataType: .uint8)
                summary.predicted.append(item.identifier)
                progress(.caseFinished(position, seconds: Date().timeIntervalSince(caseStart)))
            } catch {
                summary.failures.append(Failure(identifier: item.identifier, message: "\(error)"))
                progress(.caseFailed(position, message: "\(error)"))
            }
        }
        if options.appliesPostprocessing {
            summary.appliedPostprocessing = try applyPostprocessing(of: modelFolder, to: summary.predicted,
                                                                    in: outputFolder, progress: progress)
        }
        try AtomicFile.copy(model.plansFile, to: outputFolder.appendingPathComponent(model.plansFile.lastPathComponent))
        summary.seconds = Date().timeIntervalSince(start)
        try AtomicFile.write(String(format: "%.3f", summary.seconds),
                             to: outputFolder.appendingPathComponent("prediction_time.txt"))
        progress(.finished(summary))
        return summary
    }

    /// The model's postprocessing (chosen by determine-postprocessing), applied in place to this run's cases; returns
    /// whether it was applied.
    private func applyPostprocessing(of modelFolder: URL, to identifiers: [String], in outputFolder: URL,
                                     progress: (Event) -> Void) throws -> Bool {
        let file = modelFolder.appendingPathComponent("postprocessing.json")
        guard FileManager.default.fileExists(atPath: file.path) else {
            progress(.postprocessingMissing(expected: file))
            return false
        }
        let written = identifiers.map { $0 + ".nii.gz" }
            .filter { FileManager.default.fileExists(atPath: outputFolder.appendingPathComponent($0).path) }
        guard !written.isEmpty else { return false }
        let decision = try PostprocessingDecision.read(file)
        try PostprocessingApplication.apply(classSets: decision.forWhichClasses,
                                            minimumSizes: decision.minValidObjectSizes, inputFolder: outputFolder,
                                            outputFolder: outputFolder, fileNames: written)
        try AtomicFile.copy(file, to: outputFolder.appendingPathComponent("postprocessing.json"))
        progress(.postprocessingApplied(file: file, decision: decision))
        return true
    }

    /// The trained model of `folder` (the options' folds and checkpoint) set up as the options say: mirroring, step
    /// size, slabs, export mode, threads.
    static func loadModel(_ folder: URL, options: Options) throws -> TrainedModel {
        let trained = try TrainedModel(trainerFolder: folder, folds: options.folds, checkpoint: options.checkpoint)
        trained.usesMirroring = options.usesMirroring
        trained.stepSize = options.stepSize
        trained.slabDepth = options.slabDepth
        trained.exportMode = options.exportMode
        return trained
    }

    static func throwIfFailed(_ summary: Summary) throws {
        guard summary.failures.isEmpty else {
            throw TrainingError.casesFailed(summary.failures.map { "\($0.identifier): \($0.message)" })
        }
    }
}
