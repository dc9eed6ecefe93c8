import Foundation
import NNUNetCore

/// Builds the deep-supervision targets: the segmentation at every output scale, nearest neighbour.
///
/// Port of v1 `training/data_augmentation/downsampling.py` `DownsampleSegForDSTransform2` (order 0): for each scale
/// vector s (highest resolution first), shape round(shape · s) (ties to even, as numpy) and skimage `resize` with
/// order 0 (pixel-centre grid: halving picks voxels 1, 3, 5, ...); a scale of all ones is the segmentation itself.
/// Fills ``Batch/targets``; the segmentation stays as it is.
public struct DownsampleSegmentationForDeepSupervisionTransform: Transform {
    /// One vector per network output, e.g. [[1,1,1], [0.5,0.5,0.5], [0.25,0.25,0.25]].
    public var scales: [[Double]]

    /// Creates the transform for the given per-output scale vectors, highest resolution first.
    public init(scales: [[Double]]) { self.scales = scales }

    /// Fills ``Batch/targets`` with the segmentation resampled to every scale.
    public func apply(_ batch: inout Batch, random: inout SeededGenerator) {
        let dims = batch.spatialShape.count
        let inShape3 = batch.spatialShape3D
        let n = batch.voxelsPerChannel
        let planes = batch.batchSize * batch.segmentationChannels
        batch.targets = scales.map { scale in
            precondition(scale.count == dims, "Deep supervision scale \(scale) for a \(dims)D batch")
            if scale.allSatisfy({ $0 == 1 }) {
                return SegmentationTarget(values: batch.segmentation, spatialShape: batch.spatialShape)
            }
            let shape = (0..<dims).map { Int((Double(batch.spatialShape[$0]) * scale[$0]).rounded(.toNearestOrEven)) }
            let shape3 = dims == 3 ? shape : [1] + shape
            let m = shape3.reduce(1, *)
            var values = [Float](repeating: 0, count: planes * m)
            batch.segmentation.withUnsafeBufferPointer { seg in
                values.withUnsafeMutableBufferPointer { out in
                    for p in 0..<planes {
                        MapCoordinates.sample(UnsafeBufferPointer(rebasing: seg[(p * n)..<((p + 1) * n)]),
                                              inputShape: inShape3,
                                              into: UnsafeMutableBufferPointer(rebasing: out[(p * m)..<((p + 1) * m)]),
                                              outputShape: shape3, map: .resize(from: inShape3, to: shape3),
                                              order: 0, boundary: .nearest)
                    }
                }
            }
            return SegmentationTarget(values: values, spatialShape: shape)
        }
    }

    /// v1's scales from the plans' pooling kernels: [1, ...] followed by 1 / cumprod(pool kernels), without the last
    /// (nnUNetTrainerV2 `setup_DA_params`).
    public static func scales(poolKernelSizes: [[Int]]) -> [[Double]] {
        guard let first = poolKernelSizes.first else { return [] }
        var result: [[Double]] = [first.map { _ in 1 }]
        var product = first.map { _ in 1.0 }
        for kernel in poolKernelSizes.dropLast() {
            product = zip(product, kernel).map { $0 * Double($1) }
            result.append(product.map { 1 / $0 })
        }
        return result
    }
}
