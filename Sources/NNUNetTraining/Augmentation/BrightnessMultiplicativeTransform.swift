import Foundation
import NNUNetCore

/// Multiplies each channel by a random factor.
///
/// Port of batchgenerators 0.25 `BrightnessMultiplicativeTransform` (per channel): with probability `probability`
/// per sample, channel c is multiplied by its own factor ~ U(multiplierRange).
public struct BrightnessMultiplicativeTransform: Transform {
    /// Range of the factor (`multiplier_range`: 0.75...1.25).
    public var multiplierRange: ClosedRange<Double>
    /// Probability per sample (0.15).
    public var probability: Double

    /// Creates the transform with v1's settings by default.
    public init(multiplierRange: ClosedRange<Double> = 0.75...1.25, probability: Double = 0.15) {
        self.multiplierRange = multiplierRange
        self.probability = probability
    }

    /// Multiplies each channel of each selected sample by its own random factor.
    public func apply(_ batch: inout Batch, random: inout SeededGenerator) {
        let n = batch.voxelsPerChannel
        for b in 0..<batch.batchSize where random.happens(withProbability: probability) {
            for c in 0..<batch.dataChannels {
                let factor = Float(random.nextUniform(in: multiplierRange))
                let start = batch.dataOffset(sample: b, channel: c)
                for i in start..<(start + n) { batch.data[i] *= factor }
            }
        }
    }
}
