import NNUNetCore

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
}
