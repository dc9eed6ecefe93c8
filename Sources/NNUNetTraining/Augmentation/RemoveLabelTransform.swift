import Foundation
import NNUNetCore

/// Replaces one segmentation value by another (v1: −1 → 0).
///
/// Port of batchgenerators 0.25 `RemoveLabelTransform(-1, 0)`.
public struct RemoveLabelTransform: Transform {
    /// The segmentation value to replace (v1: −1, outside the nonzero region).
    public var label: Float
    /// The value written instead (v1: 0, background).
    public var replacement: Float

    /// Creates the transform; the defaults are v1's −1 → 0.
    public init(label: Float = -1, replacement: Float = 0) {
        self.label = label
        self.replacement = replacement
    }

    /// Replaces every occurrence of ``label`` in the segmentation.
    public func apply(_ batch: inout Batch, random: inout SeededGenerator) {
        for i in batch.segmentation.indices where batch.segmentation[i] == label { batch.segmentation[i] = replacement }
    }
}
