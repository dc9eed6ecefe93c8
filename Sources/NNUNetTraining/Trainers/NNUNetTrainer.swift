import Foundation
import NNUNetCore
import NNUNetEvaluation
import NNUNetPlanning

/// nnU-Net's segmentation trainer on top of the generic loop: the Generic U-Net built from the plans, Dice +
/// cross-entropy, and the argmax pseudo-Dice of validation (v1 `nnUNetTrainer`). ``NNUNetTrainerV2`` adds deep
/// supervision and v1's V2 defaults; users subclass either and override one hook:
///
/// ```swift
/// final class DiceOnlyTrainer: NNUNetTrainerV2 {
///     override func makeLoss() -> any SegmentationLoss { SoftDiceLoss(batchDice: configuration.usesBatchDice) }
/// }
/// ```
open class NNUNetTrainer: NetworkTrainer {
    /// The configuration being trained.
    public let configuration: TrainingConfiguration
    /// Provides the batch sources when set (tests plug in synthetic ones); not public: a trainer variant overrides
    /// ``makeDataLoaders()`` instead.
    package var batchSourceFactory: ((NNUNetTrainer) throws -> (training: BatchSource, validation: BatchSource))?

    private var cachedLoss: DeepSupervisionLoss?

    /// Creates a trainer for `configuration`, writing into `outputFolder` (the fold folder).
    ///
    /// - Parameters:
    ///   - configuration: The network, data and stage to train (from the plans).
    ///   - outputFolder: The fold folder to write.
    ///   - hyperparameters: Overrides of the class's ``NetworkTrainer/defaultHyperparameters``; nil keeps them.
    ///   - seed: Seed of all randomness of the run (default 12345).
    public required init(configuration: TrainingConfiguration, outputFolder: URL,
                         hyperparameters: TrainingHyperparameters? = nil, seed: UInt64 = 12345) {
        self.configuration = configuration
        super.init(outputFolder: outputFolder, hyperparameters: hyperparameters, seed: seed)
    }

    /// The network as a `GenericUNet`, if it is one (the default ``makeNetwork(generator:)``).
    public var unet: GenericUNet? { network as? GenericUNet }

    // MARK: Hooks of this level

    /// The loss of one output (v1: Dice + CE; batch Dice per §6.2). The trainer wraps it for deep supervision.
    open func makeLoss() -> any SegmentationLoss {
        DiceCrossEntropyLoss(batchDice: configuration.usesBatchDice)
    }

    /// Loss weights of the deep-supervision outputs, highest resolution first (here: the full-resolution output only).
    open func deepSupervisionWeights() -> [Float] { [1] }

    /// Augmentation ranges and probabilities (v1 `setup_DA_params`).
    open func augmentationParameters() -> AugmentationParameters { defaultAugmentationParameters() }

    /// The training transforms, in order (v1 `get_moreDA_augmentation`); override to drop, replace or add transforms.
    open func trainingTransforms(_ parameters: AugmentationParameters, deepSupervisionScales: [[Double]])
        -> [any Transform] {
        AugmentationPipeline.training(parameters, deepSupervisionScales: deepSupervisionScales)
    }

    /// The network input of a validation case predicted after training: its preprocessed modalities `[C, z, y, x]`
    /// (what this default returns). The cascade appends the one-hot 3d_lowres segmentation.
    open func validationInput(identifier: String, data: [Float], channels: Int, shape: [Int]) throws
        -> (data: [Float], channels: Int) {
        (data, channels)
    }

    /// The cross-validation folds (v1 `do_split`): by default `splits_final.pkl`/`.json` of the preprocessed task
    /// folder, created there as v1 does (5 folds, seed 12345) when missing. ``TrainingRunner`` calls this once and
    /// takes this trainer's fold from the result (a fold beyond them: v1's random 80:20 split, with a warning) into
    /// ``trainingCases`` and ``validationCases``. Override to split differently.
    ///
    /// - Parameters:
    ///   - caseIdentifiers: The cases of the preprocessed stage folder, sorted.
    ///   - preprocessedTaskFolder: `nnUNet_preprocessed/TaskXXX_NAME`.
    /// - Returns: The folds, fold 0 first.
    /// - Throws: When an existing splits file cannot be read or a new one cannot be written.
    open func makeSplits(caseIdentifiers: [String], preprocessedTaskFolder: URL) throws -> [CrossValidationFold] {
        try CrossValidationSplits.loadOrCreate(in: preprocessedTaskFolder, caseIdentifiers: caseIdentifiers)
    }

    /// Training and validation cases of this fold, set by the runner from the splits.
    public var trainingCases: [String] = []
    /// Validation case identifiers of this fold.
    public var validationCases: [String] = []
    /// Background workers of the training loader.
    public var loaderWorkers = 1
    /// The plans file the configuration came from (copied to the trainer folder).
    public var plansFile: URL?
    /// Messages for the log (e.g. a fold beyond the splits file).
    public var warnings: [String] = []

    override open func makeNetwork(generator: inout SeededGenerator) throws -> any SegmentationNetwork {
        GenericUNet(inputChannels: configuration.inputChannels, baseFeatures: configuration.baseFeatures,
                    classCount: configuration.classCount, poolKernels: configuration.poolKernels,
                    convKernels: configuration.convKernels, convsPerStage: configuration.convsPerStage,
                    generator: &generator)
    }

    override open func makeDataLoaders() throws -> (training: BatchSource, validation: BatchSource) {
        if let batchSourceFactory { return try batchSourceFactory(self) }
        return try makePreprocessedDataLoaders(trainingCases: trainingCases, validationCases: validationCases,
                                               workers: loaderWorkers)
    }

    /// v1's `validate()` after training (reference sheet §10 "Trainer validation", §11, §12): predicts the fold's
    /// validation cases from their preprocessed arrays with sliding windows and mirroring into
    /// `fold_k/validation_raw/CASE.nii.gz` (original geometry), copies their ground truth to the trainer folder's
    /// `gt_niftis/`, writes `validation_raw/summary.json` (labels 0..K-1, name "<Trainer> val tiled True", task =
    /// the task folder) and, unless disabled, determines the fold's postprocessing into `postprocessing.json` and
    /// `validation_raw_postprocessed/`. With `savesSoftmax` (v1 `--npz`) each case also gets `CASE.npz` (float16
    /// probabilities at the cropped size) and `CASE.pkl` (properties), as `nnunet predict -z` writes them.
    ///
    /// - Parameters:
    ///   - plans: the plans the network was trained with (transposition for the export).
    ///   - groundTruthSource: the preprocessed task's `gt_segmentations/` folder.
    ///   - folderName: the output folder inside the fold folder (v1 `--val_folder`).
    ///   - mirroring: test-time mirroring (v1 `do_mirroring`).
    ///   - determinesPostprocessing: also determine the fold's postprocessing (off: v1
    ///     `--disable_postprocessing_on_folds`).
    ///   - overwrites: predict cases whose output exists again (off: v1 `--val_disable_overwrite`).
    ///   - savesSoftmax: also write `CASE.npz` + `CASE.pkl` (v1 `--npz`).
    ///
    /// In a data-parallel run the cases are split over the ranks (case i on rank i mod N); when all are predicted,
    /// rank 0 alone writes `summary.json` and determines the postprocessing.
    /// - Returns: the summary of the raw predictions (nil on ranks other than 0 of a data-parallel run).
    ///
    /// Override to validate differently (call `super` to keep v1's validation).
    @discardableResult
    open func runFinalValidation(plans: Plans, groundTruthSource: URL, folderName: String = "validation_raw",
                                 mirroring: Bool = true, determinesPostprocessing: Bool = true,
                                 overwrites: Bool = true, savesSoftmax: Bool = false) throws -> EvaluationSummary? {
        try validateFold(plans: plans, groundTruthSource: groundTruthSource, folderName: folderName,
                         mirroring: mirroring, determinesPostprocessing: determinesPostprocessing,
                         overwrites: overwrites, savesSoftmax: savesSoftmax)
    }

    override open func checkpointExtras() -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = (try? encoder.encode(configuration)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return ["configuration": text]
    }

    // MARK: Steps

    var loss: DeepSupervisionLoss {
        if let cachedLoss { return cachedLoss }
        let made = DeepSupervisionLoss(makeLoss(), weights: deepSupervisionWeights())
        cachedLoss = made
        return made
    }

    /// Targets per used output: the batch's labels downsampled to each deep-supervision scale.
    func targets(for batch: TrainingBatch, count: Int) -> [Tensor] {
        if let made = batch.deepSupervisionTargets, made.count >= count { return Array(made.prefix(count)) }
        return Array(DeepSupervisionTargets.make(batch.target, poolKernels: configuration.poolKernels).prefix(count))
    }

    /// This rank's share of the plans' global batch (the whole batch in a single-process run; see
    /// ``NetworkTrainer/communicator``).
    /// - Throws: `CoreError.distributed` when the batch cannot be split over the ranks.
    public func batchShare() throws -> BatchShare {
        try BatchShare(globalBatchSize: configuration.batchSize, rank: communicator?.rank ?? 0, size: worldSize)
    }

    /// The loss of `batch` as this rank's part of the global batch's loss: the loss of its samples (batch sums taken
    /// over all ranks) weighted by its share of the batch, so that the parts add up over the ranks to the loss of
    /// the global batch. In a single-process run, the loss itself.
    func rankLoss(outputs: [Tensor], batch: TrainingBatch) -> Tensor {
        let loss = self.loss
        let used = loss.usedOutputCount
        guard let communicator, communicator.size > 1 else {
            return loss(outputs: outputs, targets: targets(for: batch, count: used))
        }
        let fraction = Float(batch.data.shape[0]) / Float(configuration.batchSize)
        return DataParallel.$communicator.withValue(communicator) {
            fraction * loss(outputs: outputs, targets: targets(for: batch, count: used))
        }
    }

    /// The global batch's loss from the ranks' parts (``rankLoss(outputs:batch:)``).
    func globalLoss(_ part: Tensor) -> Double {
        guard let communicator, communicator.size > 1 else { return Double(part.item) }
        return communicator.allreduceSum([Double(part.item)])[0]
    }

    override open func trainStep(_ batch: TrainingBatch) -> StepResult {
        guard let network, let optimizer else { preconditionFailure("trainStep before initialize()") }
        network.zeroGradients()
        let outputs = network.forwardDeepSupervision(batch.data, outputs: loss.usedOutputCount)
        let value = rankLoss(outputs: outputs, batch: batch)
        value.backward()
        reduceGradients()
        _ = clipGradientNorm(network.parameters().filter { $0.grad != nil }, maxNorm: Float(hyperparameters.gradientClipNorm))
        optimizer.step()
        return StepResult(loss: globalLoss(value))
    }

    override open func validationStep(_ batch: TrainingBatch) -> StepResult {
        guard let network else { preconditionFailure("validationStep before initialize()") }
        let outputs = network.forwardDeepSupervision(batch.data, outputs: loss.usedOutputCount)
        var result = StepResult(loss: globalLoss(rankLoss(outputs: outputs, batch: batch)))
        let counts = onlineEvaluation(outputs: outputs, batch: batch)
        result.truePositives = counts.truePositives
        result.falsePositives = counts.falsePositives
        result.falseNegatives = counts.falseNegatives
        return result
    }

    /// The online evaluation of one validation batch (v1 `run_online_evaluation`): per foreground class, the true
    /// positive, false positive and false negative voxels of the argmax of the full-resolution output against the
    /// target. The loop sums them over the epoch (and the ranks) for
    /// ``validationMetric(truePositives:falsePositives:falseNegatives:)``. Override to count differently.
    open func onlineEvaluation(outputs: [Tensor], batch: TrainingBatch)
        -> (truePositives: [Double], falsePositives: [Double], falseNegatives: [Double]) {
        let prediction = outputs[0].argmax(axis: 1).data
        let target = batch.target.data
        let classes = configuration.classCount
        var tp = [Double](repeating: 0, count: classes - 1), fp = tp, fn = tp
        for i in 0..<min(prediction.count, target.count) {
            let p = Int(prediction[i]), t = Int(target[i])
            if p == t { if p > 0 { tp[p - 1] += 1 } } else {
                if p > 0 { fp[p - 1] += 1 }
                if t > 0 { fn[t - 1] += 1 }
            }
        }
        return (tp, fp, fn)
    }

    /// v1's global pseudo-Dice: per foreground class 2·tp / (2·tp + fp + fn) over the epoch's validation batches, and
    /// their mean over the classes that occurred (the metric whose moving average selects `model_best`).
    override open func validationMetric(truePositives tp: [Double], falsePositives fp: [Double],
                                        falseNegatives fn: [Double]) -> (value: Double, logLines: [String]) {
        let perClass = tp.indices.map { c in
            let denominator = 2 * tp[c] + fp[c] + fn[c]
            return denominator > 0 ? 2 * tp[c] / denominator : Double.nan
        }
        let finite = perClass.filter(\.isFinite)
        return (finite.isEmpty ? .nan : finite.reduce(0, +) / Double(finite.count),
                ["Average global foreground Dice: [" + perClass.map { String(format: "%.4f", $0) }.joined(separator: ", ")
                    + "]",
                 "(interpret this as an estimate for the Dice of the different classes. This is not exact.)"])
    }
}
