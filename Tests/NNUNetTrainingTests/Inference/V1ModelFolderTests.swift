import Foundation
import NNUNetCore
import NNUNetPlanning
import Testing
@testable import NNUNetTraining

/// `reference/v1_model` of the optional test data (22 MB) end to end: the genuine v1 trainer folder loaded by
/// ``TrainedModel`` (plans.pkl, torch checkpoint, .model.pkl) predicts the raw test images as nnU-Net v1's
/// `nnUNet_predict --save_npz` did.
@Suite("A v1 model folder predicts like nnUNet_predict", TestSupport.requiresSharedData("reference/v1_model"))
struct V1ModelFolderTests {
    static let root = TestSupport.reference.appendingPathComponent("v1_model")
    static let trainerFolder = root.appendingPathComponent(
        "results/nnUNet/3d_fullres/Task901_Spheres/nnUNetTrainerV2__nnUNetPlansv2.1")

    @Test("plans.pkl maps onto Plans as its JSON dump says")
    func plansFromPickle() throws {
        let plans = try Plans.loadV1Pickle(from: Self.trainerFolder.appendingPathComponent("plans.pkl"))
        let dump = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.trainerFolder
            .appendingPathComponent("plans.pkl.json"))) as? [String: Any])
        #expect(plans.transposeForward == dump["transpose_forward"] as? [Int])
        #expect(plans.transposeBackward == dump["transpose_backward"] as? [Int])
        #expect(plans.baseNumFeatures == 8 && plans.numClasses == 2 && plans.numStages == 1)
        let stage = try #require(plans.stage(0))
        let dumpStage = try #require((dump["plans_per_stage"] as? [String: Any])?["0"] as? [String: Any])
        #expect(stage.patchSize == [64, 64, 64])
        // (Foundation's JSONSerialization parses some float64 text one ulp off, so numbers are compared through
        // JSONDecoder: the dump decoded as plans must equal the pickle's plans field for field.)
        #expect(try JSONDecoder().decode(Plans.self, from: Data(contentsOf: Self.trainerFolder
            .appendingPathComponent("plans.pkl.json"))) == plans)
        #expect(stage.currentSpacing == [1.2105000019073486, 0.9849999845027924, 1.0109999775886536])
        #expect(stage.poolOpKernelSizes == dumpStage["pool_op_kernel_sizes"] as? [[Int]])
        #expect(stage.doDummy2DDataAug == false)
        #expect(plans.normalizationSchemes == [0: "nonCT"] && plans.useMaskForNorm == [0: false])
        #expect(plans.originalSizes.count == 12)
        // The .model.pkl's own copy of the plans is the same.
        let info = try V1ModelFolder.readModelInfo(Self.trainerFolder.appendingPathComponent(
            "fold_0/model_final_checkpoint.model.pkl"), fallbackPlans: nil)
        #expect(info.trainerName == "nnUNetTrainerV2" && info.stage == 0 && info.plans == plans)
    }

    @Test("a v1 checkpoint without its .model.pkl, and a folder without plans, are named in the error")
    func missingFiles() throws {
        try TestSupport.withTemporaryFolder { folder in
            let trainer = folder.appendingPathComponent("3d_fullres/Task901_Spheres/nnUNetTrainerV2__nnUNetPlansv2.1")
            try FileManager.default.createDirectory(at: trainer.appendingPathComponent("fold_0"),
                                                    withIntermediateDirectories: true)
            #expect { _ = try TrainedModel(trainerFolder: trainer) } throws: { "\($0)".contains("plans.json") }
            try FileManager.default.copyItem(at: Self.trainerFolder.appendingPathComponent("plans.pkl"),
                                             to: trainer.appendingPathComponent("plans.pkl"))
            try FileManager.default.copyItem(at: Self.trainerFolder.appendingPathComponent(
                "fold_0/model_final_checkpoint.model"), to: trainer.appendingPathComponent(
                    "fold_0/model_final_checkpoint.model"))
            #expect { _ = try TrainedModel(trainerFolder: trainer) } throws: { "\($0)".contains(".model.pkl") }
        }
    }

    /// Voxels whose labels differ, after checking shape and geometry are exact.
    static func differingVoxels(_ ours: Volume, reference: URL) throws -> Int {
        let theirs = try NIfTI.read(reference)
        #expect(ours.shape == theirs.shape)
        #expect(ours.geometry.itkSpacing == theirs.geometry.itkSpacing)
        #expect(ours.geometry.itkOrigin == theirs.geometry.itkOrigin)
        #expect(ours.geometry.itkDirection == theirs.geometry.itkDirection)
        return zip(ours.data, theirs.data).filter { $0 != $1 }.count
    }

    /// Voxels where our probabilities, rounded to float16, differ from v1's float16 npz by more than one float16 ulp
    /// (at the larger of the two values) plus the 1e-4 by which the float32 softmax may differ. Also returns the
    /// largest absolute difference.
    static func float16Mismatches(_ ours: [Float], shape: [Int], reference: URL) throws
        -> (mismatches: Int, worst: Float) {
        let theirs = try NPZ.read(reference, member: "softmax")
        #expect(theirs.shape == shape && theirs.dataType == .float16)
        let mine = NPYArray(float16: ours, shape: shape).floats()
        var mismatches = 0
        var worst: Float = 0
        for (a, b) in zip(mine, theirs.floats()) where a != b {
            let difference = abs(a - b)
            worst = max(worst, difference)
            if difference > Float(Float16(max(abs(a), abs(b))).ulp) + 1e-4 { mismatches += 1 }
        }
        return (mismatches, worst)
    }

    @Test("without mirroring: labels, float16 softmax and properties of all three cases")
    func predictionWithoutMirroring() throws {
        let model = try TrainedModel(trainerFolder: Self.trainerFolder, folds: [.index(0)])
        #expect(model.plansFile.lastPathComponent == "plans.pkl")
        #expect(model.folds.first?.configuration.configuration == .fullres)
        model.usesMirroring = false
        for identifier in ["spheres_ts000", "spheres_ts001", "spheres_ts002"] {
            let prediction = try model.predictCase(
                imageFiles: [Self.root.appendingPathComponent("imagesTs/\(identifier)_0000.nii.gz")],
                identifier: identifier, keepingProbabilities: true)
            let differing = try Self.differingVoxels(prediction.labels, reference: Self.root.appendingPathComponent(
                "pred_notta/\(identifier).nii.gz"))
            #expect(differing <= 1, "\(identifier): \(differing) voxels differ from v1")
            let probabilities = try #require(prediction.probabilities)
            let (mismatches, worst) = try Self.float16Mismatches(
                probabilities, shape: prediction.probabilityShape,
                reference: Self.root.appendingPathComponent("pred_notta/\(identifier).npz"))
            #expect(mismatches == 0, "\(identifier): \(mismatches) float16 values off (largest difference \(worst))")
            #expect(worst <= 5e-4, "\(identifier): largest float16 difference \(worst)")
            // Properties: what we would pickle equals what v1 pickled (ints exact, floats as widened float32).
            let theirs = try PreprocessedCaseProperties(
                v1Pickle: PickleReader.read(contentsOf: Self.root.appendingPathComponent("pred_notta/\(identifier).pkl")),
                source: identifier)
            let ours = try PreprocessedCaseProperties(
                v1Pickle: PickleReader(source: "ours").decode(PickleWriter.encode(prediction.properties.v1PickleValue)),
                source: "ours")
            #expect(ours.cropping.originalSizeOfRawData == theirs.cropping.originalSizeOfRawData)
            #expect(ours.cropping.originalSpacing == theirs.cropping.originalSpacing)
            #expect(ours.cropping.cropBBox == theirs.cropping.cropBBox)
            #expect(ours.cropping.sizeAfterCropping == theirs.cropping.sizeAfterCropping)
            #expect(ours.cropping.itkOrigin == theirs.cropping.itkOrigin)
            #expect(ours.cropping.itkSpacing == theirs.cropping.itkSpacing)
            #expect(ours.cropping.itkDirection == theirs.cropping.itkDirection)
            #expect(ours.sizeAfterResampling == theirs.sizeAfterResampling)
            #expect(ours.spacingAfterResampling == theirs.spacingAfterResampling)
        }
    }

    @Test("--mode fast and fastest: argmax before resampling, same grid, nearly the same labels; no -z")
    func fastModes() throws {
        let model = try TrainedModel(trainerFolder: Self.trainerFolder, folds: [.index(0)])
        model.usesMirroring = false
        let image = [Self.root.appendingPathComponent("imagesTs/spheres_ts002_0000.nii.gz")]
        let normal = try model.predict(imageFiles: image)
        for mode in [SegmentationExporter.Mode.fast, .fastest] {
            model.exportMode = mode
            let labels = try model.predict(imageFiles: image)
            #expect(labels.shape == normal.shape && labels.geometry == normal.geometry)
            let differing = zip(labels.data, normal.data).filter { $0 != $1 }.count
            let foreground = normal.data.filter { $0 > 0 }.count
            // Only boundary voxels can change; the case is resampled (spacing 0.98/0.97/1.22 → 1.21/0.99/1.01).
            #expect(differing > 0 && differing < foreground / 10, "\(mode): \(differing) of \(foreground)")
            #expect { _ = try model.predictCase(imageFiles: image, keepingProbabilities: true) }
                throws: { "\($0)".contains("-z") }
        }
    }

    @Test("with mirroring (8 flips): spheres_ts002 labels equal v1's")
    func predictionWithMirroring() throws {
        let model = try TrainedModel(trainerFolder: Self.trainerFolder, folds: [.index(0)])
        let prediction = try model.predictCase(
            imageFiles: [Self.root.appendingPathComponent("imagesTs/spheres_ts002_0000.nii.gz")],
            identifier: "spheres_ts002", keepingProbabilities: true)
        let differing = try Self.differingVoxels(prediction.labels, reference: Self.root.appendingPathComponent(
            "pred_tta/spheres_ts002.nii.gz"))
        #expect(differing <= 1, "\(differing) voxels differ from v1")
        let (mismatches, worst) = try Self.float16Mismatches(
            try #require(prediction.probabilities), shape: prediction.probabilityShape,
            reference: Self.root.appendingPathComponent("pred_tta/spheres_ts002.npz"))
        #expect(mismatches == 0 && worst <= 5e-4, "\(mismatches) float16 values off (largest difference \(worst))")
        // Mirroring matters: the no-TTA segmentation differs from v1's TTA one in hundreds of voxels.
        let plain = try NIfTI.read(Self.root.appendingPathComponent("pred_notta/spheres_ts002.nii.gz"))
        #expect(zip(prediction.labels.data, plain.data).filter { $0 != $1 }.count > 100)
    }
}

@Suite("convert-v1-model")
struct V1ModelConversionTests {
    @Test("the converted folder loads with identical weights, momentum, epoch and copied files",
          TestSupport.requiresSharedData("reference/v1_model"))
    func conversion() throws {
        try TestSupport.withTemporaryFolder { folder in
            let output = folder.appendingPathComponent("3d_fullres/Task901_Spheres/nnUNetTrainerV2__nnUNetPlansv2.1")
            let report = try V1ModelConversion.convert(trainerFolder: V1ModelFolderTests.trainerFolder, to: output)
            #expect(report.checkpoints == ["fold_0/model_final_checkpoint"])
            #expect(report.copiedFiles.contains("fold_0/validation_raw/summary.json"))
            #expect(report.copiedFiles.contains("fold_0/postprocessing.json"))
            #expect(!FileManager.default.fileExists(atPath: output.appendingPathComponent("plans.pkl").path))
            let original = try TrainedModel(trainerFolder: V1ModelFolderTests.trainerFolder, folds: [.index(0)])
            let converted = try TrainedModel(trainerFolder: output, folds: [.index(0)])
            #expect(converted.plansFile.lastPathComponent == "plans.json")
            #expect(converted.plans == original.plans)
            #expect(converted.folds[0].configuration == original.folds[0].configuration)
            let a = original.folds[0].network.namedParameters(), b = converted.folds[0].network.namedParameters()
            #expect(a.map(\.name) == b.map(\.name))
            for (x, y) in zip(a, b) { #expect(x.parameter.data == y.parameter.data, "\(x.name)") }
            let (metadata, tensors) = try NetworkTrainer.readCheckpoint(output.appendingPathComponent(
                "fold_0/model_final_checkpoint.model"))
            #expect(metadata.epoch == 5 && metadata.trainer == "nnUNetTrainerV2" && metadata.log.trainLosses.count == 5)
            // 79 momentum buffers: seg_outputs.0.weight never had a gradient in v1 (its loss weight is 0).
            let momenta = tensors.keys.filter { $0.hasPrefix(NetworkTrainer.momentumPrefix) }
            #expect(momenta.count == 79)
            #expect(tensors[NetworkTrainer.momentumPrefix + "seg_outputs.0.weight"] == nil)
        }
    }

    @Test("a folder without plans.pkl is refused by name")
    func notAV1Folder() throws {
        try TestSupport.withTemporaryFolder { folder -> Void in
            #expect { try V1ModelConversion.convert(trainerFolder: folder, to: folder.appendingPathComponent("out")) }
                throws: { "\($0)".contains("plans.pkl") }
        }
    }
}

@Suite("-pretrained_weights", TestSupport.requiresSharedData("reference/v1_model"))
struct PretrainedWeightsTests {
    static let v1Checkpoint = V1ModelFolderTests.trainerFolder.appendingPathComponent(
        "fold_0/model_final_checkpoint.model")

    @Test("v1 weights load into the same architecture; another class count keeps the fresh heads")
    func v1Weights() throws {
        var generator = SeededGenerator(seed: 1)
        let same = GenericUNet(inputChannels: 1, baseFeatures: 8, classCount: 3,
                               poolKernels: Array(repeating: [2, 2, 2], count: 4),
                               convKernels: Array(repeating: [3, 3, 3], count: 5), generator: &generator)
        let report = try PretrainedWeights.load(Self.v1Checkpoint, into: same)
        #expect(report.kept.isEmpty && report.loaded.count == 80)
        let reference = try V1ModelFolder.loadFold(weights: Self.v1Checkpoint,
                                                   trainerFolder: V1ModelFolderTests.trainerFolder, folderPlans: nil)
        for (a, b) in zip(same.namedParameters(), reference.network.namedParameters()) {
            #expect(a.parameter.data == b.parameter.data, "\(a.name)")
        }
        let fiveClasses = GenericUNet(inputChannels: 1, baseFeatures: 8, classCount: 5,
                                      poolKernels: Array(repeating: [2, 2, 2], count: 4),
                                      convKernels: Array(repeating: [3, 3, 3], count: 5), generator: &generator)
        let partial = try PretrainedWeights.load(Self.v1Checkpoint, into: fiveClasses)
        #expect(Set(partial.kept) == ["seg_outputs.0.weight", "seg_outputs.1.weight", "seg_outputs.2.weight",
                                      "seg_outputs.3.weight"])
    }

    @Test("another encoder (base features) is refused naming the parameter")
    func incompatible() throws {
        var generator = SeededGenerator(seed: 1)
        let wider = GenericUNet(inputChannels: 1, baseFeatures: 16, classCount: 3,
                                poolKernels: Array(repeating: [2, 2, 2], count: 4),
                                convKernels: Array(repeating: [3, 3, 3], count: 5), generator: &generator)
        #expect { try PretrainedWeights.load(Self.v1Checkpoint, into: wider) }
            throws: { "\($0)".contains("conv_blocks") && "\($0)".contains("architectures differ") }
    }
}
