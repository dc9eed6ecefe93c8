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
    let result = Kernels.instanceNormForward(x.data, planes: planes, channels: channels, spatial: spatial,
                                             gamma: gamma, beta: bias?.data, epsilon: epsilon)
    let input = x.data
    var inputs = [x]
    if let weight { inputs.append(weight) }
    if let bias { inputs.append(bias) }
    return Tensor.record("instanceNorm", shape: x.shape, data: result.y, inputs: inputs) { g in
        let grads = Kernels.instanceNormBackward(g.data, x: input, mean: result.mean, invstd: result.invstd,
                                                 planes: planes, channels: channels, spatial: spatial, gamma: gamma)
        var out: [Tensor?] = [Tensor(shape: x.shape, data: grads.dx)]
        if weight != nil { out.append(Tensor(shape: [channels], data: grads.dGamma)) }
        if bias != nil { out.append(Tensor(shape: [channels], data: grads.dBeta)) }
        return out
    }
}
