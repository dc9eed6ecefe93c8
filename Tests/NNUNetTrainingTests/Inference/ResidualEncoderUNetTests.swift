import Foundation
import NNUNetCore
import NNUNetEvaluation
@testable import NNUNetTraining
import Testing

/// `ResidualEncoderUNet` against dynamic_network_architectures' own (`Tests/Fixtures/v2_networks`, made by
/// `make_parity.py` there with the nnU-Net v2 peer): the same state dict loaded by name gives the same logits, and v2's
/// ResEnc `arch_kwargs` build it.
@Suite("ResidualEncoderUNet (nnU-Net v2's ResEnc networks)")
struct ResidualEncoderUNetTests {
    static let folder = TestSupport.fixtures.appendingPathComponent("v2_networks")

    /// The configurations `make_parity.py` builds.
    static let configurations: [String: ResidualEncoderUNet.Configuration] = [
        "resenc_parity_3d.pt": .init(
            inputChannels: 2, classCount: 3, featuresPerStage: [4, 8, 12],
            kernelSizes: [[1, 3, 3], [3, 3, 3], [3, 3, 3]], strides: [[1, 1, 1], [1, 2, 2], [2, 2, 2]],
            blocksPerStage: [1, 2, 2], convolutionsPerDecoderStage: [1, 1]),
        "resenc_parity_2d.pt": .init(
            inputChannels: 1, classCount: 2, featuresPerStage: [4, 4, 8, 12],
            kernelSizes: [[3, 3], [3, 3], [3, 3], [3, 3]], strides: [[1, 1], [2, 2], [2, 1], [1, 1]],
            blocksPerStage: [1, 3, 2, 1], convolutionsPerDecoderStage: [1, 2, 1]),
    ]

    @Test("the state dict loads by name and the logits equal PyTorch's", arguments: ["resenc_parity_3d.pt",
                                                                                    "resenc_parity_2d.pt"])
    func parity(file: String) throws {
        let checkpoint = try TorchCheckpoint(contentsOf: Self.folder.appendingPathComponent(file))
        var generator = SeededGenerator(seed: 3)
        let network = ResidualEncoderUNet(configuration: try #require(Self.configurations[file]),
                                          generator: &generator)
        guard case .dict(let entries)? = checkpoint.root["network_weights"] else {
            Issue.record("\(file) has no network_weights")
            return
        }
        var tensors: [String: TorchTensorReference] = [:]
        for entry in entries {
            if let name = entry.key.stringValue, case .tensor(let tensor) = entry.value { tensors[name] = tensor }
        }
        // Every primary tensor of the state dict is a parameter of the network, and the other way round.
        let primary = Set(tensors.keys.filter { !$0.hasPrefix("decoder.encoder.") && !$0.contains(".all_modules.") })
        #expect(primary == Set(network.namedParameters().map(\.name)))
        for (name, parameter) in network.namedParameters() {
            let tensor = try #require(tensors[name], "\(name)")
            #expect(tensor.shape == parameter.shape, "\(name)")
            parameter.assign(try checkpoint.values(of: tensor))
        }
        guard case .tensor(let inputReference)? = checkpoint.root["input"],
              case .tensor(let outputReference)? = checkpoint.root["output"] else {
            Issue.record("\(file) has no input/output")
            return
        }
        let input = Tensor(shape: inputReference.shape, data: try checkpoint.values(of: inputReference))
        let theirs = try checkpoint.values(of: outputReference)
        network.eval()
        let ours = withoutGradients { network(input) }
        #expect(ours.shape == outputReference.shape)
        let scale = theirs.map(abs).max() ?? 1
        let worst = zip(ours.data, theirs).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-5 * max(scale, 1), "largest difference \(worst) (largest |logit| \(scale))")

        // With gradients recorded the block takes the out-of-place path: the same values.
        let recorded = network(input)
        #expect(zip(recorded.data, ours.data).allSatisfy { abs($0 - $1) <= 1e-6 * max(scale, 1) })
    }

    static let plansText = """
        {"dataset_name": "Dataset1_T", "plans_name": "nnUNetResEncUNetMPlans", "original_median_spacing_after_transp": [1, 1, 1],
         "original_median_shape_after_transp": [8, 8, 8], "image_reader_writer": "SimpleITKIO",
         "transpose_forward": [0, 1, 2], "transpose_backward": [0, 1, 2],
         "configurations": {"3d_fullres": {
            "data_identifier": "nnUNetResEncUNetMPlans_3d_fullres", "preprocessor_name": "DefaultPreprocessor",
            "batch_size": 2, "patch_size": [8, 16, 16], "median_image_size_in_voxels": [8, 16, 16],
            "spacing": [2, 1, 1], "normalization_schemes": ["ZScoreNormalization"], "use_mask_for_norm": [false],
            "resampling_fn_data": "resample_data_or_seg_to_shape", "resampling_fn_seg": "resample_data_or_seg_to_shape",
            "resampling_fn_data_kwargs": {"is_seg": false, "order": 3, "order_z": 0, "force_separate_z": null},
            "resampling_fn_seg_kwargs": {"is_seg": true, "order": 1, "order_z": 0, "force_separate_z": null},
            "resampling_fn_probabilities": "resample_data_or_seg_to_shape",
            "resampling_fn_probabilities_kwargs": {"is_seg": false, "order": 1, "order_z": 0, "force_separate_z": null},
            "architecture": {"network_class_name": "dynamic_network_architectures.architectures.unet.ResidualEncoderUNet",
              "arch_kwargs": {"n_stages": 3, "features_per_stage": [4, 8, 16],
                "conv_op": "torch.nn.modules.conv.Conv3d", "kernel_sizes": [[1, 3, 3], [3, 3, 3], [3, 3, 3]],
                "strides": [[1, 1, 1], [1, 2, 2], [2, 2, 2]], "n_blocks_per_stage": [1, 3, 4],
                "n_conv_per_stage_decoder": [1, 1], "conv_bias": true,
                "norm_op": "torch.nn.modules.instancenorm.InstanceNorm3d", "norm_op_kwargs": {"eps": 1e-05, "affine": true},
                "dropout_op": null, "dropout_op_kwargs": null, "nonlin": "torch.nn.LeakyReLU",
                "nonlin_kwargs": {"inplace": true}},
              "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"]},
            "batch_dice": false}},
         "experiment_planner_used": "nnUNetPlannerResEncM", "label_manager": "LabelManager",
         "foreground_intensity_properties_per_channel": {"0": {"max": 1, "mean": 0, "median": 0, "min": 0,
            "percentile_00_5": 0, "percentile_99_5": 1, "std": 1}}}
        """

    static func architecture(_ text: String = plansText) throws -> V2Architecture {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("resenc-plans-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(text.utf8).write(to: file)
        return try V2Plans(contentsOf: file).configuration("3d_fullres").architecture
    }

    @Test("v2's ResEnc arch_kwargs build the network: blocks, stem, skip projections named as in v2")
    func fromPlans() throws {
        let architecture = try Self.architecture()
        let spec = try architecture.residualEncoderUNetConfiguration(inputChannels: 1, classCount: 2)
        #expect(spec.blocksPerStage == [1, 3, 4] && spec.convolutionsPerDecoderStage == [1, 1])
        #expect(spec.convolutionBias && spec.normAffine && spec.negativeSlope == 0.01 && spec.totalStride == [2, 4, 4])
        let network = try #require(try architecture.makeNetwork(inputChannels: 1, classCount: 2)
                                   as? ResidualEncoderUNet)
        let shapes = Dictionary(uniqueKeysWithValues: network.namedParameters().map { ($0.name, $0.parameter.shape) })
        #expect(shapes["encoder.stem.convs.0.conv.weight"] == [4, 1, 1, 3, 3])
        #expect(shapes["encoder.stages.1.blocks.0.conv1.conv.weight"] == [8, 4, 3, 3, 3])
        #expect(shapes["encoder.stages.1.blocks.0.skip.1.conv.weight"] == [8, 4, 1, 1, 1])
        #expect(shapes["encoder.stages.1.blocks.0.skip.1.conv.bias"] == nil)  // the projection has no bias
        #expect(shapes["encoder.stages.2.blocks.3.conv2.norm.bias"] == [16])
        #expect(shapes["decoder.stages.0.convs.0.conv.weight"] == [8, 16, 3, 3, 3])
        #expect(shapes["decoder.seg_layers.1.weight"] == [2, 4, 1, 1, 1])
        let output = withoutGradients { network(Tensor(repeating: 0.5, shape: [1, 1, 8, 16, 16])) }
        #expect(output.shape == [1, 2, 8, 16, 16] && output.data.allSatisfy(\.isFinite))
    }

    @Test("unsupported ResEnc variants are refused naming the argument")
    func refusals() throws {
        let bias = "\"conv_bias\": true,"
        let cases: [(from: String, to: String, fragments: [String])] = [
            (bias, bias + " \"block\": \"BottleneckD\",", ["arch_kwargs.block", "BottleneckD"]),
            (bias, bias + " \"bottleneck_channels\": [2, 4, 8],", ["arch_kwargs.bottleneck_channels"]),
            (bias, bias + " \"stem_channels\": 6,", ["arch_kwargs.stem_channels", "6"]),
            (bias, bias + " \"squeeze_excitation\": true,", ["arch_kwargs.squeeze_excitation"]),
            ("\"n_blocks_per_stage\": [1, 3, 4]", "\"n_blocks_per_stage\": [1, 3]",
             ["arch_kwargs.n_blocks_per_stage", "2 entries; 3 are needed"]),
            ("unet.ResidualEncoderUNet", "unet.ResidualUNet", ["network_class_name", "ResidualUNet"]),
        ]
        for (from, to, fragments) in cases {
            let text = Self.plansText.replacingOccurrences(of: from, with: to)
            #expect(text != Self.plansText)
            do {
                _ = try Self.architecture(text).makeNetwork(inputChannels: 1, classCount: 2)
                Issue.record("\(to) was accepted")
            } catch {
                let message = String(describing: error)
                for fragment in fragments { #expect(message.contains(fragment), "\(message)") }
            }
        }
    }

    @Test("the ResEnc L and XL presets' plans build v2's networks: every parameter's name and shape")
    func presets() throws {
        struct Entry: Decodable {
            var plans: String
            var configuration: String
            var parameters: [[Parameter]]
            enum Parameter: Decodable {
                case name(String), shape([Int])
                init(from decoder: Decoder) throws {
                    let container = try decoder.singleValueContainer()
                    if let name = try? container.decode(String.self) { self = .name(name) } else {
                        self = .shape(try container.decode([Int].self))
                    }
                }
            }
        }
        let entries = try JSONDecoder().decode([Entry].self, from: Data(contentsOf: Self.folder.appendingPathComponent(
            "resenc_preset_parameters.json")))
        #expect(entries.count == 4)
        for entry in entries {
            let plans = try V2Plans(contentsOf: Self.folder.appendingPathComponent(entry.plans))
            let network = try plans.configuration(entry.configuration).architecture
                .makeNetwork(inputChannels: 1, classCount: 3)
            #expect(network is ResidualEncoderUNet, "\(entry.plans) \(entry.configuration)")
            let ours = network.namedParameters().map { "\($0.name) \($0.parameter.shape)" }
            let theirs = entry.parameters.compactMap { pair -> String? in
                guard pair.count == 2, case .name(let name) = pair[0], case .shape(let shape) = pair[1] else { return nil }
                return "\(name) \(shape)"
            }
            #expect(theirs.count == entry.parameters.count && !theirs.isEmpty)
            let difference = Set(ours).symmetricDifference(Set(theirs)).sorted().prefix(4)
            #expect(Set(ours) == Set(theirs), "\(entry.plans) \(entry.configuration): \(difference)")
        }
    }
}
