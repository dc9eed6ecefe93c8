/// nnU-Net v2's residual-encoder network: `ResidualEncoderUNet` of dynamic_network_architectures, 2D or 3D, as the
/// ResEnc planners (`nnUNetPlannerResEncM/L/XL`) describe it in `architecture.arch_kwargs` (inference: no deep
/// supervision, dropout inactive).
///
/// Port of the behaviour of dynamic_network_architectures `architectures/unet.py` `ResidualEncoderUNet` with
/// `building_blocks/residual_encoders.py` `ResidualEncoder` and `building_blocks/residual.py` `BasicBlockD`
/// (ResNet-D basic blocks, the only block the planners use):
/// - a stem of one conv → norm → nonlinearity block (`features_per_stage[0]` channels, `kernel_sizes[0]`, stride 1);
/// - encoder stage s is `n_blocks_per_stage[s]` residual blocks; the first carries `strides[s]`. A block computes
///   conv → norm → nonlinearity → conv → norm, adds the skip path and applies the nonlinearity. The skip path is the
///   input itself, or, when the block strides or changes the channel count, an average pooling (kernel = stride) and
///   a 1×1 convolution without bias → norm;
/// - the decoder is the same `UNetDecoder` as ``PlainConvUNet``'s.
///
/// Parameter names are v2's `state_dict()` names: `encoder.stem.convs.0.conv.weight`,
/// `encoder.stages.S.blocks.B.conv1.conv.weight`, `encoder.stages.S.blocks.B.conv2.norm.bias`,
/// `encoder.stages.S.blocks.0.skip.1.conv.weight` (index 0 when the block does not stride), `decoder.stages.U...`,
/// `decoder.transpconvs.U.weight`, `decoder.seg_layers.U.weight`.
///
/// Layout: input `[N, C, (D,) H, W]`, output logits `[N, K, (D,) H, W]` (K = segmentation heads). Spatial sizes must
/// be multiples of ``PlainConvUNet/Configuration/totalStride`` (the sliding window's patch sizes are).
public final class ResidualEncoderUNet: Module {
    /// The hyperparameters of a `ResidualEncoderUNet` (v2's `arch_kwargs` plus the channel counts): those of a
    /// ``PlainConvUNet/Configuration`` (readable here by name, e.g. `configuration.featuresPerStage`), with
    /// residual blocks per encoder stage (`n_blocks_per_stage`) in place of convolutions per stage. The stem has
    /// `featuresPerStage[0]` channels; the skip projections never have a bias, whatever `convolutionBias` says.
    @dynamicMemberLookup
    public struct Configuration: Sendable, Equatable {
        /// The U-Net's shape, with `convolutionsPerStage` holding the residual blocks per encoder stage.
        public var unet: PlainConvUNet.Configuration

        /// Creates a configuration; the arguments are v2's `arch_kwargs` (see ``PlainConvUNet/Configuration``), with
        /// `blocksPerStage` = `n_blocks_per_stage`.
        public init(inputChannels: Int, classCount: Int, featuresPerStage: [Int], kernelSizes: [[Int]],
                    strides: [[Int]], blocksPerStage: [Int], convolutionsPerDecoderStage: [Int],
                    convolutionBias: Bool = true, normEpsilon: Float = 1e-5, normAffine: Bool = true,
                    negativeSlope: Float = 0.01) {
            unet = PlainConvUNet.Configuration(
                inputChannels: inputChannels, classCount: classCount, featuresPerStage: featuresPerStage,
                kernelSizes: kernelSizes, strides: strides, convolutionsPerStage: blocksPerStage,
                convolutionsPerDecoderStage: convolutionsPerDecoderStage, convolutionBias: convolutionBias,
                normEpsilon: normEpsilon, normAffine: normAffine, negativeSlope: negativeSlope)
        }

        /// A value of the U-Net's shape (``PlainConvUNet/Configuration``) by name.
        public subscript<T>(dynamicMember keyPath: KeyPath<PlainConvUNet.Configuration, T>) -> T {
            unet[keyPath: keyPath]
        }

        /// Residual blocks per encoder stage (`n_blocks_per_stage`).
        public var blocksPerStage: [Int] { unet.convolutionsPerStage }

        /// What is inconsistent about the configuration, naming v2's argument, or nil when it can be built.
        public var problem: String? {
            unet.problem.map { $0.replacingOccurrences(of: "n_conv_per_stage \(blocksPerStage)",
                                                        with: "n_blocks_per_stage \(blocksPerStage)")
                .replacingOccurrences(of: "n_conv_per_stage has", with: "n_blocks_per_stage has") }
        }
    }

    /// The configuration the network was built from.
    public let configuration: Configuration

    let stem: ConvNormNonlin
    let encoderStages: [[ResidualBlock]]
    let decoder: DynamicUNetDecoder

    /// Builds the network with freshly initialised weights (Kaiming normal, a = 0.01; zero biases; norms γ = 1,
    /// β = 0); load trained weights by ``Module/namedParameters()``.
    ///
    /// - Precondition: `configuration.problem` is nil.
    public init(configuration: Configuration, generator: inout SeededGenerator) {
        if let problem = configuration.problem { preconditionFailure("ResidualEncoderUNet: \(problem)") }
        self.configuration = configuration
        let c = configuration.unet
        let ones = [Int](repeating: 1, count: c.spatialRank)
        stem = ConvNormNonlin(inputChannels: c.inputChannels, outputChannels: c.featuresPerStage[0],
                              kernelSize: c.kernelSizes[0], stride: ones, bias: c.convolutionBias,
                              epsilon: c.normEpsilon, affine: c.normAffine, negativeSlope: c.negativeSlope,
                              generator: &generator)
        let encoder = c.encoderStages(firstInput: c.featuresPerStage[0]) { input, output, kernel, stride in
            ResidualBlock(inputChannels: input, outputChannels: output, kernelSize: kernel, stride: stride,
                          bias: c.convolutionBias, epsilon: c.normEpsilon, affine: c.normAffine,
                          negativeSlope: c.negativeSlope, generator: &generator)
        }
        encoderStages = encoder
        decoder = DynamicUNetDecoder(c, generator: &generator)
        super.init()
        // state_dict order: encoder.stem, encoder.stages.S.blocks.B..., then the decoder.
        let encoderModule = NamedModules([
            ("stem", NamedModules([("convs", ModuleList([stem]))])),
            ("stages", ModuleList(encoder.map { NamedModules([("blocks", ModuleList($0))]) })),
        ])
        register("encoder", encoderModule)
        register("decoder", decoder)
    }

    /// The full-resolution logits `[N, K, (D,) H, W]` (v2's forward with `deep_supervision = False`).
    override public func forward(_ x: Tensor) -> Tensor {
        var skips: [Tensor] = []
        var h = stem(x)
        for stage in encoderStages {
            for block in stage { h = block(h) }
            skips.append(h)
        }
        return decoder.decode(skips: &skips)
    }
}

/// dynamic_network_architectures' `BasicBlockD` at inference: `conv1` (conv → norm → nonlinearity, with the stride),
/// `conv2` (conv → norm), plus the skip path, then the nonlinearity. The skip path is the identity, or
/// `skip.0` = average pooling (kernel = stride, when the block strides) followed by a 1×1 convolution without bias →
/// norm (`skip.1`, or `skip.0` without pooling) when the channel count changes.
public final class ResidualBlock: Module {
    /// The first conv → norm → nonlinearity block (registered as `conv1`).
    public let conv1: ConvNormNonlin
    /// The second conv → norm block, without nonlinearity (registered as `conv2`).
    public let conv2: ConvNormNonlin
    /// The 1×1 projection of the skip path (conv → norm) when the channel count changes, or nil.
    public let projection: ConvNormNonlin?
    /// The stride of the block (the skip path's average-pooling window when not all ones).
    public let stride: [Int]
    /// The nonlinearity's slope for negative inputs after the sum.
    public let negativeSlope: Float

    /// Creates the block; the arguments are those of ``ConvNormNonlin`` (the stride applies to `conv1` and the skip
    /// path).
    public init(inputChannels: Int, outputChannels: Int, kernelSize: [Int], stride: [Int], bias: Bool,
                epsilon: Float, affine: Bool, negativeSlope: Float, generator: inout SeededGenerator) {
        let ones = [Int](repeating: 1, count: kernelSize.count)
        conv1 = ConvNormNonlin(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernelSize,
                               stride: stride, bias: bias, epsilon: epsilon, affine: affine,
                               negativeSlope: negativeSlope, generator: &generator)
        // A slope of 1 makes the block's nonlinearity the identity: conv2 and the projection have none.
        conv2 = ConvNormNonlin(inputChannels: outputChannels, outputChannels: outputChannels, kernelSize: kernelSize,
                               stride: ones, bias: bias, epsilon: epsilon, affine: affine, negativeSlope: 1,
                               generator: &generator)
        projection = inputChannels == outputChannels ? nil
            : ConvNormNonlin(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: ones,
                             stride: ones, bias: false, epsilon: epsilon, affine: affine, negativeSlope: 1,
                             generator: &generator)
        self.stride = stride
        self.negativeSlope = negativeSlope
        super.init()
        register("conv1", conv1)
        register("conv2", conv2)
        if let projection {
            // Index 0 holds the (parameterless) pooling when the block strides.
            let hasStride = stride.contains { $0 != 1 }
            register("skip", NamedModules([(hasStride ? "1" : "0", projection)]))
        }
    }

    override public func forward(_ x: Tensor) -> Tensor {
        var residual = x
        if stride.contains(where: { $0 != 1 }) { residual = residual.averagePooled(window: stride) }
        if let projection { residual = projection(residual) }
        let output = conv2(conv1(x))
        precondition(output.shape == residual.shape, "ResidualBlock: the convolution path gives \(output.shape), the "
                     + "skip path \(residual.shape); spatial sizes must be multiples of the stride \(stride)")
        if !Tensor.needsGradient(output, residual) {
            // Inference: add and rectify in place (the convolution output is this block's own).
            output.data.withUnsafeMutableBufferPointer { out in
                residual.data.withUnsafeBufferPointer { skip in
                    for i in 0..<out.count { out[i] += skip[i] }
                }
            }
            if negativeSlope != 1 { Kernels.leakyReLUInPlace(&output.data, negativeSlope: negativeSlope) }
            return output
        }
        let sum = output + residual
        return negativeSlope == 1 ? sum : leakyReLU(sum, negativeSlope: negativeSlope)
    }
}
