/// Instance normalisation with affine parameters (`InstanceNorm2d/3d(affine=True, eps=1e-5)`): `weight` (γ) = 1
/// and `bias` (β) = 0 initially, shape `[C]`. See ``instanceNorm(_:weight:bias:epsilon:)``.
public final class InstanceNorm: Module {
    /// Scale γ, shape `[C]`, initially 1.
    public let weight: Tensor
    /// Shift β, shape `[C]`, initially 0.
    public let bias: Tensor
    /// Added to the variance before the square root (torch default 1e-5).
    public let epsilon: Float

    /// Creates the layer for `channels` channels with γ = 1 and β = 0.
    public init(channels: Int, epsilon: Float = 1e-5) {
        weight = Tensor(repeating: 1, shape: [channels])
        bias = Tensor.zeros([channels])
        self.epsilon = epsilon
        super.init()
        register(parameter: "weight", weight)
        register(parameter: "bias", bias)
    }

    override public func forward(_ x: Tensor) -> Tensor {
        instanceNorm(x, weight: weight, bias: bias, epsilon: epsilon)
    }
}
