import Foundation
import NNUNetCore
import NNUNetEvaluation

extension V2Architecture {
    /// The network classes this port builds (the last component of `network_class_name`).
    public static let supportedNetworkClasses: Set<String> = ["PlainConvUNet", "ResidualEncoderUNet"]

    /// The last component of `network_class_name` (`PlainConvUNet`, `ResidualEncoderUNet`, ...).
    public var networkClass: String {
        networkClassName.split(separator: ".").last.map(String.init) ?? networkClassName
    }

    /// The network of `arch_kwargs` with freshly initialised weights, as v2's `get_network_from_plans` builds it for
    /// inference (`deep_supervision` off): a `PlainConvUNet` or a `ResidualEncoderUNet`.
    ///
    /// - Throws: ``TrainingError/unusableModel(_:)`` naming the plans file and the field: an unsupported
    ///   `network_class_name` (it is named), a missing or malformed argument, an unsupported operation.
    public func makeNetwork(inputChannels: Int, classCount: Int) throws -> Module {
        var generator = SeededGenerator(seed: 0)
        switch networkClass {
        case "ResidualEncoderUNet":
            return ResidualEncoderUNet(configuration: try residualEncoderUNetConfiguration(
                inputChannels: inputChannels, classCount: classCount), generator: &generator)
        default:
            return PlainConvUNet(configuration: try plainConvUNetConfiguration(
                inputChannels: inputChannels, classCount: classCount), generator: &generator)
        }
    }

    /// What `PlainConvUNet` and `ResidualEncoderUNet` read alike from `arch_kwargs`.
    private struct CommonArguments {
        var features: [Int], kernels: [[Int]], strides: [[Int]], decoderConvolutions: [Int]
        var bias: Bool, epsilon: Double, affine: Bool, slope: Float, stages: Int
    }

    private func unsupportedClass() -> Error {
        classNameField.failure("is '\(networkClassName)'; this port builds dynamic_network_architectures' "
                               + Self.supportedNetworkClasses.sorted().joined(separator: " and ")
                               + " (nnU-Net v2's default and ResEnc planners), not other networks")
    }

    /// An int (repeated) or a list of `count` ints.
    private func perStage(_ name: String, count: Int) throws -> [Int] {
        let field = argument(name)
        if case .array = field.value {
            let values = try field.ints()
            guard values.count == count else {
                throw field.failure("has \(values.count) entries; \(count) are needed")
            }
            return values
        }
        return [Int](repeating: try field.int(), count: count)
    }

    /// Reads the arguments both networks share; `className` must be `expected`.
    private func commonArguments(expected: String) throws -> CommonArguments {
        guard networkClass == expected else { throw unsupportedClass() }
        let convolution = try argument("conv_op").string()
        let rank: Int
        switch convolution.split(separator: ".").last.map(String.init) ?? convolution {
        case "Conv3d": rank = 3
        case "Conv2d": rank = 2
        default: throw argument("conv_op").failure("is '\(convolution)'; Conv2d or Conv3d is needed")
        }
        let stages = try argument("n_stages").int()
        guard stages >= 2 else { throw argument("n_stages").failure("is \(stages); at least 2 are needed") }

        /// An int, a list of ints (one per stage, each repeated over the axes) or a list of per-axis lists.
        func perStageAndAxis(_ name: String) throws -> [[Int]] {
            let field = argument(name)
            guard case .array = field.value else {
                return [[Int]](repeating: [Int](repeating: try field.int(), count: rank), count: stages)
            }
            let entries = try field.elements()
            guard entries.count == stages else {
                throw field.failure("has \(entries.count) entries for \(stages) stages")
            }
            return try entries.map { entry in
                if case .array = entry.value {
                    let values = try entry.ints()
                    guard values.count == rank else {
                        throw entry.failure("is \(values); \(rank) entries are needed for \(convolution)")
                    }
                    return values
                }
                return [Int](repeating: try entry.int(), count: rank)
            }
        }
        let features = try perStage("features_per_stage", count: stages)
        let kernels = try perStageAndAxis("kernel_sizes")
        let strides = try perStageAndAxis("strides")
        let decoderConvolutions = try perStage("n_conv_per_stage_decoder", count: stages - 1)
        let bias = try argument("conv_bias").optional { try $0.bool() } ?? false
        if try argument("nonlin_first").optional({ try $0.bool() }) == true {
            throw argument("nonlin_first").failure("is true; only conv → norm → nonlinearity blocks are supported")
        }

        guard let norm = try argument("norm_op").optional({ try $0.string() }) else {
            throw argument("norm_op").failure("is null; networks without normalisation are not supported")
        }
        guard (norm.split(separator: ".").last.map(String.init) ?? norm).hasPrefix("InstanceNorm") else {
            throw argument("norm_op").failure("is '\(norm)'; only InstanceNorm2d/InstanceNorm3d are supported")
        }
        let normArguments = argument("norm_op_kwargs")
        let epsilon = try normArguments["eps"].optional { try $0.double() } ?? 1e-5
        let affine = try normArguments["affine"].optional { try $0.bool() } ?? false
        if try normArguments["track_running_stats"].optional({ try $0.bool() }) == true {
            throw normArguments["track_running_stats"].failure("is true; instance norms with running statistics are "
                                                               + "not supported")
        }

        let slope: Float
        if let nonlinearity = try argument("nonlin").optional({ try $0.string() }) {
            switch nonlinearity.split(separator: ".").last.map(String.init) ?? nonlinearity {
            case "LeakyReLU":
                slope = Float(try argument("nonlin_kwargs")["negative_slope"].optional { try $0.double() } ?? 0.01)
            case "ReLU":
                slope = 0
            default:
                throw argument("nonlin").failure("is '\(nonlinearity)'; LeakyReLU or ReLU is needed")
            }
        } else {
            slope = 1  // no nonlinearity: a leaky ReLU of slope 1 is the identity
        }
        return CommonArguments(features: features, kernels: kernels, strides: strides,
                               decoderConvolutions: decoderConvolutions, bias: bias, epsilon: epsilon,
                               affine: affine, slope: slope, stages: stages)
    }

    /// The `PlainConvUNet` configuration (NNUNetCore) of `arch_kwargs`, as v2's `get_network_from_plans` builds the
    /// network for inference (`deep_supervision` off).
    ///
    /// `conv_op` sets 2D or 3D (`Conv2d`/`Conv3d`); `norm_op` must be an instance norm (its `eps`, default 1e-5, and
    /// `affine`, default false, are read; running statistics are refused); `nonlin` is `LeakyReLU` (`negative_slope`,
    /// default 0.01), `ReLU`, or null; a `dropout_op` is accepted (it is the identity when predicting). Integer
    /// `kernel_sizes`, `strides`, `features_per_stage`, `n_conv_per_stage(_decoder)` are expanded as
    /// dynamic_network_architectures does.
    ///
    /// - Throws: ``TrainingError/unusableModel(_:)`` naming the plans file and the field: another
    ///   `network_class_name` (it is named), a missing or malformed argument, an unsupported operation.
    public func plainConvUNetConfiguration(inputChannels: Int, classCount: Int) throws -> PlainConvUNet.Configuration {
        let common = try commonArguments(expected: "PlainConvUNet")
        let configuration = PlainConvUNet.Configuration(
            inputChannels: inputChannels, classCount: classCount, featuresPerStage: common.features,
            kernelSizes: common.kernels, strides: common.strides,
            convolutionsPerStage: try perStage("n_conv_per_stage", count: common.stages),
            convolutionsPerDecoderStage: common.decoderConvolutions, convolutionBias: common.bias,
            normEpsilon: Float(common.epsilon), normAffine: common.affine, negativeSlope: common.slope)
        if let problem = configuration.problem {
            throw V2JSONField(arguments, path: path + ".arch_kwargs", file: file).failure("describes no valid "
                                                                                          + "PlainConvUNet: \(problem)")
        }
        return configuration
    }

    /// The `ResidualEncoderUNet` configuration (NNUNetCore) of `arch_kwargs` (the ResEnc M/L/XL planners'
    /// networks), read as ``plainConvUNetConfiguration(inputChannels:classCount:)`` reads its arguments, with
    /// `n_blocks_per_stage` in place of `n_conv_per_stage`.
    ///
    /// Only the planners' basic residual blocks are built: a `block` other than `BasicBlockD`,
    /// `bottleneck_channels`, a `stem_channels` other than `features_per_stage[0]`, stochastic depth and
    /// squeeze-excitation are refused, naming the argument.
    ///
    /// - Throws: ``TrainingError/unusableModel(_:)`` naming the plans file and the field.
    public func residualEncoderUNetConfiguration(inputChannels: Int, classCount: Int) throws
        -> ResidualEncoderUNet.Configuration {
        let common = try commonArguments(expected: "ResidualEncoderUNet")
        if let block = try argument("block").optional({ try $0.string() }),
           (block.split(separator: ".").last.map(String.init) ?? block) != "BasicBlockD" {
            throw argument("block").failure("is '\(block)'; only BasicBlockD residual blocks are supported")
        }
        if argument("bottleneck_channels").isPresent {
            throw argument("bottleneck_channels").failure("is set; bottleneck blocks are not supported")
        }
        if let stem = try argument("stem_channels").optional({ try $0.int() }), stem != common.features[0] {
            throw argument("stem_channels").failure("is \(stem); only a stem of features_per_stage[0] = "
                                                    + "\(common.features[0]) channels is supported")
        }
        if let depth = try argument("stochastic_depth_p").optional({ try $0.double() }), depth != 0 {
            throw argument("stochastic_depth_p").failure("is \(depth); stochastic depth is not supported")
        }
        if try argument("squeeze_excitation").optional({ try $0.bool() }) == true {
            throw argument("squeeze_excitation").failure("is true; squeeze-excitation is not supported")
        }
        let configuration = ResidualEncoderUNet.Configuration(
            inputChannels: inputChannels, classCount: classCount, featuresPerStage: common.features,
            kernelSizes: common.kernels, strides: common.strides,
            blocksPerStage: try perStage("n_blocks_per_stage", count: common.stages),
            convolutionsPerDecoderStage: common.decoderConvolutions, convolutionBias: common.bias,
            normEpsilon: Float(common.epsilon), normAffine: common.affine, negativeSlope: common.slope)
        if let problem = configuration.problem {
            throw V2JSONField(arguments, path: path + ".arch_kwargs", file: file).failure(
                "describes no valid ResidualEncoderUNet: \(problem)")
        }
        return configuration
    }
}
