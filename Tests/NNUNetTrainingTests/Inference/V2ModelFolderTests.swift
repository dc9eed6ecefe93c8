import Foundation
import NNUNetCore
import Testing
@testable import NNUNetTraining

/// `reference/v2_model` of the optional test data end to end: the genuine nnU-Net v2 results folder (Dataset901,
/// PlainConvUNet, fold 0, `checkpoint_final.pth`) predicts `imagesTs/` as `nnUNetv2_predict --save_probabilities` did,
/// with and without mirroring.
///
/// v2 sums the logits of the tiles in float16, so a float32 difference in the last bits of a network output changes
/// a float16 logit by one unit in the last place now and then. PyTorch itself does that between machines: v2's own
/// code rerun with the same torch 2.13 on another CPU (oneDNN picks other convolution kernels) differs from these
/// golden files by up to 4.8e-4 in the probabilities and in one label (spheres_ts001 without mirroring, a voxel whose
/// two largest probabilities are 0.34945 and 0.34942), exactly where this port differs. The preprocessing (crop,
/// transpose, ZScore, cubic resampling) and the Gaussian map equal v2's bit for bit (checked against v2's code on this
/// machine). The tests therefore require: shapes and geometry exact; every differing label a tie (the golden
/// probabilities of its two classes within 1e-3); probabilities within 1e-3, and within 1e-4 for all but 0.1 %.
@Suite("A v2 model folder predicts like nnUNetv2_predict", TestSupport.requiresSharedData("reference/v2_model"))
struct V2ModelFolderTests {
    static let root = TestSupport.reference.appendingPathComponent("v2_model")
    static let modelFolder = root.appendingPathComponent(
        "results/Dataset901_Spheres/nnUNetTrainer__nnUNetPlans__3d_fullres")
    static let cases = ["spheres_ts000", "spheres_ts001", "spheres_ts002"]

    @Test("the model folder loads: configuration, trainer, mirroring axes, every weight by name")
    func loads() throws {
        let model = try V2TrainedModel(modelFolder: Self.modelFolder, folds: [.index(0)])
        #expect(model.configuration.name == "3d_fullres")
        #expect(model.trainerName == "nnUNetTrainer")
        #expect(model.allowedMirroringAxes == [0, 1, 2])
        #expect(model.dataset.segmentationHeadCount == 3 && model.dataset.channelNames == ["MRI"])
        #expect(V2TrainedModel.availableFolds(in: Self.modelFolder) == [.index(0)])
        let network = try #require(model.folds.first?.network as? PlainConvUNet)
        #expect(network.configuration.featuresPerStage == [8, 16, 32, 64, 80])
        // Every tensor of the checkpoint except v2's duplicate names is a parameter of the network.
        let checkpoint = try TorchCheckpoint(contentsOf: Self.modelFolder.appendingPathComponent(
            "fold_0/checkpoint_final.pth"))
        guard case .dict(let entries)? = checkpoint.root["network_weights"] else {
            Issue.record("no network_weights")
            return
        }
        let tensorNames = entries.compactMap { entry -> String? in
            guard case .tensor = entry.value else { return nil }
            return entry.key.stringValue
        }
        let primary = Set(tensorNames.filter { !$0.hasPrefix("decoder.encoder.") && !$0.contains(".all_modules.") })
        #expect(primary == Set(network.namedParameters().map(\.name)))
        #expect(checkpoint.root["init_args"]?["device"]?.stringValue == "cpu")
    }

    @Test("labels, probabilities and properties of all three cases", arguments: [true, false])
    func predictsLikeV2(mirroring: Bool) throws {
        let model = try V2TrainedModel(modelFolder: Self.modelFolder, folds: [.index(0)])
        model.usesMirroring = mirroring
        let reference = Self.root.appendingPathComponent(mirroring ? "pred_tta" : "pred_notta")
        try TestSupport.withTemporaryFolder { output in
            var run = V2FolderPrediction(inputFolder: Self.root.appendingPathComponent("imagesTs"),
                                         outputFolder: output)
            run.saveProbabilities = true
            let summary = try run.run(model: model)
            #expect(summary.predicted == Self.cases)
            for name in ["dataset.json", "plans.json", "predict_from_raw_data_args.json"] {
                #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent(name).path))
            }
            for identifier in Self.cases {
                let ours = try NIfTI.read(output.appendingPathComponent(identifier + ".nii.gz"))
                let theirs = try NIfTI.read(reference.appendingPathComponent(identifier + ".nii.gz"))
                #expect(ours.shape == theirs.shape)
                #expect(ours.geometry == theirs.geometry)
                let ourProbabilities = try NPZ.read(output.appendingPathComponent(identifier + ".npz"),
                                                    member: "probabilities")
                let theirProbabilities = try NPZ.read(reference.appendingPathComponent(identifier + ".npz"),
                                                      member: "probabilities")
                #expect(ourProbabilities.shape == theirProbabilities.shape && ourProbabilities.dataType == .float32)
                let p = ourProbabilities.floats(), q = theirProbabilities.floats()
                let voxels = ours.data.count, classes = theirProbabilities.shape[0]
                var differing = 0, nonTies = 0
                for i in 0..<voxels where ours.data[i] != theirs.data[i] {
                    differing += 1
                    let a = Int(ours.data[i]), b = Int(theirs.data[i])
                    if abs(q[a * voxels + i] - q[b * voxels + i]) > 1e-3 { nonTies += 1 }
                }
                let worst = zip(p, q).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
                let beyond = zip(p, q).filter { abs($0 - $1) > 1e-4 }.count
                #expect(nonTies == 0, "\(identifier): \(nonTies) of \(differing) differing labels are no ties")
                #expect(differing <= 2, "\(identifier): \(differing) labels differ from v2")
                #expect(worst < 1e-3, "\(identifier): largest probability difference \(worst)")
                #expect(beyond * 1000 < voxels * classes, "\(identifier): \(beyond) probabilities differ by > 1e-4")
                // CASE.pkl: the same dict as v2's, up to v2's np.float64 scalars being plain floats here.
                let ourProperties = try PickleReader.read(contentsOf: output.appendingPathComponent(identifier + ".pkl"))
                let theirProperties = try PickleReader.read(contentsOf: reference.appendingPathComponent(
                    identifier + ".pkl"))
                #expect(ourProperties == theirProperties)
            }
            // --continue_prediction: every case exists, nothing is predicted again.
            if !mirroring {
                run.overwrite = false
                #expect(try run.run(model: model).skipped == Self.cases)
            }
        }
    }

    /// A copy of the model folder (the checkpoint linked) whose `plans.json` text is edited by `edit`.
    static func modelCopy(in folder: URL, editingPlans edit: (String) -> String) throws -> URL {
        let copy = folder.appendingPathComponent("model", isDirectory: true)
        try FileManager.default.createDirectory(at: copy.appendingPathComponent("fold_0"),
                                                withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            at: copy.appendingPathComponent("fold_0/checkpoint_final.pth"),
            withDestinationURL: modelFolder.appendingPathComponent("fold_0/checkpoint_final.pth"))
        try FileManager.default.copyItem(at: modelFolder.appendingPathComponent("dataset.json"),
                                         to: copy.appendingPathComponent("dataset.json"))
        let plans = try String(contentsOf: modelFolder.appendingPathComponent("plans.json"), encoding: .utf8)
        try edit(plans).write(to: copy.appendingPathComponent("plans.json"), atomically: true, encoding: .utf8)
        return copy
    }

    /// Loads `model` (as the command does before anything is written) and expects an error whose text contains every
    /// string of `fragments`; the output folder must not come into existence.
    static func expectRefusal(_ model: URL, folds: [Fold] = [.index(0)], output: URL, _ fragments: [String],
                              sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let trained = try V2TrainedModel(modelFolder: model, folds: folds)
            try V2FolderPrediction(inputFolder: root.appendingPathComponent("imagesTs"), outputFolder: output)
                .run(model: trained)
            Issue.record("no error", sourceLocation: sourceLocation)
        } catch {
            let text = "\(error)"
            for fragment in fragments {
                #expect(text.contains(fragment), "'\(fragment)' not in: \(text)", sourceLocation: sourceLocation)
            }
        }
        #expect(!FileManager.default.fileExists(atPath: output.path), sourceLocation: sourceLocation)
    }

    @Test("an unsupported network class is named, nothing is written")
    func unsupportedNetwork() throws {
        try TestSupport.withTemporaryFolder { folder in
            let model = try Self.modelCopy(in: folder) {
                $0.replacingOccurrences(of: "architectures.unet.PlainConvUNet",
                                        with: "architectures.primus.Primus")
            }
            Self.expectRefusal(model, output: folder.appendingPathComponent("out"),
                               ["architectures.primus.Primus", "network_class_name", "plans.json"])
        }
        // A supported class whose network the checkpoint's weights do not fit: the missing parameter is named.
        try TestSupport.withTemporaryFolder { folder in
            let model = try Self.modelCopy(in: folder) {
                $0.replacingOccurrences(of: "architectures.unet.PlainConvUNet",
                                        with: "architectures.unet.ResidualEncoderUNet")
                    .replacingOccurrences(of: "\"n_conv_per_stage\"", with: "\"n_blocks_per_stage\"")
            }
            Self.expectRefusal(model, output: folder.appendingPathComponent("out"),
                               ["checkpoint_final.pth", "encoder.stages.0.0.convs.0.", "ResidualEncoderUNet does not have"])
        }
    }

    @Test("a missing fold names its checkpoint, nothing is written")
    func missingFold() throws {
        try TestSupport.withTemporaryFolder { folder in
            Self.expectRefusal(Self.modelFolder, folds: [.index(1)], output: folder.appendingPathComponent("out"),
                               ["fold_1/checkpoint_final.pth", "does not exist"])
        }
    }

    @Test("a weight of another shape than the plans' network names the parameter, nothing is written")
    func wrongShape() throws {
        try TestSupport.withTemporaryFolder { folder in
            // The plans ask for 96 bottleneck features; the checkpoint's tensors have 80.
            let model = try Self.modelCopy(in: folder) {
                $0.replacingOccurrences(of: "64,\n                        80\n", with: "64,\n                        96\n")
            }
            Self.expectRefusal(model, output: folder.appendingPathComponent("out"),
                               ["encoder.stages.4.0.convs.0.conv.weight", "[80, 64, 3, 3, 3]", "[96, 64, 3, 3, 3]"])
        }
    }

    @Test("plans.json without a key names the file and the field, nothing is written")
    func missingPlansKey() throws {
        try TestSupport.withTemporaryFolder { folder in
            let model = try Self.modelCopy(in: folder) {
                // Drop 3d_fullres's patch_size (the 2d configuration's comes first in the file).
                let marker = "\"3d_fullres\": {"
                guard let start = $0.range(of: marker),
                      let key = $0.range(of: "\"patch_size\": [", range: start.upperBound..<$0.endIndex),
                      let end = $0.range(of: "],", range: key.upperBound..<$0.endIndex) else { return $0 }
                return $0.replacingCharacters(in: key.lowerBound..<end.upperBound, with: "")
            }
            Self.expectRefusal(model, output: folder.appendingPathComponent("out"),
                               ["plans.json", "configurations.3d_fullres.patch_size", "missing"])
        }
    }
}
