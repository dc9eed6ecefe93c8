/// nnU-Net v2's default network: `PlainConvUNet` of dynamic_network_architectures, 2D or 3D, as nnU-Net v2 builds it
/// from a plans file's `architecture.arch_kwargs` (inference: no deep supervision, dropout inactive).
///
/// Port of the behaviour of dynamic_network_architectures `architectures/unet.py` `PlainConvUNet`, with
/// `building_blocks/plain_conv_encoder.py` `PlainConvEncoder` (pooling by strided convolution) and
/// `building_blocks/unet_decoder.py` `UNetDecoder`. Differences from v1's ``GenericUNet``:
/// - encoder stage s is `n_conv_per_stage[s]` blocks whose *first* convolution carries `strides[s]` (stage 0 usually
///   stride 1); the last stage is the bottleneck;
/// - decoder stage u upsamples with a transposed convolution (kernel = stride = `strides[-(u+1)]`, bias =
///   `conv_bias`), concatenates [upsampled, skip] and runs `n_conv_per_stage_decoder[u]` blocks with the kernel of the
///   encoder stage *at the skip's resolution* (`kernel_sizes[-(u+2)]`);
/// - the 1×1 segmentation heads have a bias; at inference only the last (full-resolution) one runs;
/// - blocks are conv → norm → nonlinearity (`nonlin_first = False`) with padding `(k - 1) / 2`, the norm's
///   `eps`/`affine` and the leaky ReLU's `negative_slope` taken from the plans.
///
/// Parameter names are v2's `state_dict()` names: `encoder.stages.S.0.convs.I.conv.weight`,
/// `encoder.stages.S.0.convs.I.norm.weight`, `decoder.stages.U.convs.I.conv.bias`, `decoder.transpconvs.U.weight`,
/// `decoder.seg_layers.U.weight`, ... (v2's checkpoints also hold duplicates under `decoder.encoder.` and
/// `.all_modules.`, which name the same tensors and are not needed).
///
/// Layout: input `[N, C, (D,) H, W]`, output logits `[N, K, (D,) H, W]` (K = segmentation heads).
public final class PlainConvUNet: Module {
    /// The hyperparameters of a `PlainConvUNet` (v2's `arch_kwargs` plus the channel counts).
    public struct Configuration: Sendable, Equatable {
        /// Input channels (modalities; plus the one-hot previous stage in a cascade).
        public var inputChannels: Int
        /// Output channels: labels including background, or regions (v2's `num_segmentation_heads`).
        public var classCount: Int
        /// Features per resolution stage (`features_per_stage`, n_stages entries).
        public var featuresPerStage: [Int]
        /// Convolution kernel per stage (`kernel_sizes`), each with 2 (2D) or 3 (3D) entries.
        public var kernelSizes: [[Int]]
        /// Stride of each stage's first convolution (`strides`; stage 0 is usually all ones).
        public var strides: [[Int]]
        /// Blocks per encoder stage (`n_conv_per_stage`).
        public var convolutionsPerStage: [Int]
        /// Blocks per decoder stage (`n_conv_per_stage_decoder`, n_stages − 1 entries, lowest resolution first).
        public var convolutionsPerDecoderStage: [Int]
        /// Whether the convolutions and transposed convolutions have a bias (`conv_bias`).
        public var convolutionBias: Bool
        /// The instance norm's epsilon (`norm_op_kwargs.eps`, torch default 1e-5).
        public var normEpsilon: Float
        /// Whether the instance norm has γ and β (`norm_op_kwargs.affine`; torch's InstanceNorm default is false).
        public var normAffine: Bool
        /// Slope of the nonlinearity for negative inputs: `LeakyReLU`'s `negative_slope` (default 0.01), 0 for `ReLU`.
        public var negativeSlope: Float

        /// Creates a configuration; see the properties for the meaning and v2's name of each argument.
        public init(inputChannels: Int, classCount: Int, featuresPerStage: [Int], kernelSizes: [[Int]],
                    strides: [[Int]], convolutionsPerStage: [Int], convolutionsPerDecoderStage: [Int],
                    convolutionBias: Bool = true, normEpsilon: Float = 1e-5, normAffine: Bool = true,
                    negativeSlope: Float = 0.01) {
            self.inputChannels = inputChannels
            self.classCount = classCount
            self.featuresPerStage = featuresPerStage
            self.kernelSizes = kernelSizes
            self.strides = strides
            self.convolutionsPerStage = convolutionsPerStage
            self.convolutionsPerDecoderStage = convolutionsPerDecoderStage
            self.convolutionBias = convolutionBias
            self.normEpsilon = normEpsilon
            self.normAffine = normAffine
            self.negativeSlope = negativeSlope
        }

        /// Number of resolution stages (`n_stages`).
        public var stageCount: Int { featuresPerStage.count }

        /// 2 or 3: the rank of the kernels.
        public var spatialRank: Int { kernelSizes.first?.count ?? 0 }

        /// What is inconsistent about the configuration, naming v2's argument, or nil when it can be built.
        public var problem: String? {
            let n = stageCount
            if n < 2 { return "features_per_stage has \(n) entries; a U-Net needs at least 2 stages" }
            if inputChannels < 1 || classCount < 1 {
                return "\(inputChannels) input channels and \(classCount) outputs; both must be at least 1"
            }
            if featuresPerStage.contains(where: { $0 < 1 }) {
                return "features_per_stage \(featuresPerStage) must be positive"
            }
            for (name, count) in [("kernel_sizes", kernelSizes.count), ("strides", strides.count),
                                  ("n_conv_per_stage", convolutionsPerStage.count)] where count != n {
                return "\(name) has \(count) entries for \(n) stages"
            }
            if convolutionsPerDecoderStage.count != n - 1 {
                return "n_conv_per_stage_decoder has \(convolutionsPerDecoderStage.count) entries; \(n) stages need "
                    + "\(n - 1)"
            }
            let rank = spatialRank
            if rank != 2 && rank != 3 { return "kernel_sizes[0] \(kernelSizes[0]) must have 2 or 3 entries" }
            for (index, kernel) in kernelSizes.enumerated()
                where kernel.count != rank || kernel.contains(where: { $0 < 1 || $0 % 2 == 0 }) {
                return "kernel_sizes[\(index)] \(kernel) must have \(rank) odd positive entries"
            }
            for (index, stride) in strides.enumerated()
                where stride.count != rank || stride.contains(where: { $0 < 1 }) {
                return "strides[\(index)] \(stride) must have \(rank) positive entries"
            }
            if (convolutionsPerStage + convolutionsPerDecoderStage).contains(where: { $0 < 1 }) {
                return "n_conv_per_stage \(convolutionsPerStage) and n_conv_per_stage_decoder "
                    + "\(convolutionsPerDecoderStage) must be at least 1"
            }
            return nil
        }

        /// The product of the strides per axis: patch sizes must be multiples of it.
        public var totalStride: [Int] {
            (0..<spatialRank).map { axis in strides.reduce(1) { $0 * $1[axis] } }
        }

        /// The encoder's blocks, stage by stage: `convolutionsPerStage[s]` blocks of `featuresPerStage[s]` outputs
        /// each, the first taking the previous stage's features (`firstInput` for stage 0) with `strides[s]`.
        func encoderStages<Block>(firstInput: Int, _ make: (_ input: Int, _ output: Int, _ kernel: [Int],
                                                            _ stride: [Int]) -> Block) -> [[Block]] {
            let ones = [Int](repeating: 1, count: spatialRank)
            var channels = firstInput
            return (0..<stageCount).map { s in
                defer { channels = featuresPerStage[s] }
                return (0..<convolutionsPerStage[s]).map { i in
                    make(i == 0 ? channels : featuresPerStage[s], featuresPerStage[s], kernelSizes[s],
                         i == 0 ? strides[s] : ones)
                }
            }
        }
    }

    /// The configuration the network was built from.
    public let configuration: Configuration

    let encoderStages: [[ConvNormNonlin]]
    let decoder: DynamicUNetDecoder

    /// Builds the network with freshly initialised weights (Kaiming normal, a = 0.01, as v2's `InitWeights_He`; zero
    /// biases; norms γ = 1, β = 0); load trained weights by ``Module/namedParameters()``.
    ///
    /// - Precondition: `configuration.problem` is nil.
    public init(configuration: Configuration, generator: inout SeededGenerator) {
        if let problem = configuration.problem { preconditionFailure("PlainConvUNet: \(problem)") }
        self.configuration = configuration
        let c = configuration
        let encoder = c.encoderStages(firstInput: c.inputChannels) { input, output, kernel, stride in
            ConvNormNonlin(inputChannels: input, outputChannels: output, kernelSize: kernel, stride: stride,
                           bias: c.convolutionBias, epsilon: c.normEpsilon, affine: c.normAffine,
                           negativeSlope: c.negativeSlope, generator: &generator)
        }
        encoderStages = encoder
        decoder = DynamicUNetDecoder(c, generator: &generator)
        super.init()
        // state_dict order: encoder.stages.S.0.convs.I..., decoder.stages, decoder.transpconvs, decoder.seg_layers.
        let encoderModule = NamedModules([
            ("stages", ModuleList(encoder.map { NamedModules([("0", NamedModules([("convs", ModuleList($0))]))]) })),
        ])
        register("encoder", encoderModule)
        register("decoder", decoder)
    }

    /// The full-resolution logits `[N, K, (D,) H, W]` (v2's forward with `deep_supervision = False`).
    ///
    /// The decoder's concatenation [upsampled, skip] is never materialised
    /// (``conv(concatenating:weight:bias:stride:padding:threads:)``), and each map is released once nothing needs it.
    override public func forward(_ x: Tensor) -> Tensor {
        var skips: [Tensor] = []
        var h = x
        for stage in encoderStages {
            for block in stage { h = block(h) }
            skips.append(h)
        }
        return decoder.decode(skips: &skips)
    }
}

/// dynamic_network_architectures' `UNetDecoder` at inference (shared by ``PlainConvUNet`` and
/// ``ResidualEncoderUNet``): decoder stage u upsamples with a transposed convolution (kernel = stride =
/// `strides[-(u+1)]`, bias = `conv_bias`), runs `n_conv_per_stage_decoder[u]` conv → norm → nonlinearity blocks on
/// [upsampled, skip] with the kernel of the encoder stage at the skip's resolution, and only the last 1×1
/// segmentation head (with bias) runs. Registered children: `stages`, `transpconvs`, `seg_layers`.
final class DynamicUNetDecoder: Module {
    let stages: [[ConvNormNonlin]]
    let transposedConvolutions: [ConvTranspose]
    let segmentationHeads: [Conv]

    /// The decoder of a U-Net of configuration `c` (its `convolutionsPerDecoderStage`, features, kernels, strides,
    /// bias, norm and nonlinearity).
    init(_ c: PlainConvUNet.Configuration, generator: inout SeededGenerator) {
        let features = c.featuresPerStage, kernelSizes = c.kernelSizes, strides = c.strides
        let convolutionsPerStage = c.convolutionsPerDecoderStage, classCount = c.classCount
        let bias = c.convolutionBias, epsilon = c.normEpsilon, affine = c.normAffine, negativeSlope = c.negativeSlope
        let n = features.count
        let ones = [Int](repeating: 1, count: kernelSizes[0].count)
        var decoder: [[ConvNormNonlin]] = [], upsampling: [ConvTranspose] = [], heads: [Conv] = []
        for s in 1..<n {
            let below = features[n - s], skip = features[n - s - 1], stride = strides[n - s]
            upsampling.append(ConvTranspose(inputChannels: below, outputChannels: skip, kernelSize: stride,
                                            stride: stride, bias: bias, generator: &generator))
            decoder.append((0..<convolutionsPerStage[s - 1]).map { i in
                ConvNormNonlin(inputChannels: i == 0 ? 2 * skip : skip, outputChannels: skip,
                               kernelSize: kernelSizes[n - s - 1], stride: ones, bias: bias, epsilon: epsilon,
                               affine: affine, negativeSlope: negativeSlope, generator: &generator)
            })
            heads.append(Conv(inputChannels: skip, outputChannels: classCount, kernelSize: ones, bias: true,
                              generator: &generator))
        }
        stages = decoder
        transposedConvolutions = upsampling
        segmentationHeads = heads
        super.init()
        register("stages", ModuleList(decoder.map { NamedModules([("convs", ModuleList($0))]) }))
        register("transpconvs", ModuleList(upsampling))
        register("seg_layers", ModuleList(heads))
    }

    /// The full-resolution logits from the encoder's stage outputs (highest resolution first); `skips` is emptied
    /// as the maps are used, so each is released once nothing needs it.
    func decode(skips: inout [Tensor]) -> Tensor {
        var below: Tensor? = skips.removeLast()
        for (u, stage) in stages.enumerated() {
            guard let lower = below else { break }
            let upsampled = transposedConvolutions[u](lower)
            below = nil
            var output = stage[0].forward(concatenating: [upsampled, skips.removeLast()])
            for block in stage.dropFirst() { output = block(output) }
            below = output
        }
        guard let last = below, let head = segmentationHeads.last else { preconditionFailure("empty decoder") }
        return head(last)
    }

    override func forward(_ x: Tensor) -> Tensor {
        preconditionFailure("DynamicUNetDecoder runs through decode(skips:)")
    }
}

/// dynamic_network_architectures' `ConvDropoutNormReLU` at inference: convolution (padding `(k - 1) / 2`) →
/// instance norm → leaky ReLU, registered as `conv` and `norm` (dropout, when the plans have it, is the identity in
/// evaluation mode and has no parameters).
public final class ConvNormNonlin: Module {
    /// The convolution, registered as `conv`.
    public let conv: Conv
    /// The instance norm's γ (registered as `norm.weight` when affine), or nil.
    public let normWeight: Tensor?
    /// The instance norm's β (registered as `norm.bias` when affine), or nil.
    public let normBias: Tensor?
    /// The instance norm's epsilon.
    public let epsilon: Float
    /// The nonlinearity's slope for negative inputs (0.01 for `LeakyReLU`, 0 for `ReLU`).
    public let negativeSlope: Float

    /// Creates the block with Kaiming-normal convolution weights, zero bias, γ = 1 and β = 0.
    ///
    /// - Parameters:
    ///   - inputChannels: channels of the input.
    ///   - outputChannels: channels of the output.
    ///   - kernelSize: kernel per spatial axis (odd sizes); the padding is `(k - 1) / 2`.
    ///   - stride: stride per spatial axis.
    ///   - bias: whether the convolution has a bias (`conv_bias`).
    ///   - epsilon: the norm's epsilon.
    ///   - affine: whether the norm has γ and β.
    ///   - negativeSlope: the leaky ReLU's slope.
    ///   - generator: random source for the initial weights.
    public init(inputChannels: Int, outputChannels: Int, kernelSize: [Int], stride: [Int], bias: Bool,
                epsilon: Float, affine: Bool, negativeSlope: Float, generator: inout SeededGenerator) {
        conv = Conv(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernelSize,
                    stride: stride, padding: kernelSize.map { ($0 - 1) / 2 }, bias: bias, generator: &generator)
        self.epsilon = epsilon
        self.negativeSlope = negativeSlope
        normWeight = affine ? Tensor(repeating: 1, shape: [outputChannels]) : nil
        normBias = affine ? Tensor.zeros([outputChannels]) : nil
        super.init()
        register("conv", conv)
        if let normWeight, let normBias {
            let norm = NamedModules([])
            norm.register(parameter: "weight", normWeight)
            norm.register(parameter: "bias", normBias)
            register("norm", norm)
        }
    }

    override public func forward(_ x: Tensor) -> Tensor { normalized(conv(x)) }

    /// The block on the channel concatenation of `parts`, which is never materialised.
    public func forward(concatenating parts: [Tensor]) -> Tensor {
        normalized(NNUNetCore.conv(concatenating: parts, weight: conv.weight, bias: conv.bias, stride: conv.stride,
                                   padding: conv.padding))
    }

    /// Norm and nonlinearity of a fresh convolution output; in place when no gradient is recorded.
    func normalized(_ convolved: Tensor) -> Tensor {
        let channels = convolved.shape[1]
        let gamma = normWeight ?? Tensor(repeating: 1, shape: [channels])
        let beta = normBias ?? Tensor.zeros([channels])
        if !Tensor.needsGradient(convolved, gamma, beta) {
            Kernels.instanceNormLeakyReLUInPlace(&convolved.data, planes: convolved.shape[0] * channels,
                                                 channels: channels, spatial: convolved.shape[2...].reduce(1, *),
                                                 gamma: gamma.data, beta: beta.data, epsilon: epsilon,
                                                 negativeSlope: negativeSlope)
            return convolved
        }
        return instanceNormLeakyReLU(convolved, weight: gamma, bias: beta, epsilon: epsilon,
                                     negativeSlope: negativeSlope)
    }
}

/// A module whose only content is named children (PyTorch's plain `nn.Module` containers and `nn.Sequential` used as
/// a namespace), in the given order.
final class NamedModules: Module {
    init(_ children: [(String, Module)]) {
        super.init()
        for (name, module) in children { register(name, module) }
    }
}
