import Foundation
import NNUNetCore

/// The second stage of nnU-Net's cascade (`nnUNetTrainerV2CascadeFullRes`, reference sheet §14): a full-resolution
/// U-Net whose input is the modalities plus the one-hot 3d_lowres segmentation (labels 1 ... K − 1), so
/// C + (K − 1) channels.
///
/// Training reads the 3d_lowres predictions of every case from `pred_next_stage/` of the 3d_lowres model
/// ``previousStageTrainerName``; they travel as segmentation channel 1 through the spatial and mirror transforms,
/// are moved into the data as one-hot channels and augmented there (random dilation, erosion, opening, closing;
/// random removal of small components). Training is refused until all five 3d_lowres folds have written their
/// predictions. Everything else is ``NNUNetTrainerV2``.
open class NNUNetTrainerV2CascadeFullRes: NNUNetTrainerV2 {
    override open class var trainerName: String { "nnUNetTrainerV2CascadeFullRes" }

    /// The trainer of the 3d_lowres model whose predictions this stage refines (v1 `previous_trainer`).
    open class var previousStageTrainerName: String { "nnUNetTrainerV2" }

    /// Where the 3d_lowres predictions are read from. Defaults to the 3d_lowres model of the same task and plans
    /// under the same `RESULTS_FOLDER/nnUNet` as this trainer's output folder; set it to use another folder.
    public lazy var previousStage = PreviousStageSegmentations(
        trainedModels: outputFolder.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent(),
        taskName: configuration.taskName, trainer: Self.previousStageTrainerName,
        plansIdentifier: configuration.plansIdentifier)

    /// The labels whose one-hot channels join the input: 1 ... K − 1.
    public var previousStageLabels: [Int] { Array(1..<configuration.classCount) }

    /// V2's settings, plus segmentation channels 0 and 1 and the cascade's own augmentation of the one-hot channels.
    override open func augmentationParameters() -> AugmentationParameters {
        var parameters = super.augmentationParameters()
        parameters.selectedSegmentationChannels = [0, 1]
        parameters.previousStageLabels = previousStageLabels
        return parameters
    }

    /// V2's loaders over cases that also carry their 3d_lowres segmentation; refused unless every training and
    /// validation case has one.
    override open func makeDataLoaders() throws -> (training: BatchSource, validation: BatchSource) {
        if let batchSourceFactory { return try batchSourceFactory(self) }
        try previousStage.requireComplete(trainingCases + validationCases, task: configuration.taskName)
        return try makePreprocessedDataLoaders(trainingCases: trainingCases, validationCases: validationCases,
                                               workers: loaderWorkers, previousStage: previousStage)
    }

    /// The modalities followed by the one-hot 3d_lowres segmentation of the case.
    override open func validationInput(identifier: String, data: [Float], channels: Int, shape: [Int]) throws
        -> (data: [Float], channels: Int) {
        try previousStage.requireComplete([identifier], task: configuration.taskName)
        let labels = try previousStage.labels(for: identifier, shape: shape)
        return (data + Self.oneHot(labels, labels: previousStageLabels), channels + previousStageLabels.count)
    }

    /// One channel per label: 1 where `values` equals the label, else 0 (v1 `to_one_hot`).
    public static func oneHot(_ values: [Float], labels: [Int]) -> [Float] {
        var out = [Float](repeating: 0, count: labels.count * values.count)
        for (l, label) in labels.enumerated() {
            let value = Float(label), offset = l * values.count
            for i in values.indices where values[i] == value { out[offset + i] = 1 }
        }
        return out
    }
}
