/// A 2D or 3D convolution layer (PyTorch `Conv2d`/`Conv3d`), see ``conv(_:weight:bias:stride:padding:threads:)``.
///
/// Parameters: `weight` `[Cout, Cin, (kD,) kH, kW]`, `bias` `[Cout]` (optional). Initialised as nnU-Net does:
/// Kaiming normal with a = 0.01 (``Initialization/kaimingNormal(_:negativeSlope:using:)``), bias 0.
/// The rank of `kernelSize` (2 or 3) decides 2D or 3D.
public final class Conv: Module {
    /// Kernel `[Cout, Cin, (kD,) kH, kW]`, registered as `weight`.
    public let weight: Tensor
    /// Bias `[Cout]` registered as `bias`, or nil when the layer was created with `bias: false`.
    public let bias: Tensor?
    /// Stride per spatial axis (`(z,) y, x`).
    public let stride: [Int]
    /// Zero padding per spatial axis (`(z,) y, x`), added on both sides.
    public let padding: [Int]

    /// Creates the layer with Kaiming-normal weights (a = 0.01) and a zero bias.
    ///
    /// - Parameters:
    ///   - inputChannels: Channels of the input (`Cin`).
    ///   - outputChannels: Channels of the output (`Cout`).
    ///   - kernelSize: Kernel size per spatial axis; 2 entries for 2D, 3 for 3D.
    ///   - stride: Stride per axis; nil means 1 on every axis.
    ///   - padding: Zero padding per axis; nil means none.
    ///   - bias: Whether to create and register a bias.
    ///   - generator: Random source for the weight initialisation.
    public init(inputChannels: Int, outputChannels: Int, kernelSize: [Int], stride: [Int]? = nil,
                padding: [Int]? = nil, bias: Bool = true, generator: inout SeededGenerator) {
        precondition(kernelSize.count == 2 || kernelSize.count == 3, "Conv: kernelSize \(kernelSize) must be 2D or 3D")
        self.stride = stride ?? kernelSize.map { _ in 1 }
        self.padding = padding ?? kernelSize.map { _ in 0 }
        weight = Initialization.kaimingNormal([outputChannels, inputChannels] + kernelSize, using: &generator)
        self.bias = bias ? Tensor.zeros([outputChannels]) : nil
        super.init()
        register(parameter: "weight", weight)
        if let b = self.bias { register(parameter: "bias", b) }
    }

    override public func forward(_ x: Tensor) -> Tensor {
        conv(x, weight: weight, bias: bias, stride: stride, padding: padding)
    }
}
