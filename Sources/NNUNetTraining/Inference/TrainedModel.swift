import Foundation
import NNUNetCore
import NNUNetPlanning

/// A trained model folder (`RESULTS_FOLDER/nnUNet/CONFIG/TaskXXX_NAME/TRAINER__PLANS/`) loaded once for prediction:
/// the plans and one network per fold. The Swift API behind `nnunet predict`.
///
/// Folders trained by this package (`plans.json`, safetensors checkpoints) and by nnU-Net v1 (`plans.pkl`,
/// `model_final_checkpoint.model` + `.model.pkl`, see ``V1ModelFolder``) load the same way.
///
/// ```swift
/// let model = try TrainedModel(trainerFolder: folder)
/// let labels = try model.predict(imageFiles: [url])   // a Volume in the input's geometry
/// try NIfTI.write(labels, to: output, dataType: .uint8)
/// ```
public final class TrainedModel {
    /// The trained model folder (`TRAINER__PLANS`), which holds the plans and the `fold_*` folders.
    public let trainerFolder: URL
    /// The plans the model was trained with (from ``plansFile``).
    public let plans: Plans
    /// The plans file read: `plans.json`, or `plans.pkl` for an nnU-Net v1 model folder.
    public let plansFile: URL
    /// One network and configuration per fold, in fold order.
    public let folds: [(name: String, configuration: TrainingConfiguration, network: GenericUNet)]
    /// Whether test-time mirroring is used (v1: on unless `--disable_tta`).
    public var usesMirroring = true
    /// Distance between sliding-window tiles as a fraction of the patch size (v1 `--step_size`: 0.5).
    public var stepSize = 0.5
    /// v1 `--mode`: how probabilities become labels at the original resolution (`fast`/`fastest` keep no
    /// probabilities).
    public var exportMode = SegmentationExporter.Mode.normal
    /// Threads for preprocessing and export.
    public var threads = ThreadSettings.defaultThreads
    /// Rows per slab when the networks' full-resolution stage is evaluated in slabs to save memory (`nnunet predict
    /// --low_memory`; `GenericUNet.forwardInSlabs(_:slabDepth:)`), or nil to run each patch whole (the default).
    public var slabDepth: Int?
    /// Called as each step of predicting a case starts (for progress and per-phase measurements); nil by default.
    public var phaseObserver: ((PredictionPhase) -> Void)?

    /// The steps of predicting one case, in order, as reported to ``phaseObserver``.
    public enum PredictionPhase: String, Sendable, CaseIterable {
        /// Reading, cropping, transposing, resampling and normalising the images.
        case preprocessing
        /// The network over the sliding-window tiles, folds and mirrorings; finished slabs of probabilities are
        /// exported (resampled, argmaxed, placed in the label volume) as they come.
        case slidingWindow
        /// Completing the label map in the input's geometry (all of the export in the `fast`/`fastest` modes and
        /// the whole-volume fallback).
        case export
    }

    /// Loads the plans and the checkpoint `checkpoint` of every requested fold (default: every `fold_*` folder).
    /// - Throws: ``TrainingError`` naming what is missing.
    public init(trainerFolder: URL, folds requested: [Fold]? = nil, checkpoint: String = "model_final_checkpoint")
        throws {
        self.trainerFolder = trainerFolder
        if V2TrainedModel.isModelFolder(trainerFolder) {
            throw TrainingError.unusableModel("'\(trainerFolder.path)' is an nnU-Net v2 model folder (dataset.json and a "
                                              + "plans.json with 'configurations'); load it with "
                                              + "V2TrainedModel(modelFolder:), or predict with 'nnunet "
                                              + "predict-from-model-folder -m \(trainerFolder.path)'")
        }
        do {
            (plans, plansFile) = try Plans.loadFromModelFolder(trainerFolder)
        } catch let error as CoreError {
            throw TrainingError.unusableModel(error.description)
        }
        let available = ((try? FileManager.default.contentsOfDirectory(atPath: trainerFolder.path)) ?? [])
            .filter { $0.hasPrefix("fold_") }.sorted()
        let names = requested?.map(\.folderName) ?? available
        guard !names.isEmpty else {
            throw TrainingError.unusableModel("no fold_* folder in '\(trainerFolder.path)'; train the model first")
        }
        var loaded: [(String, TrainingConfiguration, GenericUNet)] = []
        for name in names {
            let weights = trainerFolder.appendingPathComponent(name).appendingPathComponent(checkpoint + ".model")
            guard FileManager.default.fileExists(atPath: weights.path) else {
                throw TrainingError.unusableModel("'\(weights.path)' does not exist (fold \(name) not trained, or "
                                                + "another -chk is needed)")
            }
            if V1ModelFolder.isV1Checkpoint(weights) {
                let (configuration, network, _) = try V1ModelFolder.loadFold(weights: weights, trainerFolder: trainerFolder,
                                                                             folderPlans: plans)
                loaded.append((name, configuration, network))
                continue
            }
            let (metadata, tensors) = try NetworkTrainer.readCheckpoint(weights)
            guard let text = metadata.extras["configuration"] else {
                throw TrainingError.corruptCheckpoint(path: weights.path, reason: "it records no configuration")
            }
            let configuration: TrainingConfiguration
            do {
                configuration = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(text.utf8))
            } catch let error as DecodingError {
                throw TrainingError.corruptCheckpoint(path: weights.path, reason: "its recorded configuration's "
                                                      + error.fieldDescription)
            }
            let network = configuration.makeInferenceNetwork()
            for (parameterName, parameter) in network.namedParameters() {
                guard let tensor = tensors[parameterName], tensor.shape == parameter.shape else {
                    throw TrainingError.corruptCheckpoint(path: weights.path, reason: "parameter '\(parameterName)' is "
                                                          + "missing or has another shape")
                }
                parameter.assign(tensor.values)
            }
            loaded.append((name, configuration, network))
        }
        folds = loaded
    }

    /// Class probabilities `[K, z, y, x]` of a preprocessed case `[C, z, y, x]`, averaged over the folds.
    ///
    /// Costs K × the volume for the result;
    /// ``predictCase(imageFiles:identifier:keepingProbabilities:previousStage:)`` never holds it (see
    /// ``forEachProbabilitySlab(_:channels:shape:_:)``).
    public func predictProbabilities(_ data: [Float], channels: Int, shape: [Int]) -> [Float] {
        let classCount = folds.first?.configuration.classCount ?? 0
        var output = [Float](repeating: 0, count: classCount * shape.reduce(1, *))
        forEachProbabilitySlab(data, channels: channels, shape: shape) { $0.copy(into: &output, depth: shape[0]) }
        return output
    }

    /// Predicts a preprocessed case `[C, z, y, x]` with every fold and lends out the fold-averaged class
    /// probabilities in consecutive slabs along axis 0, as
    /// ``SlidingWindowPredictor/forEachProbabilitySlab(_:channels:shape:_:)`` does.
    ///
    /// Folds with one patch size (always, for folds of one plans file) share one sliding window that averages them
    /// per tile, so memory does not grow with the number of folds. Folds with different patch sizes are predicted
    /// one after the other into a whole probability volume that is handed out as one slab (K × the volume).
    public func forEachProbabilitySlab(_ data: [Float], channels: Int, shape: [Int],
                                       _ body: (ProbabilitySlab) throws -> Void) rethrows {
        guard let first = folds.first?.configuration else { return }
        func predictor(_ networks: [Module]) -> SlidingWindowPredictor {
            var predictor = SlidingWindowPredictor(networks: networks, patchSize: first.patchSize,
                                                   classCount: first.classCount)
            predictor.usesMirroring = usesMirroring
            predictor.stepSize = stepSize
            predictor.threads = threads
            predictor.slabDepth = slabDepth
            return predictor
        }
        if folds.allSatisfy({ $0.configuration.patchSize == first.patchSize }) {
            try predictor(folds.map(\.network)).forEachProbabilitySlab(data, channels: channels, shape: shape, body)
            return
        }
        var sum: [Float] = []
        for (_, configuration, network) in folds {
            var one = predictor([network])
            one.patchSize = configuration.patchSize
            one.mirrorAxes = Array(0..<configuration.patchSize.count)
            let probabilities = one.predictProbabilities(data, channels: channels, shape: shape)
            if sum.isEmpty { sum = probabilities } else { for i in sum.indices { sum[i] += probabilities[i] } }
        }
        let scale = 1 / Float(folds.count)
        for i in sum.indices { sum[i] *= scale }
        try ProbabilitySlab.lending(sum, rows: 0..<shape[0], classCount: first.classCount, body)
    }

    /// One predicted case: the label map in the input's geometry, the preprocessing properties (v1's `CASE.pkl`) and,
    /// when asked for, the class probabilities `[K, z, y, x]` at the cropped size (v1's `CASE.npz`).
    public struct CasePrediction {
        /// The label map in the geometry of the input images.
        public var labels: Volume
        /// What preprocessing recorded about the case (v1's `CASE.pkl`).
        public var properties: PreprocessedCaseProperties
        /// Class probabilities `[K, z, y, x]` at the cropped size; nil unless requested.
        public var probabilities: [Float]?
        /// `[K, z, y, x]` of ``probabilities``.
        public var probabilityShape: [Int]
    }

    /// Segments one case given its modality files (`CASE_0000.nii.gz`, ...): crop, transpose, resample, normalise as
    /// in training, predict, and export to the input's exact geometry.
    public func predict(imageFiles: [URL], identifier: String = "case") throws -> Volume {
        try predictCase(imageFiles: imageFiles, identifier: identifier, keepingProbabilities: false).labels
    }

    /// Whether the model is the cascade's second stage, whose input includes a 3d_lowres segmentation.
    public var needsPreviousStage: Bool {
        guard let configuration = folds.first?.configuration else { return false }
        return configuration.inputChannels > plans.numModalities
    }

    /// Like ``predict(imageFiles:identifier:)``, also returning the properties and (with `keepingProbabilities`)
    /// the resampled probabilities for `--save_npz`.
    ///
    /// Memory: the images are cropped and preprocessed one modality at a time (NNUNetPlanning's
    /// `Cropper.cropImages(_:keepingMask:)` and `Preprocessor.preprocessImages(_:targetSpacing:threads:)`), freeing each input as soon as it is used; the
    /// sliding window hands finished slabs of probabilities straight to a ``ProbabilitySlabExporter``, which writes
    /// the labels into the output volume. At the peak the process holds the preprocessed input, one patch depth of the
    /// aggregate, one slab and the label volume (plus the networks and their workspace), never a probability volume;
    /// with `keepingProbabilities` also K × the cropped volume.
    ///
    /// - Parameters:
    ///   - imageFiles: one file per modality (`CASE_0000.nii.gz`, ...), in modality order.
    ///   - identifier: the case, named in errors and in the properties.
    ///   - keepingProbabilities: also return the class probabilities at the cropped size (what `-z` saves).
    ///   - previousStage: the cascade (``needsPreviousStage``): the case's 3d_lowres segmentation, a NIfTI of the
    ///     input's shape (what `nnunet predict -m 3d_lowres` writes). It is cropped with the case's nonzero box,
    ///     transposed, resized (per-label linear) to the preprocessed shape and appended as one-hot channels of labels
    ///     1 ... K − 1. v1 skips the crop, which misaligns the two whenever cropping removed voxels (reference sheet
    ///     §14).
    public func predictCase(imageFiles: [URL], identifier: String = "case", keepingProbabilities: Bool,
                            previousStage: URL? = nil) throws -> CasePrediction {
        guard let configuration = folds.first?.configuration else {
            throw TrainingError.unusableModel("the model has no folds")
        }
        guard imageFiles.count == plans.numModalities else {
            throw TrainingError.unusableModel("case '\(identifier)' has \(imageFiles.count) modality file(s); the model "
                                            + "needs \(plans.numModalities) (CASE_0000.nii.gz ... CASE_"
                                            + String(format: "%04d", plans.numModalities - 1) + ".nii.gz)")
        }
        guard exportMode == .normal || !keepingProbabilities else {
            throw TrainingError.unusableModel("--mode \(exportMode.rawValue) keeps no probabilities; use the normal "
                                              + "mode with -z")
        }
        try Self.checkModalityGeometry(imageFiles, identifier: identifier)
        phaseObserver?(.preprocessing)
        let stageIndex = configuration.configuration.stageIndex(stageCount: plans.numStages)
        guard let stage = plans.stage(stageIndex) else {
            throw TrainingError.unusableModel("the plans have no stage \(stageIndex)")
        }
        var preprocessor = try Preprocessor(plans: plans, source: plansFile.path)
        preprocessor.isTwoD = configuration.configuration.isTwoD
        if needsPreviousStage, previousStage == nil {
            throw TrainingError.unusableModel("case '\(identifier)': this 3d_cascade_fullres model needs the case's "
                                              + "3d_lowres segmentation (-l FOLDER, or let predict run 3d_lowres first)")
        }
        var exporter: ProbabilitySlabExporter
        do {
            // `prepared` (the preprocessed input) lives until the end of this block, no longer.
            var prepared = preprocessor.preprocessImages(
                try Cropper.cropImages(.init(testCase: identifier, imageFiles: imageFiles),
                                       keepingMask: preprocessor.needsNonzeroMask),
                targetSpacing: stage.currentSpacing, threads: threads)
            var channels = plans.numModalities
            if let previousStage, needsPreviousStage {
                prepared.data += try previousStageChannels(previousStage, identifier: identifier,
                                                           properties: prepared.properties, shape: prepared.shape)
                channels = configuration.inputChannels
            }
            phaseObserver?(.slidingWindow)
            exporter = ProbabilitySlabExporter(
                classCount: configuration.classCount, shape: prepared.shape, properties: prepared.properties,
                transposeForward: plans.transposeForward, transposeBackward: plans.transposeBackward, mode: exportMode,
                keepingProbabilities: keepingProbabilities, threads: threads)
            forEachProbabilitySlab(prepared.data, channels: channels, shape: prepared.shape) {
                exporter.consume($0)
            }
        }
        phaseObserver?(.export)
        let properties = exporter.properties
        let (labels, kept) = exporter.finish()
        return CasePrediction(labels: labels, properties: properties, probabilities: kept,
                              probabilityShape: [configuration.classCount] + properties.cropping.sizeAfterCropping)
    }

    /// The one-hot channels (labels 1 ... K − 1) of a 3d_lowres segmentation in the preprocessed case's grid.
    func previousStageChannels(_ file: URL, identifier: String, properties: PreprocessedCaseProperties, shape: [Int])
        throws -> [Float] {
        let segmentation: Volume
        do { segmentation = try NIfTI.read(file) } catch {
            throw TrainingError.unusableModel("case '\(identifier)': cannot read its 3d_lowres segmentation "
                                              + "'\(file.path)' (\(error))")
        }
        guard segmentation.shape == properties.cropping.originalSizeOfRawData else {
            throw TrainingError.unusableModel("case '\(identifier)': the 3d_lowres segmentation '\(file.path)' has "
                                              + "shape \(segmentation.shape), the image "
                                              + "\(properties.cropping.originalSizeOfRawData); it must be the 3d_lowres "
                                              + "prediction of this very image")
        }
        let classCount = folds.first?.configuration.classCount ?? plans.numClasses + 1
        return Self.previousStageChannels(segmentation.data, properties: properties,
                                          transposeForward: plans.transposeForward, shape: shape,
                                          classCount: classCount, threads: threads)
    }

    /// A label map of the original image's size brought into the preprocessed grid as in training: cropped to the
    /// nonzero box, transposed, resized per label (order 1) to `shape`, one-hot for labels 1 ... K − 1.
    static func previousStageChannels(_ labels: [Float], properties: PreprocessedCaseProperties,
                                      transposeForward: [Int], shape: [Int], classCount: Int, threads: Int) -> [Float] {
        let cropping = properties.cropping
        let cropped = NonzeroMask.crop(labels, shape: cropping.originalSizeOfRawData, to: cropping.cropBBox)
        let croppedShape = cropping.sizeAfterCropping
        let transposed = Preprocessor.transpose(cropped, shape: croppedShape, by: transposeForward)
        let resized = Resampling.resizeSegmentation(transposed, shape: transposeForward.map { croppedShape[$0] },
                                                    to: shape, threads: threads)
        return NNUNetTrainerV2CascadeFullRes.oneHot(resized, labels: Array(1..<classCount))
    }

    /// Refuses a case whose modality files differ in shape or geometry (v1 would silently predict from misaligned
    /// channels), naming the file.
    static func checkModalityGeometry(_ files: [URL], identifier: String) throws {
        guard files.count > 1 else { return }
        for file in files where !FileManager.default.fileExists(atPath: file.path) {
            throw TrainingError.unusableModel("case '\(identifier)': the modality file '\(file.path)' does not exist")
        }
        let first = try NIfTI.readHeader(files[0])
        for file in files.dropFirst() {
            let header = try NIfTI.readHeader(file)
            if header.shape != first.shape {
                throw TrainingError.inconsistentModalities(identifier: identifier, path: file.path,
                                                           reason: "shape \(header.shape) vs \(first.shape)")
            }
            if !header.geometry.isClose(to: first.geometry) {
                throw TrainingError.inconsistentModalities(
                    identifier: identifier, path: file.path,
                    reason: "spacing \(header.geometry.itkSpacing), origin \(header.geometry.itkOrigin), direction "
                        + "\(header.geometry.itkDirection) vs \(first.geometry.itkSpacing), \(first.geometry.itkOrigin), "
                        + "\(first.geometry.itkDirection)")
            }
        }
    }
}
