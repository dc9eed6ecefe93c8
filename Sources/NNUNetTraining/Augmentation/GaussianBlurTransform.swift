import Foundation
import NNUNetCore

/// Isotropic Gaussian blur of some channels.
///
/// Port of batchgenerators 0.25 `GaussianBlurTransform` with v1's settings (`different_sigma_per_channel=True`):
/// with probability `probability` per sample, each channel is blurred with probability `channelProbability`, with
/// its own σ ~ U(sigmaRange), using scipy's `gaussian_filter` (reflect border, truncate 4) over the spatial axes.
public struct GaussianBlurTransform: Transform {
    /// Range of σ in voxels (`blur_sigma`: 0.5...1).
    public var sigmaRange: ClosedRange<Double>
    /// Probability per sample (0.2).
    public var probability: Double
    /// Probability per channel of a selected sample (0.5).
    public var channelProbability: Double
    /// Threads for the filter (the loader's workers already run in parallel: default 1).
    public var threads: Int

    /// Creates the transform with v1's settings by default.
    public init(sigmaRange: ClosedRange<Double> = 0.5...1, probability: Double = 0.2, channelProbability: Double = 0.5,
                threads: Int = 1) {
        self.sigmaRange = sigmaRange
        self.probability = probability
        self.channelProbability = channelProbability
        self.threads = threads
    }

    /// Blurs the selected channels of the selected samples, each with its own σ.
    public func apply(_ batch: inout Batch, random: inout SeededGenerator) {
        let n = batch.voxelsPerChannel
        for b in 0..<batch.batchSize where random.happens(withProbability: probability) {
            for c in 0..<batch.dataChannels where random.nextUniform() <= channelProbability {
                let sigma = random.nextUniform(in: sigmaRange)
                let start = batch.dataOffset(sample: b, channel: c)
                var channel = Array(batch.data[start..<(start + n)])
                GaussianFilter.apply(&channel, shape: batch.spatialShape, sigma: sigma, threads: threads)
                batch.data.replaceSubrange(start..<(start + n), with: channel)
            }
        }
    }
}
