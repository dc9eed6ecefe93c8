import NNUNetCore

/// The targets of the deep-supervision outputs (v1 `downsample_seg_for_ds_transform2`, order 0, reference sheet §6.2).
public enum DeepSupervisionTargets {
    /// v1's scales: 1 for the first output, then `1 / cumprod(poolKernels)` for the others (one fewer than the pools).
    public static func scales(poolKernels: [[Int]]) -> [[Double]] {
        DownsampleSegmentationForDeepSupervisionTransform.scales(poolKernelSizes: poolKernels)
    }

    /// Nearest-neighbour downsampling with pixel-centre mapping (skimage `resize(order=0)`): output index i along an
    /// axis reads input index `floor((i + 0.5) / scale)` (2i + 1 for a factor 2), new size `round(size · scale)`.
    /// The same kernel as the loader's ``DownsampleSegmentationForDeepSupervisionTransform``.
    ///
    /// - Parameters:
    ///   - target: `[N, C, spatial...]`; every sample and channel is resampled alike.
    ///   - scale: the factor per spatial axis (e.g. 0.5).
    public static func downsample(_ target: Tensor, scale: [Double]) -> Tensor {
        let spatial = Array(target.shape.dropFirst(2))
        precondition(spatial.count == scale.count, "downsample: scale \(scale) for target \(target.shape)")
        let outSpatial = zip(spatial, scale).map { Int((Double($0) * $1).rounded(.toNearestOrEven)) }
        if outSpatial == spatial { return target }
        let in3 = spatial.count == 3 ? spatial : [1] + spatial, out3 = outSpatial.count == 3 ? outSpatial : [1] + outSpatial
        let planes = target.shape[0] * target.shape[1]
        let n = in3.reduce(1, *), m = out3.reduce(1, *)
        var out = [Float](repeating: 0, count: planes * m)
        target.data.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { destination in
                for p in 0..<planes {
                    MapCoordinates.sample(UnsafeBufferPointer(rebasing: source[(p * n)..<((p + 1) * n)]), inputShape: in3,
                                          into: UnsafeMutableBufferPointer(rebasing: destination[(p * m)..<((p + 1) * m)]),
                                          outputShape: out3, map: .resize(from: in3, to: out3), order: 0,
                                          boundary: .nearest)
                }
            }
        }
        return Tensor(shape: Array(target.shape.prefix(2)) + outSpatial, data: out)
    }

    /// Targets for every output.
    public static func make(_ target: Tensor, poolKernels: [[Int]]) -> [Tensor] {
        scales(poolKernels: poolKernels).map { downsample(target, scale: $0) }
    }
}
