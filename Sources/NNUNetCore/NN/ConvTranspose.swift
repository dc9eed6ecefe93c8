/// A transposed convolution layer (PyTorch `ConvTranspose2d/3d`), nnU-Net's upsampling with kernel = stride.
///
/// Parameters: `weight` `[Cin, Cout, (kD,) kH, kW]` (torch layout), `bias` `[Cout]` (optional; nnU-Net uses none).
/// Kaiming normal initialisation with torch's fan-in of this layout (Cout·kvol).
public final class ConvTranspose: Module {
    /// Kernel `[Cin, Cout, (kD,) kH, kW]` (torch layout), registered as `weight`.
    public let weight: Tensor
    /// Bias `[Cout]` registered as `bias`, or nil (the default; nnU-Net's upsampling has none).
    public let bias: Tensor?
    /// Upsampling factor per spatial axis (`(z,) y, x`); nnU-Net uses kernel size = stride.
    public let stride: [Int]

    /// Creates the layer with Kaiming-normal weights and, if `bias` is true, a zero bias.
    ///
    /// - Parameters:
    ///   - inputChannels: Channels of the input (`Cin`).
    ///   - outputChannels: Channels of the output (`Cout`).
    ///   - kernelSize: Kernel size per spatial axis; must have as many entries as `stride`.
    ///   - stride: Upsampling factor per spatial axis.
    ///   - bias: Whether to create and register a bias.
    ///   - generator: Random source for the weight initialisation.
    public init(inputChannels: Int, outputChannels: Int, kernelSize: [Int], stride: [Int], bias: Bool = false,
                generator: inout SeededGenerator) {
        precondition(kernelSize.count == stride.count, "ConvTranspose: kernelSize \(kernelSize) vs stride \(stride)")
        self.stride = stride
        weight = Initialization.kaimingNormal([inputChannels, outputChannels] + kernelSize, using: &generator)
        self.bias = bias ? Tensor.zeros([outputChannels]) : nil
        super.init()
        register(parameter: "weight", weight)
        if let b = self.bias { register(parameter: "bias", b) }
    }

    override public func forward(_ x: Tensor) -> Tensor {
        convTranspose(x, weight: weight, bias: bias, stride: stride)
    }
}
