import Foundation
import NNUNetCore
import NNUNetEvaluation
import Testing
@testable import NNUNetTraining

/// nnU-Net v2's plans.json, dataset.json, PlainConvUNet, normalisation and sliding-window pieces, on synthetic input
/// (no optional data needed).
@Suite("v2 plans, dataset.json and network")
struct V2PlansTests {
    /// A v2 plans.json with a 3d_lowres configuration and a cascade that inherits from it.
    static let plansText = """
        {"dataset_name": "Dataset999_Test", "plans_name": "nnUNetPlans", "transpose_forward": [0, 1, 2],
         "transpose_backward": [0, 1, 2],
         "foreground_intensity_properties_per_channel": {"0": {"mean": 100.5, "std": 20.0, "percentile_00_5": 10.0,
                                                            "percentile_99_5": 300.0, "median": 99.0}},
         "configurations": {
          "3d_lowres": {"data_identifier": "nnUNetPlans_3d_lowres", "preprocessor_name": "DefaultPreprocessor",
            "batch_size": 2, "patch_size": [32, 32, 32], "spacing": [2.5, 1.5, 1.5],
            "normalization_schemes": ["CTNormalization"], "use_mask_for_norm": [false],
            "resampling_fn_data": "resample_data_or_seg_to_shape",
            "resampling_fn_data_kwargs": {"is_seg": false, "order": 3, "order_z": 0, "force_separate_z": null},
            "resampling_fn_seg": "resample_data_or_seg_to_shape",
            "resampling_fn_seg_kwargs": {"is_seg": true, "order": 1, "order_z": 0, "force_separate_z": null},
            "resampling_fn_probabilities": "resample_data_or_seg_to_shape",
            "resampling_fn_probabilities_kwargs": {"is_seg": false, "order": 1, "order_z": 0},
            "architecture": {"network_class_name": "dynamic_network_architectures.architectures.unet.PlainConvUNet",
              "arch_kwargs": {"n_stages": 3, "features_per_stage": [4, 8, 16],
                "conv_op": "torch.nn.modules.conv.Conv3d", "kernel_sizes": [[1, 3, 3], 3, [3, 3, 3]],
                "strides": [1, [1, 2, 2], [2, 2, 2]], "n_conv_per_stage": 2, "n_conv_per_stage_decoder": [1, 2],
                "conv_bias": true, "norm_op": "torch.nn.modules.instancenorm.InstanceNorm3d",
                "norm_op_kwargs": {"eps": 1e-05, "affine": true}, "dropout_op": null, "dropout_op_kwargs": null,
                "nonlin": "torch.nn.LeakyReLU", "nonlin_kwargs": {"inplace": true}},
              "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"]},
            "batch_dice": false, "next_stage": "3d_cascade_fullres"},
          "3d_cascade_fullres": {"inherits_from": "3d_lowres", "data_identifier": "nnUNetPlans_3d_fullres",
            "spacing": [1.0, 0.5, 0.5], "previous_stage": "3d_lowres"}
         }}
        """

    static func plans(_ text: String = plansText) throws -> V2Plans {
        try V2Plans(json: JSONValue.parse(text), source: "test/plans.json")
    }

    static func expectError(_ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation,
                            _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("no error", sourceLocation: sourceLocation)
        } catch {
            for fragment in fragments {
                #expect("\(error)".contains(fragment), "'\(fragment)' not in: \(error)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("configurations resolve inherits_from: the parent's fields, overridden by the child's")
    func inheritance() throws {
        let plans = try Self.plans()
        #expect(plans.configurationNames == ["3d_lowres", "3d_cascade_fullres"])
        #expect(plans.foregroundIntensityProperties[0]?.percentile99_5 == 300)
        let lowres = try plans.configuration("3d_lowres")
        let cascade = try plans.configuration("3d_cascade_fullres")
        #expect(lowres.nextStages == ["3d_cascade_fullres"] && lowres.previousStage == nil)
        #expect(cascade.spacing == [1.0, 0.5, 0.5] && cascade.previousStage == "3d_lowres")
        #expect(cascade.patchSize == [32, 32, 32] && cascade.dataIdentifier == "nnUNetPlans_3d_fullres")
        #expect(cascade.architecture.networkClassName == lowres.architecture.networkClassName)
        #expect(cascade.architecture.arguments == lowres.architecture.arguments)
        #expect(lowres.dataResampling == V2Resampling(isSegmentation: false, order: 3))
        #expect(lowres.probabilityResampling.forceSeparateZ == false)  // key absent: the function's default
        #expect(lowres.segmentationResampling?.order == 1)
    }

    @Test("unknown, circular and malformed configurations name the file and the field")
    func configurationErrors() throws {
        let plans = try Self.plans()
        Self.expectError(["test/plans.json", "no configuration '2d'", "3d_lowres, 3d_cascade_fullres"]) {
            _ = try plans.configuration("2d")
        }
        let circular = Self.plansText.replacingOccurrences(
            of: "\"batch_dice\": false,", with: "\"batch_dice\": false, \"inherits_from\": \"3d_cascade_fullres\",")
        Self.expectError(["configurations.3d_lowres.inherits_from", "circular"]) {
            _ = try Self.plans(circular).configuration("3d_cascade_fullres")
        }
        let orphan = Self.plansText.replacingOccurrences(of: "\"inherits_from\": \"3d_lowres\"",
                                                         with: "\"inherits_from\": \"3d_nothing\"")
        Self.expectError(["configurations.3d_cascade_fullres.inherits_from", "'3d_nothing'"]) {
            _ = try Self.plans(orphan).configuration("3d_cascade_fullres")
        }
        let noPatch = Self.plansText.replacingOccurrences(of: "\"patch_size\": [32, 32, 32], ", with: "")
        Self.expectError(["test/plans.json", "configurations.3d_lowres.patch_size", "missing"]) {
            _ = try Self.plans(noPatch).configuration("3d_lowres")
        }
        let badKernel = Self.plansText.replacingOccurrences(of: "\"order\": 3,", with: "\"order\": \"cubic\",")
        Self.expectError(["configurations.3d_lowres.resampling_fn_data_kwargs.order", "not an integer"]) {
            _ = try Self.plans(badKernel).configuration("3d_lowres")
        }
        let noTranspose = Self.plansText.replacingOccurrences(of: "\"transpose_forward\": [0, 1, 2],", with: "")
        Self.expectError(["field 'transpose_forward' is missing"]) { _ = try Self.plans(noTranspose) }
    }

    @Test("dataset.json: labels, regions and the LabelManager's derived values")
    func datasetDescription() throws {
        let plain = try V2DatasetDescription(json: JSONValue.parse("""
            {"channel_names": {"1": "ADC", "0": "T2"}, "labels": {"background": 0, "PZ": 1, "TZ": 2},
             "numTraining": 32, "file_ending": ".nii.gz"}
            """), source: "dataset.json")
        #expect(plain.channelNames == ["T2", "ADC"] && plain.allLabels == [0, 1, 2])
        #expect(!plain.hasRegions && plain.segmentationHeadCount == 3 && plain.trainingCaseCount == 32)
        let regions = try V2DatasetDescription(json: JSONValue.parse("""
            {"channel_names": {"0": "T1", "1": "T1ce", "2": "T2", "3": "Flair"},
             "labels": {"background": 0, "whole tumor": [1, 2, 3], "tumor core": [2, 3], "enhancing tumor": 3},
             "regions_class_order": [1, 2, 3], "file_ending": ".nii.gz"}
            """), source: "dataset.json")
        #expect(regions.hasRegions && regions.segmentationHeadCount == 3)
        #expect(regions.foregroundRegions == [[1, 2, 3], [2, 3], [3]])
        Self.expectError(["dataset.json", "'labels'", "background"]) {
            _ = try V2DatasetDescription(json: JSONValue.parse("""
                {"channel_names": {"0": "CT"}, "labels": {"liver": 1}, "file_ending": ".nii.gz"}
                """), source: "dataset.json")
        }
        Self.expectError(["dataset.json", "'file_ending' is missing"]) {
            _ = try V2DatasetDescription(json: JSONValue.parse("""
                {"channel_names": {"0": "CT"}, "labels": {"background": 0, "liver": 1}}
                """), source: "dataset.json")
        }
        Self.expectError(["regions_class_order"]) {
            _ = try V2DatasetDescription(json: JSONValue.parse("""
                {"channel_names": {"0": "CT"}, "labels": {"background": 0, "a": [1, 2], "b": 2},
                 "file_ending": ".nii.gz"}
                """), source: "dataset.json")
        }
    }

    @Test("the separate-z rule of resample_data_or_seg_to_shape")
    func separateAxis() {
        let automatic = V2Resampling(isSegmentation: false, order: 3, forceSeparateZ: nil)
        #expect(automatic.separateAxis(current: [1, 1, 1], target: [1.2, 1, 1]) == nil)
        #expect(automatic.separateAxis(current: [5, 1, 1], target: [1, 1, 1]) == 0)
        #expect(automatic.separateAxis(current: [1, 1, 1], target: [1, 1, 4]) == 2)
        #expect(automatic.separateAxis(current: [4, 4, 1], target: [1, 1, 1]) == nil)  // two low-resolution axes
        let forced = V2Resampling(isSegmentation: false, order: 3, forceSeparateZ: true)
        #expect(forced.separateAxis(current: [1, 1.5, 1], target: [1, 1, 1]) == 1)
        let never = V2Resampling(isSegmentation: false, order: 3, forceSeparateZ: false)
        #expect(never.separateAxis(current: [5, 1, 1], target: [1, 1, 1]) == nil)
    }

    @Test("PlainConvUNet from arch_kwargs: v2's parameter names and shapes, logits of the input's size")
    func network() throws {
        let configuration = try Self.plans().configuration("3d_lowres")
        let spec = try configuration.architecture.plainConvUNetConfiguration(inputChannels: 2, classCount: 3)
        #expect(spec.kernelSizes == [[1, 3, 3], [3, 3, 3], [3, 3, 3]] && spec.strides == [[1, 1, 1], [1, 2, 2], [2, 2, 2]])
        #expect(spec.convolutionsPerStage == [2, 2, 2] && spec.normAffine && spec.negativeSlope == 0.01)
        var generator = SeededGenerator(seed: 1)
        let network = PlainConvUNet(configuration: spec, generator: &generator)
        let shapes = Dictionary(uniqueKeysWithValues: network.namedParameters().map { ($0.name, $0.parameter.shape) })
        #expect(shapes["encoder.stages.0.0.convs.0.conv.weight"] == [4, 2, 1, 3, 3])
        #expect(shapes["encoder.stages.2.0.convs.1.norm.bias"] == [16])
        #expect(shapes["decoder.transpconvs.0.weight"] == [16, 8, 2, 2, 2] && shapes["decoder.transpconvs.0.bias"] == [8])
        #expect(shapes["decoder.stages.0.convs.0.conv.weight"] == [8, 16, 3, 3, 3])  // kernel of the skip's stage
        #expect(shapes["decoder.stages.1.convs.1.conv.weight"] == [4, 4, 1, 3, 3])
        #expect(shapes["decoder.seg_layers.1.weight"] == [3, 4, 1, 1, 1] && shapes["decoder.seg_layers.1.bias"] == [3])
        // Encoder 3 × 2 blocks and decoder 1 + 2 blocks of 4 tensors, 2 transposed convolutions and 2 heads of 2.
        #expect(shapes.count == 6 * 4 + 3 * 4 + 2 * 2 + 2 * 2)
        let output = withoutGradients { network(Tensor(repeating: 0.5, shape: [1, 2, 4, 8, 8])) }
        #expect(output.shape == [1, 3, 4, 8, 8] && output.data.allSatisfy(\.isFinite))

        // 2D (Conv2d kernels): the same structure on [N, C, H, W].
        let flat = PlainConvUNet.Configuration(
            inputChannels: 1, classCount: 2, featuresPerStage: [4, 8, 8], kernelSizes: [[3, 3], [3, 3], [3, 3]],
            strides: [[1, 1], [2, 2], [2, 1]], convolutionsPerStage: [2, 2, 2], convolutionsPerDecoderStage: [2, 2])
        let flatNetwork = PlainConvUNet(configuration: flat, generator: &generator)
        let flatOutput = withoutGradients { flatNetwork(Tensor(repeating: 0.25, shape: [1, 1, 12, 10])) }
        #expect(flatOutput.shape == [1, 2, 12, 10] && flat.totalStride == [4, 2])
        #expect(flatNetwork.parameter(named: "decoder.transpconvs.0.weight")?.shape == [8, 8, 2, 1])

        #expect(V2Architecture.supportedNetworkClasses == ["PlainConvUNet", "ResidualEncoderUNet"])
        let renamed = Self.plansText.replacingOccurrences(of: "unet.PlainConvUNet", with: "primus.Primus")
        Self.expectError(["'dynamic_network_architectures.architectures.primus.Primus'",
                          "configurations.3d_lowres.architecture.network_class_name"]) {
            _ = try Self.plans(renamed).configuration("3d_lowres").architecture
                .plainConvUNetConfiguration(inputChannels: 1, classCount: 2)
        }
        let batchNorm = Self.plansText.replacingOccurrences(of: "instancenorm.InstanceNorm3d", with: "batchnorm.BatchNorm3d")
        Self.expectError(["arch_kwargs.norm_op", "BatchNorm3d"]) {
            _ = try Self.plans(batchNorm).configuration("3d_lowres").architecture
                .plainConvUNetConfiguration(inputChannels: 1, classCount: 2)
        }
    }

    @Test("normalisation schemes in float32 as numpy computes them")
    func normalization() throws {
        let values: [Float] = [0, 0, 10, 20, 30, 40, 0, 0]
        let mask = values.map { $0 != 0 }
        var zscore = values
        try V2Normalization.apply(&zscore, scheme: "ZScoreNormalization", useMask: false, mask: mask, intensity: nil,
                                  channel: 0, plansFile: "p")
        let mean = NumPyReduction.mean(values), std = NumPyReduction.standardDeviation(values)
        #expect(zscore == values.map { ($0 - mean) / std })
        var masked = values
        try V2Normalization.apply(&masked, scheme: "ZScoreNormalization", useMask: true, mask: mask, intensity: nil,
                                  channel: 0, plansFile: "p")
        #expect(masked[0] == 0 && abs(masked[2] + 1.3416407) < 1e-6 && abs(masked[5] - 1.3416407) < 1e-6)
        var ct = values
        try V2Normalization.apply(&ct, scheme: "CTNormalization", useMask: false, mask: mask,
                                  intensity: V2IntensityProperties(mean: 20, std: 10, percentile00_5: 5,
                                                                   percentile99_5: 35),
                                  channel: 0, plansFile: "p")
        #expect(ct == [-1.5, -1.5, -1, 0, 1, 1.5, -1.5, -1.5])
        var rescaled = values
        try V2Normalization.apply(&rescaled, scheme: "RescaleTo01Normalization", useMask: false, mask: mask,
                                  intensity: nil, channel: 0, plansFile: "p")
        #expect(rescaled == values.map { $0 / 40 })
        var rgb: [Float] = [0, 255, 51]
        try V2Normalization.apply(&rgb, scheme: "RGBTo01Normalization", useMask: false, mask: [true, true, true],
                                  intensity: nil, channel: 0, plansFile: "p")
        #expect(rgb == [0, 1, 0.2])
        var untouched = values
        try V2Normalization.apply(&untouched, scheme: "NoNormalization", useMask: false, mask: mask, intensity: nil,
                                  channel: 0, plansFile: "p")
        #expect(untouched == values)
        Self.expectError(["CTNormalization", "foreground_intensity_properties_per_channel.0.mean"]) {
            var copy = values
            try V2Normalization.apply(&copy, scheme: "CTNormalization", useMask: false, mask: mask, intensity: nil,
                                      channel: 0, plansFile: "p")
        }
        Self.expectError(["'MyNormalization'", "ZScoreNormalization"]) {
            var copy = values
            try V2Normalization.apply(&copy, scheme: "MyNormalization", useMask: false, mask: mask, intensity: nil,
                                      channel: 0, plansFile: "p")
        }
        // A dense view is one pairwise sum: the same as numpy's mean() of the whole array.
        let statistics = V2Normalization.zScoreStatistics(memoryOrder: values, runLength: nil)
        #expect(statistics.mean == mean && statistics.std == std)
    }

    @Test("mirror combinations in itertools order; the Gaussian's peak is 10 and it has no zeros")
    func slidingWindowPieces() {
        #expect(V2SlidingWindow.mirrorCombinations([0, 1, 2])
                    == [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]])
        #expect(V2SlidingWindow.mirrorCombinations([0, 1]) == [[0], [1], [0, 1]])
        #expect(V2SlidingWindow.mirrorCombinations([]).isEmpty)
        let gaussian = V2SlidingWindow.gaussian(patchSize: [16, 8, 24])
        #expect(gaussian[(8 * 8 + 4) * 24 + 12] == 10 && gaussian.max() == 10)
        #expect(gaussian.allSatisfy { $0 > 0 })
    }

    @Test("input cases: CASE_XXXX<file_ending> files grouped by identifier, as v2 lists them")
    func inputCases() throws {
        try TestSupport.withTemporaryFolder { folder in
            for name in ["b_0001.nii.gz", "b_0000.nii.gz", "a_0000.nii.gz", "a_x_0000.nii.gz", "cc_000.nii.gz",
                         "notes.txt", "d_0000.nii"] {
                try Data().write(to: folder.appendingPathComponent(name))
            }
            let cases = try V2FolderPrediction.cases(in: folder, fileEnding: ".nii.gz")
            #expect(cases.map(\.identifier) == ["a", "a_x", "b", "c"])
            #expect(cases[2].files.map(\.lastPathComponent) == ["b_0000.nii.gz", "b_0001.nii.gz"])
            #expect(cases[0].files.map(\.lastPathComponent) == ["a_0000.nii.gz"])
            #expect(cases[3].files.isEmpty)  // "cc_000.nii.gz" names case "c" but is no channel file of it
        }
    }

    /// Returns its first input channel as every output channel (a pointwise, mirror-symmetric "network").
    final class Echo: Module {
        let outputs: Int
        init(outputs: Int) {
            self.outputs = outputs
            super.init()
        }
        override func forward(_ x: Tensor) -> Tensor {
            let voxels = x.shape[2...].reduce(1, *)
            let first = Array(x.data[0..<voxels])
            return Tensor(shape: [1, outputs] + Array(x.shape[2...]), data: Array((0..<outputs).map { _ in first }.joined()))
        }
    }

    @Test("the float16 sliding window averages tiles and mirrors back to the input (3D and 2D)", arguments: [
        [8, 8, 8], [8, 8],
    ])
    func slidingWindowEcho(patch: [Int]) throws {
        let shape = [6, 13, 11]
        let data = (0..<shape.reduce(1, *)).map { Float($0 % 17) / 4 }
        let window = V2SlidingWindow(patchSize: patch, classCount: 2, mirrorAxes: Array(0..<patch.count))
        let logits = try window.predictLogits(network: Echo(outputs: 2), data: data, channels: 1, shape: shape)
        #expect(logits.count == 2 * data.count)
        // Every voxel gets a Gaussian-weighted mean of its own value, summed in float16 as v2 does: close to the
        // value (near tile borders the weights are tiny and float16 loses digits, as in v2), while a misplaced or
        // wrongly mirrored tile would be off by whole units.
        var worst: Float = 0, total: Float = 0
        for (i, value) in data.enumerated() {
            worst = max(worst, abs(Float(logits[i]) - value))
            total += abs(Float(logits[i]) - value)
            #expect(logits[data.count + i] == logits[i])
        }
        #expect(worst <= 0.1 && total / Float(data.count) <= 0.01, "largest error \(worst), mean \(total / Float(data.count))")
    }
}
