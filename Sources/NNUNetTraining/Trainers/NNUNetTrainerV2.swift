import Foundation
import NNUNetCore

/// nnU-Net v1's default trainer (`nnUNetTrainerV2`): deep supervision with weights 1/2^i (lowest output 0,
/// normalised), SGD with Nesterov momentum 0.99, lr 0.01 poly 0.9, weight decay 3e-5, clipping at 12,
/// 1000 epochs × 250 iterations, and the momentum rescue at epoch 100.
open class NNUNetTrainerV2: NNUNetTrainer {
    override open class var trainerName: String { "nnUNetTrainerV2" }

    override open func deepSupervisionWeights() -> [Float] {
        DeepSupervisionLoss.weights(outputCount: configuration.poolKernels.count)
    }

    /// After the epoch bookkeeping: if the pseudo-Dice is exactly 0 at the rescue epoch, drop momentum and
    /// re-initialise the weights (v1 `on_epoch_end`). Overrides must call `super`.
    override open func onEpochEnd() throws -> Bool {
        let keepGoing = try super.onEpochEnd()
        if log.epoch == hyperparameters.momentumRescueEpoch, log.validationMetrics.last == 0, let network {
            logFile?.print("At epoch \(log.epoch) the pseudo Dice is 0: reducing momentum to "
                           + "\(hyperparameters.momentumRescueValue) and reinitialising the network")
            hyperparameters.momentum = hyperparameters.momentumRescueValue
            var fresh = generator.fork()
            let replacement = try makeNetwork(generator: &fresh)
            for ((_, old), (_, new)) in zip(network.namedParameters(), replacement.namedParameters()) {
                old.assign(new.data)
            }
            // v1 sets `param_groups[0]["momentum"]`, which only SGD reads: another optimizer (Adam) keeps its state.
            if optimizer is SGD { optimizer = makeOptimizer(parameters: network.parameters()) }
        }
        return keepGoing
    }
}

/// `nnUNetTrainerV2_5epochs`: 5 epochs, everything else as V2.
open class NNUNetTrainerV2_5epochs: NNUNetTrainerV2 {
    override open class var trainerName: String { "nnUNetTrainerV2_5epochs" }
    override open class var defaultHyperparameters: TrainingHyperparameters {
        var h = TrainingHyperparameters()
        h.maxEpochs = 5
        return h
    }
}

/// `nnUNetTrainerV2_Loss_Dice`: soft Dice only (no cross-entropy).
open class NNUNetTrainerV2_Loss_Dice: NNUNetTrainerV2 {
    override open class var trainerName: String { "nnUNetTrainerV2_Loss_Dice" }
    override open func makeLoss() -> any SegmentationLoss { SoftDiceLoss(batchDice: configuration.usesBatchDice) }
}

/// `nnUNetTrainerV2_Loss_CE`: cross-entropy only.
open class NNUNetTrainerV2_Loss_CE: NNUNetTrainerV2 {
    override open class var trainerName: String { "nnUNetTrainerV2_Loss_CE" }
    override open func makeLoss() -> any SegmentationLoss { CrossEntropyLoss() }
}

/// `nnUNetTrainerV2_noDeepSupervision`: only the full-resolution output is trained.
open class NNUNetTrainerV2_noDeepSupervision: NNUNetTrainerV2 {
    override open class var trainerName: String { "nnUNetTrainerV2_noDeepSupervision" }
    override open func deepSupervisionWeights() -> [Float] { [1] }
}
