import Foundation
import NNUNetCore

/// Dummy-2D augmentation, step 1: folds axis 0 into the channels, (B, C, Z, Y, X) → (B, C·Z, Y, X).
///
/// Port of batchgenerators 0.25 `Convert3DTo2DTransform`. In C-order the memory layout is unchanged, so only the
/// shape changes; ``Convert2DTo3DTransform`` restores it.
public struct Convert3DTo2DTransform: Transform {
    /// Creates the transform (it has no settings).
    public init() {}

    /// Folds axis 0 into the channels and records the depth in ``Batch/foldedDepth``.
    public func apply(_ batch: inout Batch, random: inout SeededGenerator) {
        precondition(batch.spatialShape.count == 3, "Convert3DTo2D needs a 3D batch, got \(batch.spatialShape)")
        let depth = batch.spatialShape[0]
        batch.dataChannels *= depth
        batch.segmentationChannels *= depth
        batch.spatialShape = Array(batch.spatialShape[1...])
        batch.foldedDepth = depth
    }
}

/// Dummy-2D augmentation, step 2: unfolds the channels again, (B, C·Z, Y, X) → (B, C, Z, Y, X).
///
/// Port of batchgenerators 0.25 `Convert2DTo3DTransform`.
public struct Convert2DTo3DTransform: Transform {
    /// Creates the transform (it has no settings).
    public init() {}

    /// Restores the folded axis 0; requires a batch folded by ``Convert3DTo2DTransform``.
    public func apply(_ batch: inout Batch, random: inout SeededGenerator) {
        guard let depth = batch.foldedDepth else {
            preconditionFailure("Convert2DTo3D without a preceding Convert3DTo2D")
        }
        batch.dataChannels /= depth
        batch.segmentationChannels /= depth
        batch.spatialShape = [depth] + batch.spatialShape
        batch.foldedDepth = nil
    }
}
