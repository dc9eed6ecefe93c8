import Foundation
import NNUNetCore

/// Additive Gaussian noise.
///
/// Port of batchgenerators 0.25 `GaussianNoiseTransform` with v1's settings: with probability `probability` per
/// sample, one σ ~ U(sigmaRange) is drawn and every channel gets N(0, σ²) noise (v1 calls the parameter
/// "noise_variance" but uses it as the standard deviation). Shape unchanged.
public struct GaussianNoiseTransform: Transform {
    /// Range of the noise standard deviation σ (`noise_variance`: 0...0.1).
    public var sigmaRange: ClosedRange<Double>
    /// Probability per sample (0.1).
    public var probability: Double

    /// Creates the transform with v1's settings by default.
    public init(sigmaRange: ClosedRange<Double> = 0...0.1, probability: Double = 0.1) {
        self.sigmaRange = sigmaRange
        self.probability = probability
    }

    /// Adds N(0, σ²) noise to every channel of each selected sample, one σ per sample.
    public func apply(_ batch: inout Batch, random: inout SeededGenerator) {
        let n = batch.voxelsPerChannel
        for b in 0..<batch.batchSize where random.happens(withProbability: probability) {
            let sigma = random.nextUniform(in: sigmaRange)
            let start = batch.dataOffset(sample: b, channel: 0)
            for i in start..<(start + batch.dataChannels * n) {
                batch.data[i] += Float(sigma * random.nextGaussian())
            }
        }
    }
}
