import Foundation
import NNUNetCore
import NNUNetEvaluation

extension V2Architecture {
    /// The network classes this port builds (the last component of `network_class_name`).
    public static let supportedNetworkClasses: Set<String> = ["PlainConvUNet"]

    /// The `PlainConvUNet` configuration (NNUNetCore) of `arch_kwargs`, as v2's `get_network_from_plans` builds the
    /// network for
    /// inference (`deep_supervision` off).
    ///
    /// `conv_op` sets 2D or 3D (`Conv2d`/`Conv3d`); `norm_op` must be an instance norm (its `eps`, default 1e-5, and
    /// `affine`, default false, are read; running statistics are refused); `nonlin` is `LeakyReLU` (`negative_slope`,
    /// default 0.01), `ReLU`, or null; a `dropout_op` is accepted (it is the identity when predicting). Integer
    /// `kernel_sizes`, `strides`, `features_per_stage`, `n_conv_per_stage(_decoder)` are expanded as
    /// dynamic_network_architectures does.
    ///
    /// - Throws: ``TrainingError/unusableModel(_:)`` naming the plans file and the field: an unsupported
    ///   `network_class_name` (it is named), a missing or malformed argument, an unsupported operation.
    public func plainConvUNetConfiguration(inputChannels: Int, classCount: Int) throws -> PlainConvUNet.Configuration {
        let className = networkClassName.split(separator: ".").last.map(String.init) ?? networkClassName
        guard Self.supportedNetworkClasses.contains(className) else {
            throw classNameField.failure("is '\(networkClassName)'; this port builds only "
                                         + "dynamic_network_architectures' PlainConvUNet (nnU-Net v2's default "
                                         + "planner), not ResidualEncoderUNet or other networks yet")
        }
        let convolution = try argument("conv_op").string()
        let rank: Int
        switch convolution.split(separator: ".").last.map(String.init) ?? convolution {
        case "Conv3d": rank = 3
        case "Conv2d": rank = 2
        default: throw argument("conv_op").failure("is '\(convolution)'; Conv2d or Conv3d is needed")
        }
        let stages = try argument("n_stages").int()
        guard stages >= 2 else { throw argument("n_stages").failure("is \(stages); at least 2 are needed") }

        /// An int (repeated) or a list of `count` ints.
        func perStage(_ name: String, count: Int) throws -> [Int] {
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
        let convolutions = try perStage("n_conv_per_stage", count: stages)
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

        let configuration = PlainConvUNet.Configuration(
            inputChannels: inputChannels, classCount: classCount, featuresPerStage: features, kernelSizes: kernels,
            strides: strides, convolutionsPerStage: convolutions, convolutionsPerDecoderStage: decoderConvolutions,
            convolutionBias: bias, normEpsilon: Float(epsilon), normAffine: affine, negativeSlope: slope)
        if let problem = configuration.problem {
            throw V2JSONField(arguments, path: path + ".arch_kwargs", file: file).failure("describes no valid "
                                                                                          + "PlainConvUNet: \(problem)")
        }
        return configuration
    }
}
