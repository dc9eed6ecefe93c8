/// Leaky ReLU as a layer (no parameters), nnU-Net's `LeakyReLU(negative_slope=1e-2)`.
public final class LeakyReLU: Module {
    /// Slope applied to negative inputs (nnU-Net: 0.01).
    public let negativeSlope: Float

    /// Creates the layer with the given negative slope.
    public init(negativeSlope: Float = 0.01) {
        self.negativeSlope = negativeSlope
        super.init()
    }

    override public func forward(_ x: Tensor) -> Tensor { leakyReLU(x, negativeSlope: negativeSlope) }
}
