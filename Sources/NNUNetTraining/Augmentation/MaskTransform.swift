import Foundation
import NNUNetCore

/// Sets data to 0 outside the nonzero mask (segmentation < 0) for channels normalised within the mask.
///
/// Port of v1 `training/data_augmentation/custom_transforms.py` `MaskTransform` with `mask_idx_in_seg=0`,
/// `set_outside_to=0`: for every channel c with `usesMask[c]` (the plans' `use_mask_for_norm`), data = 0 where the
/// first segmentation channel is < 0.
public struct MaskTransform: Transform {
    /// Per data channel: whether it is masked (the plans' `use_mask_for_norm`); channels beyond the list are not.
    public var usesMask: [Bool]
    /// The value written outside the mask (v1: 0).
    public var outsideValue: Float

    /// Creates the transform for the given per-channel flags.
    public init(usesMask: [Bool], outsideValue: Float = 0) {
        self.usesMask = usesMask
        self.outsideValue = outsideValue
    }

    /// Sets the masked channels to ``outsideValue`` wherever segmentation channel 0 is negative.
    public func apply(_ batch: inout Batch, random: inout SeededGenerator) {
        let n = batch.voxelsPerChannel
        for b in 0..<batch.batchSize {
            let mask = batch.segmentationOffset(sample: b, channel: 0)
            for c in 0..<batch.dataChannels where c < usesMask.count && usesMask[c] {
                let start = batch.dataOffset(sample: b, channel: c)
                for i in 0..<n where batch.segmentation[mask + i] < 0 { batch.data[start + i] = outsideValue }
            }
        }
    }
}
