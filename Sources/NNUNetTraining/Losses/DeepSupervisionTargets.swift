import NNUNetCore

/// The targets of the deep-supervision outputs (v1 `downsample_seg_for_ds_transform2`, order 0, reference sheet §6.2).
public enum DeepSupervisionTargets {
    /// v1's scales: 1 for the first output, then `1 / cumprod(poolKernels)` for the others (one fewer than the pools).
    public static func scales(poolKernels: [[Int]]) -> [[Double]] {
        guard let rank = poolKernels.first?.count else { return [] }
        var scales: [[Double]] = [[Double](repeating: 1, count: rank)]
        var product = [Int](repeating: 1, count: rank)
        for pool in poolKernels.dropLast() {
            for a in 0..<rank { product[a] *= pool[a] }
            scales.append(product.map { 1 / Double($0) })
        }
        return scales
    }

    /// Nearest-neighbour downsampling with pixel-centre mapping (skimage `resize(order=0)`): output index i along an
    /// axis reads input index `floor((i + 0.5) / scale)` (2i + 1 for a factor 2), new size `round(size · scale)`.
    ///
    /// - Parameter target: `[N, C, spatial...]`; every sample and channel is resampled alike.
    public static func downsample(_ target: Tensor, scale: [Double]) -> Tensor {
        let spatial = Array(target.shape.dropFirst(2))
        precondition(spatial.count == scale.count, "downsample: scale \(scale) for target \(target.shape)")
        let outSpatial = zip(spatial, scale).map { Int((Double($0) * $1).rounded(.toNearestOrEven)) }
        if outSpatial == spatial { return target }
        let indices = zip(zip(spatial, outSpatial), scale).map { sizes, s in
            (0..<sizes.1).map { min(Int((Double($0) + 0.5) / s), sizes.0 - 1) }
        }
        let planes = target.shape[0] * target.shape[1]
        let inVolume = spatial.reduce(1, *), outVolume = outSpatial.reduce(1, *)
        var out = [Float](repeating: 0, count: planes * outVolume)
        let inStrides = spatial.indices.map { spatial[($0 + 1)...].reduce(1, *) }
        for plane in 0..<planes {
            for o in 0..<outVolume {
                var rest = o, source = 0
                for a in stride(from: outSpatial.count - 1, through: 0, by: -1) {
                    source += indices[a][rest % outSpatial[a]] * inStrides[a]
                    rest /= outSpatial[a]
                }
                out[plane * outVolume + o] = target.data[plane * inVolume + source]
            }
        }
        return Tensor(shape: Array(target.shape.prefix(2)) + outSpatial, data: out)
    }

    /// Targets for every output.
    public static func make(_ target: Tensor, poolKernels: [[Int]]) -> [Tensor] {
        scales(poolKernels: poolKernels).map { downsample(target, scale: $0) }
    }
}
