import Foundation

/// nnU-Net's polynomial learning-rate schedule: `lr = initial · (1 − epoch / maxEpochs)^exponent`.
///
/// Port of v1 `training/learning_rate/poly_lr.py` `poly_lr` (exponent 0.9); the trainer sets it at the start of
/// each epoch (`maybe_update_lr`, epoch counted from 0).
public struct PolyLearningRate: Sendable, Equatable {
    /// Learning rate of epoch 0 (v1: 1e-2).
    public var initial: Double
    /// Number of epochs of the run (v1: 1000); the rate reaches 0 at this epoch.
    public var maxEpochs: Int
    /// Exponent of the polynomial (v1: 0.9).
    public var exponent: Double

    /// Creates the schedule; `maxEpochs` must be positive.
    public init(initial: Double = 1e-2, maxEpochs: Int = 1000, exponent: Double = 0.9) {
        precondition(maxEpochs > 0, "PolyLearningRate: maxEpochs \(maxEpochs) must be positive")
        self.initial = initial
        self.maxEpochs = maxEpochs
        self.exponent = exponent
    }

    /// The learning rate of `epoch`.
    public func callAsFunction(epoch: Int) -> Double {
        initial * pow(1 - Double(epoch) / Double(maxEpochs), exponent)
    }
}
