import Foundation
import NNUNetCore

/// Gamma correction of each channel on its own [min, max] range, optionally on the inverted image.
///
/// Port of batchgenerators 0.25 `GammaTransform` with v1's settings (per channel, `retain_stats=True`): with
/// probability `probability` per sample (inverted: the whole sample is negated before and after), per channel
/// γ (50 % U(lower, 1) else U(1, upper)), x ← ((x − min)/(range + 1e−7))^γ · (range + 1e−7) + min, then shifted and
/// scaled back to the channel's original mean and standard deviation (std + 1e−8).
public struct GammaTransform: Transform {
    /// Range of γ (`gamma_range`: 0.7...1.5); γ is drawn below or above 1 with equal probability.
    public var gammaRange: ClosedRange<Double>
    /// Whether the channel is negated before and after the correction (v1 runs one inverted and one plain instance).
    public var invertsImage: Bool
    /// Whether the channel's mean and standard deviation are restored afterwards (`retain_stats`: true).
    public var retainsStatistics: Bool
    /// Probability per sample (v1: 0.1 inverted, 0.3 plain).
    public var probability: Double

    /// Creates the transform; `invertsImage` and `probability` tell the two v1 instances apart.
    public init(gammaRange: ClosedRange<Double> = 0.7...1.5, invertsImage: Bool, retainsStatistics: Bool = true,
                probability: Double) {
        self.gammaRange = gammaRange
        self.invertsImage = invertsImage
        self.retainsStatistics = retainsStatistics
        self.probability = probability
    }

    /// Applies the correction to each channel of each selected sample, with its own γ per channel.
    public func apply(_ batch: inout Batch, random: inout SeededGenerator) {
        let n = batch.voxelsPerChannel
        let epsilon = 1e-7
        for b in 0..<batch.batchSize where random.happens(withProbability: probability) {
            for c in 0..<batch.dataChannels {
                let start = batch.dataOffset(sample: b, channel: c)
                let range = start..<(start + n)
                if invertsImage { for i in range { batch.data[i] = -batch.data[i] } }
                let before = ChannelStatistics(batch.data[range])
                let gamma = random.splitFactor(gammaRange)
                let low = Double(before.minimum), span = Double(before.maximum) - low
                for i in range {
                    let scaled = (Double(batch.data[i]) - low) / (span + epsilon)
                    batch.data[i] = Float(pow(scaled, gamma) * (span + epsilon) + low)
                }
                if retainsStatistics {
                    let after = ChannelStatistics(batch.data[range])
                    let scale = before.standardDeviation / (after.standardDeviation + 1e-8)
                    for i in range {
                        batch.data[i] = Float((Double(batch.data[i]) - after.mean) * scale + before.mean)
                    }
                }
                if invertsImage { for i in range { batch.data[i] = -batch.data[i] } }
            }
        }
    }
}
