/// A 2D or 3D convolution layer (PyTorch `Conv2d`/`Conv3d`), see ``conv(_:weight:bias:stride:padding:threads:)``.
///
/// Parameters: `weight` `[Cout, Cin, (kD,) kH, kW]`, `bias` `[Cout]` (optional). Initialised as nnU-Net does:
/// Kaiming normal with a = 0.01 (``Initialization/kaimingNormal(_:negativeSlope:using:)``), bias 0.
/// The rank of `kernelSize` (2 or 3) decides 2D or 3D.
public final class Conv: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: [Int]
    public let padding: [Int]

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
