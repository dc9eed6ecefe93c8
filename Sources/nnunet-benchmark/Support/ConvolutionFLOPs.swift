import NNUNetCore
import NNUNetTraining

/// The direct-convolution work of a Generic U-Net, for the benchmarks' effective rate: 2 FLOPs per multiply-add of
/// every convolution and transposed convolution as written (27 per output for a 3×3×3 kernel and one input channel),
/// whatever algorithm computes it. Normalisation, nonlinearity, loss and softmax are left out.
enum ConvolutionFLOPs {
    /// FLOPs of one forward of `network` on a batch of `batch` patches of `patch`: the encoder, the decoder, the
    /// transposed convolutions and the segmentation heads (all of them with `allHeads`, as deep-supervised training
    /// computes them; else the full-resolution one, as inference does).
    static func forward(_ network: GenericUNet, patch: [Int], batch: Int, allHeads: Bool) -> Double {
        var sizes = [patch]
        for pool in network.poolKernels { sizes.append(zip(sizes[sizes.count - 1], pool).map { $0 / $1 }) }
        let stages = sizes.count
        func voxels(_ stage: Int) -> Double { Double(sizes[max(0, min(stages - 1, stage))].reduce(1, *)) }
        var total = 0.0
        for (name, parameter) in network.namedParameters() where name.hasSuffix(".weight") && parameter.rank >= 3 {
            let parts = name.split(separator: ".")
            guard parts.count >= 2, let index = Int(parts[1]) else { continue }
            let kernel = Double(parameter.shape.dropFirst(2).reduce(1, *))
            let channels = Double(parameter.shape[0] * parameter.shape[1])
            switch parts[0] {
            case "conv_blocks_context": total += 2 * channels * kernel * voxels(index)
            case "conv_blocks_localization": total += 2 * channels * kernel * voxels(stages - 2 - index)
            // A transposed convolution: one multiply-add per input voxel, weight element.
            case "tu": total += 2 * channels * kernel * voxels(stages - 1 - index)
            case "seg_outputs" where allHeads || index == stages - 2:
                total += 2 * channels * kernel * voxels(stages - 2 - index)
            default: break
            }
        }
        return total * Double(batch)
    }

    /// The effective rate of work of `flops` direct-convolution FLOPs done in `seconds`, next to a 2048³ sgemm on
    /// `threads` threads measured now: `direct_conv_gflop`, `effective_gflops`, `sgemm_gflops` and
    /// `effective_fraction_of_sgemm` (a method with fewer multiplications than direct convolution can exceed 1).
    static func addEffectiveRate(flops: Double, seconds: Double, threads: Int, to result: inout [String: Any]) {
        let sgemm = GEMM.measureThroughput(threads: threads).wall
        let effective = flops / seconds / 1e9
        result["direct_conv_gflop"] = flops / 1e9
        result["effective_gflops"] = effective
        result["sgemm_gflops"] = sgemm
        result["effective_fraction_of_sgemm"] = effective / sgemm
    }

    /// The sliding-window work of predicting a case of preprocessed spatial `shape` with `folds` networks of
    /// `patch`: tiles (v1's steps over the shape padded to at least the patch; a 2D patch tiles every slice along
    /// axis 0) × mirrored copies (every combination of the patch axes, 2^rank, with mirroring; else 1) × folds × one
    /// full-resolution forward.
    static func slidingWindow(_ network: GenericUNet, patch: [Int], shape: [Int], stepSize: Double, mirroring: Bool,
                              folds: Int) -> (tiles: Int, flops: Double) {
        let spatial = patch.count == 2 ? Array(shape.dropFirst()) : shape
        let padded = zip(spatial, patch).map { max($0, $1) }
        var tiles = SlidingWindow.steps(imageSize: padded, patchSize: patch, stepSize: stepSize)
            .reduce(1) { $0 * $1.count }
        if patch.count == 2 { tiles *= shape[0] }
        let copies = mirroring ? 1 << patch.count : 1
        return (tiles, Double(tiles * copies * folds) * forward(network, patch: patch, batch: 1, allHeads: false))
    }
}
