import Foundation
import NNUNetCore

/// Randomly dilates, erodes, opens or closes one-hot data channels (batchgenerators'
/// `ApplyRandomBinaryOperatorTransform`, as v1's cascade uses it on the previous stage's one-hot channels, §14).
///
/// Per sample with probability ``probability``: the channels in random order; each (with ``channelProbability``) gets
/// one of the four `BinaryMorphology.Operation`s of NNUNetCore, drawn uniformly, with a ball of radius U(``radiusRange``); voxels
/// the operation added to a channel are cleared in the other listed channels, so the encoding stays one-hot (removed
/// voxels become background).
public struct RandomBinaryOperatorTransform: Transform {
    /// Data channels to work on; negative indices count from the end, as in numpy (the cascade: −(K − 1) ..< 0).
    public var channels: [Int]
    /// Probability per sample (v1 `cascade_random_binary_transform_p`: 0.4).
    public var probability: Double
    /// Probability per channel (v1 `cascade_random_binary_transform_p_per_label`: 1).
    public var channelProbability: Double
    /// Ball radius range in voxels (v1 `cascade_random_binary_transform_size`: (1, 8)).
    public var radiusRange: ClosedRange<Double>
    /// Threads of the morphology kernel (1 inside the loader's workers).
    public var threads: Int

    /// Creates the transform with v1's cascade settings unless given.
    public init(channels: [Int], probability: Double = 0.4, channelProbability: Double = 1,
                radiusRange: ClosedRange<Double> = 1...8, threads: Int = 1) {
        self.channels = channels
        self.probability = probability
        self.channelProbability = channelProbability
        self.radiusRange = radiusRange
        self.threads = threads
    }

    /// Applies the drawn operations sample by sample.
    public func apply(_ batch: inout Batch, random: inout SeededGenerator) {
        let n = batch.voxelsPerChannel
        for b in 0..<batch.batchSize where random.happens(withProbability: probability) {
            var order = channels.map { $0 < 0 ? batch.dataChannels + $0 : $0 }
            order.shuffle(using: &random)
            for c in order where random.happens(withProbability: channelProbability) {
                let operation = BinaryMorphology.Operation.allCases[Int.random(in: 0..<4, using: &random)]
                let radius = random.nextUniform(in: radiusRange)
                let start = batch.dataOffset(sample: b, channel: c)
                let before = batch.data[start..<(start + n)].map { $0 > 0 ? UInt8(1) : 0 }
                let after = BinaryMorphology.apply(operation, to: before, shape: batch.spatialShape3D, radius: radius,
                                                   threads: threads)
                for i in 0..<n { batch.data[start + i] = Float(after[i]) }
                for other in order where other != c {
                    let offset = batch.dataOffset(sample: b, channel: other)
                    for i in 0..<n where after[i] > before[i] { batch.data[offset + i] = 0 }
                }
            }
        }
    }
}
