import Foundation
import NNUNetCore

/// Replaces one segmentation value by another (v1: −1 → 0).
///
/// Port of batchgenerators 0.25 `RemoveLabelTransform(-1, 0)`.
public struct RemoveLabelTransform: Transform {
    public var label: Float
    public var replacement: Float

    public init(label: Float = -1, replacement: Float = 0) {
        self.label = label
        self.replacement = replacement
    }

    public func apply(_ batch: inout Batch, random: inout SeededGenerator) {
        for i in batch.segmentation.indices where batch.segmentation[i] == label { batch.segmentation[i] = replacement }
    }
}
