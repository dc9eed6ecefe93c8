/// nnU-Net v1's `Generic_UNet` as `nnUNetTrainerV2.initialize_network` builds it (reference sheet §6.1), 2D or 3D.
///
/// Conv blocks are conv (bias) → instance norm (affine, eps 1e-5) → leaky ReLU (0.01). Downsampling is by strided
/// convolution (the first block of each encoder stage after the first, and of the bottleneck), upsampling by
/// transposed convolution with kernel = stride and no bias, the upsampled map is concatenated *before* the skip,
/// and every decoder stage ends in a 1×1 segmentation head without bias. Decoder stage u uses the kernel
/// `convKernels[P - u]` (v1 indexes `conv_kernel_sizes[-(u+1)]`), not the kernel of the encoder stage at its
/// resolution. Features: `min(base · 2^d, maxFeatures)` (v1: 320 in 3D, 480 in 2D).
///
/// Parameter names and order are v1's `state_dict()` (decoder first), e.g.
/// `conv_blocks_localization.0.0.blocks.0.conv.weight`, `conv_blocks_context.0.blocks.1.instnorm.bias`,
/// `tu.0.weight`, `seg_outputs.2.weight`, so v1 checkpoints load by name.
///
/// Layout: input `[N, C, (D,) H, W]`; ``forwardDeepSupervision(_:outputs:)`` returns one logit map per decoder stage,
/// highest resolution first (`[N, K, ...]`, K classes including background).
public final class GenericUNet: Module {
    /// Number of input channels (modalities, plus K-1 for the cascade).
    public let inputChannels: Int
    /// Number of output classes, background included.
    public let classCount: Int
    /// Pooling kernels (= strides) per downsampling step; P = count.
    public let poolKernels: [[Int]]
    /// Conv kernels per resolution (P + 1 entries: encoder stages then bottleneck).
    public let convKernels: [[Int]]
    /// Whether ``forward(_:)`` is used in training with deep supervision (affects nothing but documentation).
    public var usesDeepSupervision = true

    // Stages in the order forward uses them (internal: GenericUNet+Slabs.swift evaluates the top stage itself).
    let encoder: [Module]
    let decoder: [Sequential]
    let upsampling: [ConvTranspose]
    let heads: [Conv]

    /// v1's default feature caps.
    public static let maximumFeatures3D = 320
    /// Feature cap of 2D networks (v1: 480); ``maximumFeatures3D`` is the 3D one.
    public static let maximumFeatures2D = 480

    /// Builds the network; weights are Kaiming-normal (a = 0.01), biases 0, norms γ = 1 and β = 0.
    ///
    /// - Parameters:
    ///   - inputChannels: input channels (the modalities, plus the one-hot previous stage in the cascade).
    ///   - baseFeatures: features of the first stage (v1: 32).
    ///   - classCount: output classes, background included.
    ///   - poolKernels: pooling kernel (= stride) per downsampling step and axis (the plans' `pool_op_kernel_sizes`).
    ///   - convKernels: conv kernel per stage and axis (the plans' `conv_kernel_sizes`, one more entry than
    ///     `poolKernels`).
    ///   - maxFeatures: cap (default 320 in 3D, 480 in 2D).
    ///   - convsPerStage: conv blocks per stage (v1: 2).
    ///   - generator: random source for the initial weights.
    public init(inputChannels: Int, baseFeatures: Int, classCount: Int, poolKernels: [[Int]], convKernels: [[Int]],
                maxFeatures: Int? = nil, convsPerStage: Int = 2, generator: inout SeededGenerator) {
        let p = poolKernels.count
        precondition(convKernels.count == p + 1, "GenericUNet: \(convKernels.count) conv kernels for \(p) pooling "
                     + "steps; need \(p + 1)")
        let rank = convKernels[0].count
        precondition(rank == 2 || rank == 3, "GenericUNet: kernels must be 2D or 3D, got \(convKernels[0])")
        precondition(convsPerStage >= 2, "GenericUNet: convsPerStage must be at least 2")
        self.inputChannels = inputChannels
        self.classCount = classCount
        self.poolKernels = poolKernels
        self.convKernels = convKernels
        let cap = maxFeatures ?? (rank == 3 ? Self.maximumFeatures3D : Self.maximumFeatures2D)
        let features = (0...p).map { min(baseFeatures << $0, cap) }
        let ones = [Int](repeating: 1, count: rank)

        func block(_ input: Int, _ output: Int, _ kernel: [Int], _ stride: [Int]) -> ConvNormReLU {
            ConvNormReLU(inputChannels: input, outputChannels: output, kernelSize: kernel, stride: stride,
                         generator: &generator)
        }
        func stack(_ input: Int, _ output: Int, _ count: Int, _ kernel: [Int], _ firstStride: [Int]) -> StackedConvs {
            StackedConvs((0..<count).map { block($0 == 0 ? input : output, output, kernel, $0 == 0 ? firstStride : ones) })
        }

        var encoder: [Module] = []
        var channels = inputChannels
        for d in 0..<p {
            encoder.append(stack(channels, features[d], convsPerStage, convKernels[d], d == 0 ? ones : poolKernels[d - 1]))
            channels = features[d]
        }
        encoder.append(Sequential([stack(channels, features[p], convsPerStage - 1, convKernels[p], poolKernels[p - 1]),
                                   stack(features[p], features[p], 1, convKernels[p], ones)]))
        var decoder: [Sequential] = [], upsampling: [ConvTranspose] = [], heads: [Conv] = []
        var below = features[p]
        for u in 0..<p {
            let skip = features[p - 1 - u]
            upsampling.append(ConvTranspose(inputChannels: below, outputChannels: skip, kernelSize: poolKernels[p - 1 - u],
                                            stride: poolKernels[p - 1 - u], bias: false, generator: &generator))
            decoder.append(Sequential([stack(2 * skip, skip, convsPerStage - 1, convKernels[p - u], ones),
                                       stack(skip, skip, 1, convKernels[p - u], ones)]))
            heads.append(Conv(inputChannels: skip, outputChannels: classCount, kernelSize: ones, bias: false,
                              generator: &generator))
            below = skip
        }
        self.encoder = encoder
        self.decoder = decoder
        self.upsampling = upsampling
        self.heads = heads
        super.init()
        // v1's registration order: conv_blocks_localization, conv_blocks_context, (td,) tu, seg_outputs.
        register("conv_blocks_localization", ModuleList(decoder))
        register("conv_blocks_context", ModuleList(encoder))
        register("tu", ModuleList(upsampling))
        register("seg_outputs", ModuleList(heads))
    }

    /// Number of decoder stages (= deep-supervision outputs = pooling steps).
    public var stageCount: Int { heads.count }

    /// All segmentation outputs, highest resolution first (v1's deep-supervision tuple).
    ///
    /// - Parameters:
    ///   - x: the input `[N, C, (D,) H, W]`.
    ///   - outputs: how many of them to compute the heads for, from the highest resolution down; the decoder still
    ///     runs to full resolution. Outputs whose loss weight is 0 can be skipped this way.
    public func forwardDeepSupervision(_ x: Tensor, outputs: Int? = nil) -> [Tensor] {
        var skips: [Tensor] = []
        var h = x
        for d in 0..<(encoder.count - 1) {
            h = encoder[d](h)
            skips.append(h)
        }
        // `below` is released as soon as it is upsampled, and `parts` right after the first conv of the stage, so
        // inference holds at most the upsampled map, the skip and two stage outputs (training's tape keeps what
        // backward needs regardless).
        var below: Tensor? = encoder[encoder.count - 1](h)
        var results: [Tensor?] = []
        let wanted = outputs ?? heads.count
        for u in 0..<decoder.count {
            var parts = [upsampling[u](below!), skips.removeLast()]
            below = nil
            let output = decode(stage: u, consuming: &parts)
            // Head u belongs to deep-supervision output (P - 1 - u).
            results.append(heads.count - 1 - u < wanted ? heads[u](output) : nil)
            below = output
        }
        return results.reversed().compactMap { $0 }
    }

    /// Decoder stage `u` on the channel concatenation of `parts` ([upsampled, skip]), which is never materialised;
    /// `parts` is emptied once the first convolution has read it.
    func decode(stage u: Int, consuming parts: inout [Tensor]) -> Tensor {
        let stage = decoder[u]
        guard let stack = stage.layers.first as? StackedConvs, let first = stack.layers.first as? ConvNormReLU else {
            let joined = concat(parts, axis: 1)
            parts.removeAll()
            return stage(joined)
        }
        var h = first.forward(concatenating: parts)
        parts.removeAll()
        for layer in stack.layers.dropFirst() { h = layer(h) }
        for layer in stage.layers.dropFirst() { h = layer(h) }
        return h
    }

    /// The full-resolution logits only (inference).
    override public func forward(_ x: Tensor) -> Tensor {
        forwardDeepSupervision(x, outputs: 1)[0]
    }
}

/// nnU-Net's `ConvDropoutNormNonlin`: conv → instance norm → leaky ReLU, registered as `conv` and `instnorm`.
public final class ConvNormReLU: Module {
    /// The convolution, registered as `conv`.
    public let conv: Conv
    /// The instance normalisation, registered as `instnorm`.
    public let norm: InstanceNorm

    /// Creates the block; padding is 1 on axes with kernel size 3 and 0 otherwise (v1's `conv_kwargs`).
    ///
    /// - Parameters:
    ///   - inputChannels: Channels of the input.
    ///   - outputChannels: Channels of the output.
    ///   - kernelSize: Kernel size per spatial axis (`(z,) y, x`).
    ///   - stride: Stride per spatial axis; greater than 1 in the first block of a downsampling stage.
    ///   - generator: Random source for the weight initialisation.
    public init(inputChannels: Int, outputChannels: Int, kernelSize: [Int], stride: [Int],
                generator: inout SeededGenerator) {
        conv = Conv(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernelSize,
                    stride: stride, padding: kernelSize.map { $0 == 3 ? 1 : 0 }, bias: true, generator: &generator)
        norm = InstanceNorm(channels: outputChannels)
        super.init()
        register("conv", conv)
        register("instnorm", norm)
    }

    /// `leakyReLU(norm(conv(x)), 0.01)`, with normalisation and activation fused (one activation less kept for
    /// backward; same values and gradients).
    override public func forward(_ x: Tensor) -> Tensor {
        normalized(conv(x))
    }

    /// The same block on the channel concatenation of `parts` (see ``conv(concatenating:weight:bias:stride:padding:threads:)``).
    public func forward(concatenating parts: [Tensor]) -> Tensor {
        normalized(NNUNetCore.conv(concatenating: parts, weight: conv.weight, bias: conv.bias, stride: conv.stride,
                                   padding: conv.padding))
    }

    /// Slope of the leaky ReLU for negative inputs (v1: 0.01).
    static let negativeSlope: Float = 0.01

    /// Norm + leaky ReLU of this block's fresh convolution output. Without a tape the output is normalised in place
    /// (identical values; one volume instead of two during inference).
    func normalized(_ convolved: Tensor) -> Tensor {
        if !Tensor.needsGradient(convolved, norm.weight, norm.bias) {
            let channels = convolved.shape[1]
            Kernels.instanceNormLeakyReLUInPlace(&convolved.data, planes: convolved.shape[0] * channels,
                                                 channels: channels, spatial: convolved.shape[2...].reduce(1, *),
                                                 gamma: norm.weight.data, beta: norm.bias.data,
                                                 epsilon: norm.epsilon, negativeSlope: Self.negativeSlope)
            return convolved
        }
        return instanceNormLeakyReLU(convolved, weight: norm.weight, bias: norm.bias, epsilon: norm.epsilon,
                                     negativeSlope: Self.negativeSlope)
    }
}

/// nnU-Net's `StackedConvLayers`: its blocks live under `blocks.0`, `blocks.1`, ...
public final class StackedConvs: Module {
    private let blocks: Sequential

    /// Creates the stack; the blocks are applied in order and registered as `blocks.0`, `blocks.1`, ...
    public init(_ blocks: [ConvNormReLU]) {
        self.blocks = Sequential(blocks)
        super.init()
        register("blocks", self.blocks)
    }

    override public func forward(_ x: Tensor) -> Tensor { blocks(x) }

    /// The blocks in application order.
    public var layers: [Module] { blocks.layers }
}

/// A named list of modules without a forward pass of its own (PyTorch `nn.ModuleList`): children `0`, `1`, ...
public final class ModuleList: Module {
    /// Registers each module under its index.
    public init(_ modules: [Module]) {
        super.init()
        for (index, module) in modules.enumerated() { register(String(index), module) }
    }
}
