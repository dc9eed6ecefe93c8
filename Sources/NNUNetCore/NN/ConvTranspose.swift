/// A transposed convolution layer (PyTorch `ConvTranspose2d/3d`), nnU-Net's upsampling with kernel = stride.
///
/// Parameters: `weight` `[Cin, Cout, (kD,) kH, kW]` (torch layout), `bias` `[Cout]` (optional; nnU-Net uses none).
/// Kaiming normal initialisation with torch's fan-in of this layout (Cout·kvol).
public final class ConvTranspose: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: [Int]

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
