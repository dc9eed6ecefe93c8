import Foundation
import NNUNetCore

/// Moves one segmentation channel into the data as one-hot channels (batchgenerators' `MoveSegAsOneHotToData`).
///
/// The cascade carries the previous stage's segmentation as segmentation channel 1 through the spatial and mirror
/// transforms (so it is interpolated like a label map); this transform then removes it from the segmentation and
/// appends one channel per listed label (1 where the channel equals the label, else 0) after the modalities:
/// data (B, C, ...) → (B, C + L, ...), segmentation (B, S, ...) → (B, S − 1, ...).
public struct MoveSegmentationAsOneHotToDataTransform: Transform {
    /// The segmentation channel to move (the cascade: 1).
    public var segmentationChannel: Int
    /// The labels that get a data channel, in order (the cascade: 1 ... K − 1).
    public var labels: [Int]

    /// Creates the transform.
    public init(segmentationChannel: Int = 1, labels: [Int]) {
        self.segmentationChannel = segmentationChannel
        self.labels = labels
    }

    /// Appends the one-hot channels of every sample and drops the moved segmentation channel.
    public func apply(_ batch: inout Batch, random: inout SeededGenerator) {
        precondition(segmentationChannel < batch.segmentationChannels,
                     "MoveSegmentationAsOneHotToData: the batch has no segmentation channel \(segmentationChannel)")
        let n = batch.voxelsPerChannel
        let oldChannels = batch.dataChannels, newChannels = oldChannels + labels.count
        let keptSegmentation = (0..<batch.segmentationChannels).filter { $0 != segmentationChannel }
        var data = [Float](repeating: 0, count: batch.batchSize * newChannels * n)
        var segmentation = [Float]()
        segmentation.reserveCapacity(batch.batchSize * keptSegmentation.count * n)
        for b in 0..<batch.batchSize {
            let from = batch.dataOffset(sample: b, channel: 0)
            data.replaceSubrange((b * newChannels * n)..<((b * newChannels + oldChannels) * n),
                                 with: batch.data[from..<(from + oldChannels * n)])
            let moved = batch.segmentationOffset(sample: b, channel: segmentationChannel)
            for (l, label) in labels.enumerated() {
                let to = (b * newChannels + oldChannels + l) * n, value = Float(label)
                for i in 0..<n where batch.segmentation[moved + i] == value { data[to + i] = 1 }
            }
            for c in keptSegmentation {
                let start = batch.segmentationOffset(sample: b, channel: c)
                segmentation += batch.segmentation[start..<(start + n)]
            }
        }
        batch.data = data
        batch.dataChannels = newChannels
        batch.segmentation = segmentation
        batch.segmentationChannels = keptSegmentation.count
    }
}
