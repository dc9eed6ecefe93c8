import Foundation
import NNUNetCore

/// The preprocessed-data batch source: v1's data loader and augmentation on background workers.
final class LoaderBatchSource: BatchSource {
    let loader: BatchLoader
    init(_ loader: BatchLoader) { self.loader = loader }

    func nextBatch() throws -> TrainingBatch {
        let batch = try loader.next()
        let spatial = batch.spatialShape
        let full = batch.targets.first.map { Tensor(shape: [batch.batchSize, 1] + $0.spatialShape, data: $0.values) }
            ?? Tensor(shape: [batch.batchSize, 1] + spatial,
                      data: Array(batch.segmentation.prefix(batch.batchSize * batch.voxelsPerChannel)))
        var result = TrainingBatch(data: Tensor(shape: [batch.batchSize, batch.dataChannels] + spatial, data: batch.data),
                                   target: full, caseIdentifiers: batch.caseIdentifiers)
        if batch.targets.count > 1 {
            result.deepSupervisionTargets = batch.targets.map {
                Tensor(shape: [batch.batchSize, 1] + $0.spatialShape, data: $0.values)
            }
        }
        return result
    }

    func shutdown() { loader.stop() }
}

extension NNUNetTrainer {
    /// Augmentation settings of this trainer (v1 `setup_DA_params`). Override to change ranges or probabilities.
    public func defaultAugmentationParameters() -> AugmentationParameters {
        AugmentationParameters.nnUNetTrainerV2(patchSize: configuration.patchSize,
                                               doesDummy2DAugmentation: configuration.doesDummy2DAugmentation,
                                               usesMaskForNormalization: configuration.usesMaskForNormalization)
    }

    /// Builds v1's loaders over the preprocessed stage folder for the given training and validation cases.
    /// With `previousStage` (the cascade) the samples also carry the 3d_lowres segmentation as segmentation channel 1.
    func makePreprocessedDataLoaders(trainingCases: [String], validationCases: [String], workers: Int,
                                     previousStage: PreviousStageSegmentations? = nil)
        throws -> (training: BatchSource, validation: BatchSource) {
        guard let folder = configuration.preprocessedFolder else {
            throw TrainingError.missingData("no preprocessed folder is configured")
        }
        let url = URL(fileURLWithPath: folder, isDirectory: true)
        var trainingSet = try PreprocessedDataset(folder: url, caseIdentifiers: trainingCases)
        var validationSet = try PreprocessedDataset(folder: url, caseIdentifiers: validationCases)
        trainingSet.previousStage = previousStage
        validationSet.previousStage = previousStage
        let parameters = augmentationParameters()
        let scales = deepSupervisionWeights().count > 1
            ? DeepSupervisionTargets.scales(poolKernels: configuration.poolKernels) : [[Double]]()
        let sampler = PatchSampler(patchSize: parameters.basicPatchSize, finalPatchSize: configuration.patchSize,
                                   batchSize: configuration.batchSize,
                                   oversampleForegroundPercent: hyperparameters.oversampleForegroundPercent)
        let validationSampler = PatchSampler(patchSize: configuration.patchSize, finalPatchSize: configuration.patchSize,
                                             batchSize: configuration.batchSize,
                                             oversampleForegroundPercent: hyperparameters.oversampleForegroundPercent)
        // Batches are numbered over the whole run, so a run resumed after epoch e draws the batches that the
        // uninterrupted run drew from epoch e on (with the same iterations per epoch). Each sample slot of a batch has
        // its own random stream, so a data-parallel rank draws exactly its slots of the one-process batch.
        let slots = try batchShare().slots
        var random = SeededGenerator(seed: seed &+ 101)
        let training = BatchLoader.make(dataset: trainingSet, sampler: sampler,
                                        transforms: trainingTransforms(parameters, deepSupervisionScales: scales),
                                        slots: slots, workers: workers, seed: random.next(),
                                        firstIndex: log.epoch * hyperparameters.iterationsPerEpoch)
        let validation = BatchLoader.make(dataset: validationSet, sampler: validationSampler,
                                          transforms: AugmentationPipeline.validation(parameters,
                                                                                      deepSupervisionScales: scales),
                                          slots: slots, workers: 1, seed: random.next(),
                                          firstIndex: log.epoch * hyperparameters.validationIterationsPerEpoch)
        return (LoaderBatchSource(training), LoaderBatchSource(validation))
    }
}
