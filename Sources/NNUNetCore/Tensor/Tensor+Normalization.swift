/// Instance normalisation with optional affine parameters (nnU-Net: `InstanceNorm3d/2d(affine=True, eps=1e-5)`).
///
/// Shapes: x `[N, C, spatial...]` (NCDHW or NCHW); weight (γ) and bias (β) `[C]`. Statistics are per sample and
/// channel over all spatial voxels with the biased variance, in training and evaluation alike (nnU-Net keeps no
/// running statistics): `y = (x - mean) / sqrt(var + eps) * γ + β`.
public func instanceNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, epsilon: Float = 1e-5) -> Tensor {
    precondition(x.rank >= 3, "instanceNorm: input shape \(x.shape) needs [N, C, spatial...]")
    let channels = x.shape[1], planes = x.shape[0] * channels, spatial = x.shape[2...].reduce(1, *)
    if let weight { precondition(weight.shape == [channels], "instanceNorm: weight \(weight.shape) vs input \(x.shape)") }
    if let bias { precondition(bias.shape == [channels], "instanceNorm: bias \(bias.shape) vs input \(x.shape)") }
    let gamma = weight?.data
    // Backward needs x, mean and 1/std, not the output: binding the fields keeps the closure from holding y.
    let (y, mean, invstd) = Kernels.instanceNormForward(x.data, planes: planes, channels: channels, spatial: spatial,
                                                        gamma: gamma, beta: bias?.data, epsilon: epsilon)
    let input = x.data
    var inputs = [x]
    if let weight { inputs.append(weight) }
    if let bias { inputs.append(bias) }
    return Tensor.record("instanceNorm", shape: x.shape, data: y, inputs: inputs) { g in
        let grads = Kernels.instanceNormBackward(g.data, x: input, mean: mean, invstd: invstd,
                                                 planes: planes, channels: channels, spatial: spatial, gamma: gamma)
        var out: [Tensor?] = [Tensor(shape: x.shape, data: grads.dx)]
        if weight != nil { out.append(Tensor(shape: [channels], data: grads.dGamma)) }
        if bias != nil { out.append(Tensor(shape: [channels], data: grads.dBeta)) }
        return out
    }
}

/// Instance normalisation followed by leaky ReLU, as one op: `leakyReLU(instanceNorm(x, γ, β), slope)`.
///
/// Same values and gradients as the two ops composed, but the normalised intermediate is never kept: backward
/// recovers where it was negative from the output's sign (slope > 0 keeps the sign) and recomputes the normalisation
/// gradient from `x` and the saved per-plane mean and 1/std, applying the ReLU's backward on the fly (no
/// gradient-sized intermediate). A block conv → norm → ReLU therefore holds two
/// activations for backward (conv output and block output), as PyTorch with nnU-Net's in-place LeakyReLU does,
/// instead of three.
public func instanceNormLeakyReLU(_ x: Tensor, weight: Tensor?, bias: Tensor?, epsilon: Float = 1e-5,
                                  negativeSlope: Float = 0.01) -> Tensor {
    precondition(x.rank >= 3, "instanceNormLeakyReLU: input shape \(x.shape) needs [N, C, spatial...]")
    precondition(negativeSlope > 0, "instanceNormLeakyReLU: negativeSlope \(negativeSlope) must be positive")
    let channels = x.shape[1], planes = x.shape[0] * channels, spatial = x.shape[2...].reduce(1, *)
    if let weight { precondition(weight.shape == [channels], "instanceNormLeakyReLU: weight \(weight.shape) vs input \(x.shape)") }
    if let bias { precondition(bias.shape == [channels], "instanceNormLeakyReLU: bias \(bias.shape) vs input \(x.shape)") }
    let gamma = weight?.data
    let (output, mean, invstd) = Kernels.instanceNormForward(x.data, planes: planes, channels: channels,
                                                             spatial: spatial, gamma: gamma, beta: bias?.data,
                                                             epsilon: epsilon, negativeSlope: negativeSlope)
    let input = x.data
    var inputs = [x]
    if let weight { inputs.append(weight) }
    if let bias { inputs.append(bias) }
    return Tensor.record("instanceNormLeakyReLU", shape: x.shape, data: output, inputs: inputs) { g in
        let grads = Kernels.instanceNormBackward(g.data, x: input, mean: mean, invstd: invstd, planes: planes,
                                                 channels: channels, spatial: spatial, gamma: gamma,
                                                 leakyOutput: output, negativeSlope: negativeSlope)
        var out: [Tensor?] = [Tensor(shape: x.shape, data: grads.dx)]
        if weight != nil { out.append(Tensor(shape: [channels], data: grads.dGamma)) }
        if bias != nil { out.append(Tensor(shape: [channels], data: grads.dBeta)) }
        return out
    }
}
