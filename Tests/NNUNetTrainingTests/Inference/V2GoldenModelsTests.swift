import Foundation
import NNUNetCore
import NNUNetEvaluation
@testable import NNUNetTraining
import Testing

/// Small nnU-Net v2 models made with nnunetv2 2.8.1 itself (`Tests/Fixtures/v2_models`, see its README): a ResEnc M
/// network, a region-based (sigmoid) dataset, CT normalisation, a 2d model and a 3d_lowres → 3d_cascade_fullres
/// cascade, each with what `nnUNetv2_predict_from_modelfolder` wrote with and without mirroring. Ours must give the
/// same labels (0 differing voxels), probabilities within float16 rounding of v2's, the same `CASE.pkl` and geometry.
@Suite("v2 models made by nnunetv2 predict like nnUNetv2_predict")
struct V2GoldenModelsTests {
    static let root = TestSupport.fixtures.appendingPathComponent("v2_models")
    static let images = root.appendingPathComponent("images")

    /// A model of the fixture: its folder, the reference output folder name prefix and the previous stage's folder.
    struct Case: Sendable, CustomStringConvertible {
        var model: String
        var configuration: String
        var referencePrefix = "pred"
        var previousStage: String?
        var mirroring: Bool
        var description: String { "\(model)/\(configuration) \(mirroring ? "with" : "without") mirroring" }
    }

    static let cases: [Case] = [true, false].flatMap { mirroring in [
        Case(model: "resenc", configuration: "3d_fullres", mirroring: mirroring),
        Case(model: "regions", configuration: "3d_fullres", mirroring: mirroring),
        Case(model: "ct", configuration: "3d_fullres", mirroring: mirroring),
        Case(model: "2d", configuration: "2d", mirroring: mirroring),
        Case(model: "cascade", configuration: "3d_lowres", referencePrefix: "pred_lowres", mirroring: mirroring),
        Case(model: "cascade", configuration: "3d_cascade_fullres", previousStage: "pred_lowres", mirroring: mirroring),
    ] }

    /// The `TRAINER__PLANS__CONFIGURATION` folder of `model` for `configuration`.
    static func modelFolder(_ model: String, _ configuration: String) throws -> URL {
        let results = root.appendingPathComponent(model).appendingPathComponent("results")
        let manager = FileManager.default
        for dataset in try manager.contentsOfDirectory(atPath: results.path).sorted() {
            let folder = results.appendingPathComponent(dataset)
            for name in try manager.contentsOfDirectory(atPath: folder.path) where name.hasSuffix("__" + configuration) {
                return folder.appendingPathComponent(name)
            }
        }
        throw TrainingError.unusableModel("no \(configuration) folder in \(results.path)")
    }

    @Test("labels, probabilities, properties and geometry", arguments: cases)
    func predictsLikeV2(_ item: Case) throws {
        let model = try V2TrainedModel(modelFolder: try Self.modelFolder(item.model, item.configuration))
        model.usesMirroring = item.mirroring
        let suffix = item.mirroring ? "_tta" : "_notta"
        let reference = Self.root.appendingPathComponent(item.model).appendingPathComponent(item.referencePrefix + suffix)
        try TestSupport.withTemporaryFolder { output in
            var run = V2FolderPrediction(inputFolder: Self.images, outputFolder: output)
            run.saveProbabilities = true
            // v2's cascade outputs were made from v2's own previous-stage predictions of the same mode.
            run.previousStageFolder = item.previousStage.map {
                Self.root.appendingPathComponent(item.model).appendingPathComponent($0 + suffix)
            }
            let summary = try run.run(model: model)
            #expect(summary.predicted == ["spheres_ts000", "spheres_ts001"])
            for identifier in summary.predicted {
                let ours = try NIfTI.read(output.appendingPathComponent(identifier + ".nii.gz"))
                let theirs = try NIfTI.read(reference.appendingPathComponent(identifier + ".nii.gz"))
                #expect(ours.shape == theirs.shape && ours.geometry == theirs.geometry)
                let differing = zip(ours.data, theirs.data).filter { $0 != $1 }.count
                #expect(differing == 0, "\(item) \(identifier): \(differing) labels differ from v2")
                // Without probabilities the export takes another path (a running argmax): the same labels.
                let labelsOnly = try model.predictCase(
                    imageFiles: [Self.images.appendingPathComponent(identifier + "_0000.nii.gz")],
                    identifier: identifier, previousStage: run.previousStageFolder.map {
                        $0.appendingPathComponent(identifier + ".nii.gz")
                    }, keepingProbabilities: false)
                #expect(labelsOnly.probabilities == nil && labelsOnly.labels.data == theirs.data,
                        "\(item) \(identifier): the labels-only export differs")
                #expect(theirs.data.contains { $0 != 0 }, "the reference has foreground")
                // v2's probabilities were kept for one case per mode.
                let npz = reference.appendingPathComponent(identifier + ".npz")
                guard FileManager.default.fileExists(atPath: npz.path) else { continue }
                let p = try NPZ.read(output.appendingPathComponent(identifier + ".npz"), member: "probabilities")
                let q = try NPZ.read(npz, member: "probabilities")
                #expect(p.shape == q.shape && p.dataType == .float32)
                let ourValues = p.floats(), theirValues = q.floats()
                let worst = zip(ourValues, theirValues).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
                let beyond = zip(ourValues, theirValues).filter { abs($0 - $1) > 1e-4 }.count
                // The logits are float16 (as in v2): one rounding step apart moves a probability by up to ~5e-4.
                #expect(worst < 1e-3, "\(item) \(identifier): largest probability difference \(worst)")
                #expect(beyond * 1000 < ourValues.count,
                        "\(item) \(identifier): \(beyond) of \(ourValues.count) probabilities differ by > 1e-4")
                let ourProperties = try PickleReader.read(contentsOf: output.appendingPathComponent(identifier + ".pkl"))
                // A cascade stage's also holds v2's `class_locations`: seeded samples of the previous stage's labels.
                let theirProperties = try PickleReader.read(contentsOf: reference.appendingPathComponent(
                    identifier + ".pkl"))
                #expect(ourProperties == theirProperties)
                #expect((ourProperties["class_locations"] != nil) == (item.previousStage != nil))
            }
        }
    }

    @Test("the networks the planners chose: ResidualEncoderUNet, 2D PlainConvUNet, cascade input channels")
    func networks() throws {
        let resenc = try V2TrainedModel(modelFolder: try Self.modelFolder("resenc", "3d_fullres"))
        #expect(resenc.folds.first?.network is ResidualEncoderUNet)
        let flat = try V2TrainedModel(modelFolder: try Self.modelFolder("2d", "2d"))
        #expect((flat.folds.first?.network as? PlainConvUNet)?.configuration.spatialRank == 2)
        let cascade = try V2TrainedModel(modelFolder: try Self.modelFolder("cascade", "3d_cascade_fullres"))
        #expect(cascade.needsPreviousStage)
        // One image channel plus one channel per foreground label (1, 2).
        #expect((cascade.folds.first?.network as? PlainConvUNet)?.configuration.inputChannels == 3)
        let regions = try V2TrainedModel(modelFolder: try Self.modelFolder("regions", "3d_fullres"))
        #expect(regions.dataset.hasRegions && regions.dataset.segmentationHeadCount == 2)
        let ct = try V2TrainedModel(modelFolder: try Self.modelFolder("ct", "3d_fullres"))
        #expect(ct.configuration.normalizationSchemes == ["CTNormalization"])
    }

    @Test("a cascade stage without the previous stage's predictions, or with a missing case, writes nothing")
    func cascadeRefusals() throws {
        let model = try V2TrainedModel(modelFolder: try Self.modelFolder("cascade", "3d_cascade_fullres"))
        try TestSupport.withTemporaryFolder { folder in
            let output = folder.appendingPathComponent("out")
            var run = V2FolderPrediction(inputFolder: Self.images, outputFolder: output)
            #expect(throws: TrainingError.self) { try run.run(model: model) }
            // A previous-stage folder lacking one case names the missing file.
            let partial = folder.appendingPathComponent("lowres")
            try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                at: Self.root.appendingPathComponent("cascade/pred_lowres_notta/spheres_ts000.nii.gz"),
                to: partial.appendingPathComponent("spheres_ts000.nii.gz"))
            run.previousStageFolder = partial
            do {
                try run.run(model: model)
                Issue.record("a missing previous-stage case was accepted")
            } catch {
                #expect(String(describing: error).contains("spheres_ts001.nii.gz"))
            }
            #expect(!FileManager.default.fileExists(atPath: output.path))
            // A model that is no cascade stage refuses -prev_stage_predictions.
            let lowres = try V2TrainedModel(modelFolder: try Self.modelFolder("cascade", "3d_lowres"))
            do {
                try run.run(model: lowres)
                Issue.record("-prev_stage_predictions accepted for a 3d_lowres model")
            } catch {
                #expect(String(describing: error).contains("no previous stage"))
            }
            #expect(!FileManager.default.fileExists(atPath: output.path))
        }
    }

    @Test("postprocessing.pkl applied as nnUNetv2_apply_postprocessing: v2's own choice and a crafted one",
          arguments: [("postprocessing.pkl", "_pp"), ("postprocessing_crafted_largest_component.pkl", "_pp_crafted")])
    func postprocessing(file: String, suffix: String) throws {
        let folder = Self.root.appendingPathComponent("postprocessing")
        let postprocessing = try V2Postprocessing(contentsOf: folder.appendingPathComponent(file))
        // v2's find_best_configuration chose nothing for this model; the crafted pickle has three steps.
        #expect(postprocessing.steps.count == (suffix == "_pp" ? 0 : 3))
        var changed = 0
        for mode in ["tta", "notta"] {
            try TestSupport.withTemporaryFolder { output in
                let input = Self.root.appendingPathComponent("ct/pred_\(mode)")
                let names = try postprocessing.apply(inputFolder: input, outputFolder: output, fileEnding: ".nii.gz")
                #expect(names == ["spheres_ts000.nii.gz", "spheres_ts001.nii.gz"])
                for name in names {
                    let ours = try NIfTI.read(output.appendingPathComponent(name))
                    let theirs = try NIfTI.read(folder.appendingPathComponent("pred_\(mode)\(suffix)/\(name)"))
                    let before = try NIfTI.read(input.appendingPathComponent(name))
                    #expect(ours.shape == theirs.shape && ours.geometry == theirs.geometry)
                    let differing = zip(ours.data, theirs.data).filter { $0 != $1 }.count
                    #expect(differing == 0, "\(file) \(mode) \(name): \(differing) voxels differ from v2")
                    changed += zip(before.data, ours.data).filter { $0 != $1 }.count
                }
            }
        }
        // The crafted steps remove voxels (so the comparison above is not of unchanged files).
        #expect(suffix == "_pp" ? changed == 0 : changed > 0)
    }

    /// A copy of the ResEnc fixture model (checkpoint linked) whose plans.json / dataset.json objects are edited.
    static func editedResEnc(in folder: URL, plans editPlans: (inout [String: Any]) -> Void = { _ in },
                             dataset editDataset: (inout [String: Any]) -> Void = { _ in }) throws -> URL {
        let source = try modelFolder("resenc", "3d_fullres")
        let copy = folder.appendingPathComponent("model", isDirectory: true)
        try FileManager.default.createDirectory(at: copy.appendingPathComponent("fold_0"),
                                                withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            at: copy.appendingPathComponent("fold_0/checkpoint_final.pth"),
            withDestinationURL: source.appendingPathComponent("fold_0/checkpoint_final.pth"))
        for name in ["plans.json", "dataset.json"] {
            var object = try #require(try JSONSerialization.jsonObject(
                with: Data(contentsOf: source.appendingPathComponent(name))) as? [String: Any])
            if name == "plans.json" { editPlans(&object) } else { editDataset(&object) }
            try JSONSerialization.data(withJSONObject: object).write(to: copy.appendingPathComponent(name))
        }
        return copy
    }

    /// Expects loading `model` and predicting the fixture images to fail naming every fragment, writing nothing.
    static func expectRefusal(_ model: URL, folds: [Fold]? = nil, output: URL, _ fragments: [String],
                              sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let trained = try V2TrainedModel(modelFolder: model, folds: folds)
            try V2FolderPrediction(inputFolder: images, outputFolder: output).run(model: trained)
            Issue.record("no error", sourceLocation: sourceLocation)
        } catch {
            for fragment in fragments {
                #expect("\(error)".contains(fragment), "'\(fragment)' not in: \(error)", sourceLocation: sourceLocation)
            }
        }
        #expect(!FileManager.default.fileExists(atPath: output.path), sourceLocation: sourceLocation)
    }

    static func editArchitecture(_ plans: inout [String: Any], _ edit: (inout [String: Any]) -> Void) {
        var configurations = plans["configurations"] as? [String: Any] ?? [:]
        var configuration = configurations["3d_fullres"] as? [String: Any] ?? [:]
        var architecture = configuration["architecture"] as? [String: Any] ?? [:]
        edit(&architecture)
        configuration["architecture"] = architecture
        configurations["3d_fullres"] = configuration
        plans["configurations"] = configurations
    }

    @Test("bad model folders are refused naming the file and the field or parameter, nothing is written")
    func badInput() throws {
        try TestSupport.withTemporaryFolder { folder in
            // A network class this port does not build.
            let primus = try Self.editedResEnc(in: folder.appendingPathComponent("a"), plans: { plans in
                Self.editArchitecture(&plans) {
                    $0["network_class_name"] = "dynamic_network_architectures.architectures.primus.PrimusM"
                }
            })
            Self.expectRefusal(primus, output: folder.appendingPathComponent("out"),
                               ["primus.PrimusM", "network_class_name", "plans.json"])
            // Tensors that do not fit the architecture: wider bottleneck than the checkpoint's.
            let wide = try Self.editedResEnc(in: folder.appendingPathComponent("b"), plans: { plans in
                Self.editArchitecture(&plans) { architecture in
                    var kwargs = architecture["arch_kwargs"] as? [String: Any] ?? [:]
                    kwargs["features_per_stage"] = [4, 8, 16, 24]
                    architecture["arch_kwargs"] = kwargs
                }
            })
            Self.expectRefusal(wide, output: folder.appendingPathComponent("out"),
                               ["checkpoint_final.pth", "encoder.stages.3.blocks.0.", "shape"])
            // The loader of this package's and v1's folders says what a v2 folder is and what loads it.
            let resenc = try Self.modelFolder("resenc", "3d_fullres")
            #expect(V2TrainedModel.isModelFolder(resenc))
            do {
                _ = try TrainedModel(trainerFolder: resenc)
                Issue.record("TrainedModel loaded a v2 folder")
            } catch {
                #expect("\(error)".contains("nnU-Net v2 model folder") && "\(error)".contains("predict-from-model-folder"))
            }
            // A fold that was not trained.
            Self.expectRefusal(try Self.modelFolder("resenc", "3d_fullres"), folds: [.index(3)],
                               output: folder.appendingPathComponent("out"),
                               ["fold_3/checkpoint_final.pth", "does not exist"])
            // dataset.json without file_ending; plans.json without the configuration's spacing.
            let noEnding = try Self.editedResEnc(in: folder.appendingPathComponent("c"),
                                                 dataset: { $0["file_ending"] = nil })
            Self.expectRefusal(noEnding, output: folder.appendingPathComponent("out"),
                               ["dataset.json", "file_ending", "missing"])
            let noSpacing = try Self.editedResEnc(in: folder.appendingPathComponent("d"), plans: { plans in
                var configurations = plans["configurations"] as? [String: Any] ?? [:]
                var configuration = configurations["3d_fullres"] as? [String: Any] ?? [:]
                configuration["spacing"] = nil
                configurations["3d_fullres"] = configuration
                plans["configurations"] = configurations
            })
            Self.expectRefusal(noSpacing, output: folder.appendingPathComponent("out"),
                               ["plans.json", "configurations.3d_fullres.spacing", "missing"])
        }
    }
}
