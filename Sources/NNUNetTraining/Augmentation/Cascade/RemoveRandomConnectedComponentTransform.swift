import Foundation
import NNUNetCore

/// Deletes one random small connected component from one-hot data channels (batchgenerators'
/// `RemoveRandomConnectedComponentFromOneHotEncodingTransform`).
///
/// Per sample and channel with probability ``probability``: the channel's components (26-connectivity, skimage's
/// default) smaller than ``maximumFraction`` of the patch are candidates; one, drawn uniformly, is set to 0 and, with
/// ``fillProbability``, given to another listed channel drawn uniformly.
///
/// Deliberate difference: v1's cascade passes this transform its arguments in the wrong order (size threshold 0.0,
/// so no component ever qualifies and the step does nothing, §14). Here it runs with the values v1 meant:
/// probability 0.2, threshold 15 % of the patch, fill probability 0.
public struct RemoveRandomConnectedComponentTransform: Transform {
    /// Data channels to work on; negative indices count from the end, as in numpy (the cascade: −(K − 1) ..< 0).
    public var channels: [Int]
    /// Probability per sample and channel (v1 `cascade_remove_conn_comp_p`: 0.2).
    public var probability: Double
    /// Components covering at least this fraction of the patch are kept
    /// (v1 `cascade_remove_conn_comp_max_size_percent_threshold`: 0.15).
    public var maximumFraction: Double
    /// Probability that the removed voxels go to another channel (v1 `cascade_remove_conn_comp_fill_with_other_class_p`:
    /// 0).
    public var fillProbability: Double

    /// Creates the transform with the cascade's intended settings unless given.
    public init(channels: [Int], probability: Double = 0.2, maximumFraction: Double = 0.15,
                fillProbability: Double = 0) {
        self.channels = channels
        self.probability = probability
        self.maximumFraction = maximumFraction
        self.fillProbability = fillProbability
    }

    /// Removes at most one component per sample and channel.
    public func apply(_ batch: inout Batch, random: inout SeededGenerator) {
        let n = batch.voxelsPerChannel
        let channels = self.channels.map { $0 < 0 ? batch.dataChannels + $0 : $0 }
        for b in 0..<batch.batchSize {
            for c in channels where random.happens(withProbability: probability) {
                let start = batch.dataOffset(sample: b, channel: c)
                let mask = batch.data[start..<(start + n)].map { $0 > 0 ? UInt8(1) : 0 }
                let runs = mask.withUnsafeBufferPointer {
                    ConnectedComponents.runs(of: $0, shape: batch.spatialShape3D, connectivity: .full, threads: 1)
                }
                let candidates = (1..<(runs.count + 1)).filter { Double(runs.voxelCounts[$0]) < Double(n) * maximumFraction }
                guard !candidates.isEmpty else { continue }
                let chosen = Int32(candidates[Int.random(in: 0..<candidates.count, using: &random)])
                let labels = runs.labelVolume(threads: 1)
                let others = channels.filter { $0 != c }
                let target = !others.isEmpty && random.happens(withProbability: fillProbability)
                    ? others[Int.random(in: 0..<others.count, using: &random)] : nil
                for i in 0..<n where labels[i] == chosen {
                    batch.data[start + i] = 0
                    if let target { batch.data[batch.dataOffset(sample: b, channel: target) + i] = 1 }
                }
            }
        }
    }
}
