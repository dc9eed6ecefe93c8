import Foundation
import NNUNetCore

/// Scales each channel's deviation from its mean, keeping the value range.
///
/// Port of batchgenerators 0.25 `ContrastAugmentationTransform` (per channel, `preserve_range=True`): with
/// probability `probability` per sample, per channel a factor f (50 % U(lower, 1) else U(1, upper)) and
/// x ← (x − mean)·f + mean, then clipped to the channel's prior [min, max].
public struct ContrastAugmentationTransform: Transform {
    /// Range of the contrast factor (`contrast_range`: 0.75...1.25).
    public var contrastRange: ClosedRange<Double>
    /// Whether the result is clipped to the channel's [min, max] of before the transform (`preserve_range`: true).
    public var preservesRange: Bool
    /// Probability per sample (0.15).
    public var probability: Double

    /// Creates the transform with v1's settings by default.
    public init(contrastRange: ClosedRange<Double> = 0.75...1.25, preservesRange: Bool = true,
                probability: Double = 0.15) {
        self.contrastRange = contrastRange
        self.preservesRange = preservesRange
        self.probability = probability
    }

    /// Scales each channel of each selected sample about its mean by its own random factor.
    public func apply(_ batch: inout Batch, random: inout SeededGenerator) {
        let n = batch.voxelsPerChannel
        for b in 0..<batch.batchSize where random.happens(withProbability: probability) {
            for c in 0..<batch.dataChannels {
                let factor = random.splitFactor(contrastRange)
                let range = batch.dataOffset(sample: b, channel: c)..<(batch.dataOffset(sample: b, channel: c) + n)
                let stats = ChannelStatistics(batch.data[range])
                let mean = stats.mean
                let (low, high) = (stats.minimum, stats.maximum)
                for i in range {
                    var v = Float((Double(batch.data[i]) - mean) * factor + mean)
                    if preservesRange { v = min(max(v, low), high) }
                    batch.data[i] = v
                }
            }
        }
    }
}

/// Mean, standard deviation (population, as numpy), minimum and maximum of one channel, accumulated in Double.
struct ChannelStatistics {
    var mean: Double
    var standardDeviation: Double
    var minimum: Float
    var maximum: Float

    init<C: Collection>(_ values: C) where C.Element == Float {
        var sum = 0.0, low = Float.infinity, high = -Float.infinity
        for v in values {
            sum += Double(v)
            low = min(low, v)
            high = max(high, v)
        }
        let count = Double(max(values.count, 1))
        let mean = sum / count
        var squares = 0.0
        for v in values { squares += (Double(v) - mean) * (Double(v) - mean) }
        self.mean = mean
        standardDeviation = (squares / count).squareRoot()
        minimum = low
        maximum = high
    }
}
