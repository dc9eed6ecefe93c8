import Foundation
import NNUNetCore

/// Keeps only the listed segmentation channels (v1: channel 0; the cascade keeps 0 and 1).
///
/// Port of batchgenerators 0.25 `SegChannelSelectionTransform`.
public struct SegmentationChannelSelectionTransform: Transform {
    public var channels: [Int]

    public init(channels: [Int] = [0]) { self.channels = channels }

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
