import Foundation
import NNUNetCore

/// Flips data and segmentation along each listed spatial axis with probability 0.5.
///
/// Port of batchgenerators 0.25 `MirrorTransform` / `augment_mirroring` (every sample; axis 2 only for 3D
/// batches). v1: axes (0, 1, 2) for 3D, (0, 1) for 2D. Deep-supervision targets are not touched (the transform runs
/// before they exist).
public struct MirrorTransform: Transform {
    /// Spatial axes that may be flipped; axes beyond the batch's rank are ignored.
    public var axes: [Int]
    /// Probability per sample and axis of a flip (0.5).
    public var axisProbability: Double

    /// Creates the transform for `axes`.
    public init(axes: [Int], axisProbability: Double = 0.5) {
        self.axes = axes
        self.axisProbability = axisProbability
    }

    /// Flips data and segmentation of each sample along each drawn axis.
    public func apply(_ batch: inout Batch, random: inout SeededGenerator) {
        let dims = batch.spatialShape.count
        for b in 0..<batch.batchSize {
            for axis in 0..<3 where axes.contains(axis) && axis < dims {
                guard random.happens(withProbability: axisProbability) else { continue }
                for c in 0..<batch.dataChannels {
                    Self.flip(&batch.data, start: batch.dataOffset(sample: b, channel: c), shape: batch.spatialShape,
                              axis: axis)
                }
                for c in 0..<batch.segmentationChannels {
                    Self.flip(&batch.segmentation, start: batch.segmentationOffset(sample: b, channel: c),
                              shape: batch.spatialShape, axis: axis)
                }
            }
        }
    }

    /// Reverses one channel (C-order `shape` values from `start`) along `axis`.
    static func flip(_ values: inout [Float], start: Int, shape: [Int], axis: Int) {
        let n = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *)
        let outer = shape[..<axis].reduce(1, *)
        values.withUnsafeMutableBufferPointer { v in
            for o in 0..<outer {
                let base = start + o * n * inner
                for i in 0..<(n / 2) {
                    let a = base + i * inner, bIndex = base + (n - 1 - i) * inner
                    for k in 0..<inner { v.swapAt(a + k, bIndex + k) }
                }
            }
        }
    }
}
