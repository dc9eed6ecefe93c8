import Foundation

/// nnU-Net's polynomial learning-rate schedule: `lr = initial · (1 − epoch / maxEpochs)^exponent`.
///
/// Port of v1 `training/learning_rate/poly_lr.py` `poly_lr` (exponent 0.9); the trainer sets it at the start of
/// each epoch (`maybe_update_lr`, epoch counted from 0).
public struct PolyLearningRate: Sendable, Equatable {
    public var initial: Double
    public var maxEpochs: Int
    public var exponent: Double

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
