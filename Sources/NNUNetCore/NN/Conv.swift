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

/// Instance normalisation with affine parameters (`InstanceNorm2d/3d(affine=True, eps=1e-5)`): `weight` (γ) = 1
/// and `bias` (β) = 0 initially, shape `[C]`. See ``instanceNorm(_:weight:bias:epsilon:)``.
public final class InstanceNorm: Module {
    public let weight: Tensor
    public let bias: Tensor
    public let epsilon: Float

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

/// Leaky ReLU as a layer (no parameters), nnU-Net's `LeakyReLU(negative_slope=1e-2)`.
public final class LeakyReLU: Module {
    public let negativeSlope: Float

    public init(negativeSlope: Float = 0.01) {
        self.negativeSlope = negativeSlope
        super.init()
    }

    override public func forward(_ x: Tensor) -> Tensor { leakyReLU(x, negativeSlope: negativeSlope) }
}
