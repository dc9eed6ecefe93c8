import Foundation
import NNUNetCore

/// Keeps only the listed segmentation channels (v1: channel 0; the cascade keeps 0 and 1).
///
/// Port of batchgenerators 0.25 `SegChannelSelectionTransform`.
public struct SegmentationChannelSelectionTransform: Transform {
    /// Indices of the segmentation channels to keep, in output order.
    public var channels: [Int]

    /// Creates the transform; the default keeps channel 0.
    public init(channels: [Int] = [0]) { self.channels = channels }

    /// Keeps the listed segmentation channels of every sample; a no-op when they are all channels in order.
    public func apply(_ batch: inout Batch, random: inout SeededGenerator) {
        guard channels != Array(0..<batch.segmentationChannels) else { return }
        let n = batch.voxelsPerChannel
        var selected: [Float] = []
        selected.reserveCapacity(batch.batchSize * channels.count * n)
        for b in 0..<batch.batchSize {
            for c in channels {
                precondition(c < batch.segmentationChannels, "SegmentationChannelSelection: no channel \(c)")
                let start = batch.segmentationOffset(sample: b, channel: c)
                selected.append(contentsOf: batch.segmentation[start..<(start + n)])
            }
        }
        batch.segmentation = selected
        batch.segmentationChannels = channels.count
    }
}
