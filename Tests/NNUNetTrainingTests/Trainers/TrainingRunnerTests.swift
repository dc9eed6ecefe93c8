import Foundation
import NNUNetCore
import NNUNetPlanning
import Testing
@testable import NNUNetTraining

/// The real path: generated raw task → plan-and-preprocess → training from the preprocessed stage folder.
@Suite("Training from preprocessed data")
struct TrainingRunnerTests {
    static func preparedPaths(in folder: URL) throws -> NNUNetPaths {
        let paths = NNUNetPaths.inside(folder)
        var configuration = SyntheticTaskConfiguration()
        configuration.taskID = 600
        configuration.name = "Tiny"
        configuration.trainingCases = 5
        configuration.testCases = 1
        configuration.shape = [12, 28, 24]
        configuration.spacing = [2.5, 0.9, 0.9]  // anisotropic: exercises transposition and the separate-z rule
        configuration.obliqueGeometry = true      // non-identity direction and origin must survive export
        configuration.seed = 3
        try SyntheticTaskGenerator.generate(configuration, rawDataFolder: try paths.rawData(), threads: 2)
        var options = PlanAndPreprocess.Options()
        options.planner2D = nil
        options.threadsFullres = 2
        options.threadsLowres = 2
        try PlanAndPreprocess.run(taskName: "Task600_Tiny", paths: paths, options: options)
        return paths
    }

    @Test("nnunet train 3d_fullres nnUNetTrainerV2 600 0 for 2 epochs x 3 iterations, then -c continues")
    func trainAndContinue() throws {
        try TestSupport.withTemporaryFolder { folder in
            let paths = try Self.preparedPaths(in: folder)
            var request = TrainingRequest(configuration: .fullres, trainerName: "nnUNetTrainerV2", task: "600",
                                          fold: .index(0))
            request.epochs = 2
            request.iterationsPerEpoch = 3
            request.validationIterations = 2
            request.verbose = false
            request.savesSoftmax = true
            let trainer = try TrainingRunner.train(request, paths: paths)
            let fold = try paths.trainedModels()
                .appendingPathComponent("3d_fullres/Task600_Tiny/nnUNetTrainerV2__nnUNetPlansv2.1/fold_0")
            #expect(trainer.outputFolder.standardizedFileURL.path == fold.standardizedFileURL.path)
            for name in ["model_final_checkpoint.model", "model_final_checkpoint.model.json", "progress.png", "debug.json"] {
                #expect(FileManager.default.fileExists(atPath: fold.appendingPathComponent(name).path), "\(name)")
            }
            #expect(FileManager.default.fileExists(atPath: fold.deletingLastPathComponent()
                .appendingPathComponent("plans.json").path))
            let preprocessed = try paths.preprocessedData().appendingPathComponent("Task600_Tiny")
            #expect(try CrossValidationSplits.load(from: preprocessed)?.count == 5)
            #expect(trainer.trainingCases.count == 4 && trainer.validationCases.count == 1)
            #expect(trainer.log.epoch == 2 && trainer.log.trainLosses.allSatisfy(\.isFinite))
            // Validation after training: predictions in the original geometry, ground truth, summary, postprocessing.
            let validation = fold.appendingPathComponent("validation_raw")
            let validationCase = try #require(trainer.validationCases.first)
            let predicted = try NIfTI.read(validation.appendingPathComponent(validationCase + ".nii.gz"))
            let truth = try NIfTI.read(fold.deletingLastPathComponent().appendingPathComponent(
                "gt_niftis/\(validationCase).nii.gz"))
            #expect(predicted.shape == truth.shape && predicted.geometry.isClose(to: truth.geometry))
            let summaryText = try String(contentsOf: validation.appendingPathComponent("summary.json"), encoding: .utf8)
            #expect(summaryText.contains("nnUNetTrainerV2 val tiled True") && summaryText.contains("Task600_Tiny"))
            #expect(FileManager.default.fileExists(atPath: fold.appendingPathComponent("postprocessing.json").path))
            // --npz: float16 softmax at the cropped size + properties that load back; their argmax, pasted at the crop
            // box, is the exported segmentation except where float16 rounding creates near-ties.
            let properties = try PreprocessedCaseProperties(v1Pickle: PickleReader.read(contentsOf: validation
                .appendingPathComponent(validationCase + ".pkl")), source: validationCase)
            let softmax = try NPZ.read(validation.appendingPathComponent(validationCase + ".npz"), member: "softmax")
            let cropped = properties.cropping.sizeAfterCropping, box = properties.cropping.cropBBox
            #expect(softmax.dataType == .float16 && softmax.shape == [3] + cropped)
            #expect(properties.cropping.originalSizeOfRawData == predicted.shape)
            let values = softmax.floats(), voxels = cropped.reduce(1, *)
            var disagreements = 0
            for z in 0..<cropped[0] {
                for y in 0..<cropped[1] {
                    for x in 0..<cropped[2] {
                        let i = (z * cropped[1] + y) * cropped[2] + x
                        var best = 0
                        for k in 1..<3 where values[k * voxels + i] > values[best * voxels + i] { best = k }
                        let j = ((z + box[0][0]) * predicted.shape[1] + y + box[1][0]) * predicted.shape[2] + x + box[2][0]
                        if Float(best) != predicted.data[j] { disagreements += 1 }
                    }
                }
            }
            #expect(disagreements <= 5, "\(disagreements) voxels")

            // Prediction of a raw test image through the Swift API: the input's exact shape and geometry.
            let model = try TrainedModel(trainerFolder: fold.deletingLastPathComponent())
            model.usesMirroring = false
            let image = try paths.rawData().appendingPathComponent("Task600_Tiny/imagesTs/tiny_ts000_0000.nii.gz")
            let labels = try model.predict(imageFiles: [image])
            let input = try NIfTI.read(image)
            #expect(labels.shape == input.shape && labels.geometry.isClose(to: input.geometry))
            #expect(Set(labels.data).isSubset(of: [0, 1, 2]))

            let debug = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: fold.appendingPathComponent(
                "debug.json"))) as? [String: Any])
            #expect(debug["trainer"] as? String == "nnUNetTrainerV2" && (debug["val_cases"] as? [String])?.count == 1)

            // -pretrained_weights: a fresh run (fold 1) starts from fold 0's weights; every parameter is taken.
            var fineTune = TrainingRequest(configuration: .fullres, trainerName: "nnUNetTrainerV2", task: "600",
                                           fold: .index(1))
            fineTune.pretrainedWeights = fold.appendingPathComponent("model_final_checkpoint.model")
            fineTune.epochs = 1
            fineTune.iterationsPerEpoch = 1
            fineTune.validationIterations = 1
            fineTune.runsValidation = false
            fineTune.verbose = false
            _ = try TrainingRunner.train(fineTune, paths: paths)
            let fineTuneLog = try FileManager.default.contentsOfDirectory(atPath: fold.deletingLastPathComponent()
                .appendingPathComponent("fold_1").path).filter { $0.hasPrefix("training_log") }
            let logText = try fineTuneLog.map { try String(contentsOf: fold.deletingLastPathComponent()
                .appendingPathComponent("fold_1/\($0)"), encoding: .utf8) }.joined()
            let parameterCount = try #require(trainer.unet).namedParameters().count
            #expect(logText.contains("Loaded \(parameterCount) pretrained parameters"))

            // -c with more epochs continues from the final checkpoint.
            request.continueTraining = true
            request.epochs = 3
            let continued = try TrainingRunner.train(request, paths: paths)
            #expect(continued.log.epoch == 3 && continued.log.trainLosses.prefix(2) == trainer.log.trainLosses.prefix(2))
        }
    }

    /// A user's trainer with its own loss (Dice + 100, recognisable in the log), registered by name and trained
    /// through the same runner as `nnunet train`, as Examples/CustomLossTrainer does.
    final class ShiftedDiceTrainer: NNUNetTrainerV2 {
        override class var trainerName: String { "ShiftedDiceTrainer" }
        override func makeLoss() -> any SegmentationLoss {
            let dice = SoftDiceLoss(batchDice: configuration.usesBatchDice)
            return AnyLoss { logits, target in dice(logits: logits, target: target) + 100 }
        }
    }

    @Test("a registered user trainer's loss is the one used by the runner")
    func userTrainer() throws {
        try TestSupport.withTemporaryFolder { folder in
            let paths = try Self.preparedPaths(in: folder)
            var registry = TrainerRegistry()
            registry.register(ShiftedDiceTrainer.self, as: "ShiftedDiceTrainer")
            var request = TrainingRequest(configuration: .fullres, trainerName: "ShiftedDiceTrainer",
                                          task: "600", fold: .index(0))
            request.epochs = 1
            request.iterationsPerEpoch = 2
            request.validationIterations = 1
            request.runsValidation = false
            request.verbose = false
            // Only the registry the program passes knows the trainer: the standard one refuses it.
            #expect(throws: TrainingError.self) { try TrainingRunner.makeTrainer(request, paths: paths) }
            let trainer = try TrainingRunner.train(request, paths: paths, registry: registry)
            let loss = try #require(trainer.log.trainLosses.first)
            // Dice alone lies in [-1, 0]; deep-supervision weights sum to 1, so the shifted loss lies in [99, 100].
            #expect(loss >= 99 && loss <= 100, "\(loss)")
            let (metadata, _) = try NetworkTrainer.readCheckpoint(trainer.outputFolder.appendingPathComponent(
                "model_final_checkpoint.model"))
            #expect(metadata.trainer == "ShiftedDiceTrainer")
        }
    }

    @Test("bad requests: unknown trainer, bad fold, missing plans, -c without checkpoint")
    func badRequests() throws {
        try TestSupport.withTemporaryFolder { folder in
            let paths = NNUNetPaths.inside(folder)
            var configuration = SyntheticTaskConfiguration()
            configuration.trainingCases = 2
            configuration.testCases = 0
            configuration.shape = [12, 12, 12]
            try SyntheticTaskGenerator.generate(configuration, rawDataFolder: try paths.rawData(), threads: 2)
            func error(_ request: TrainingRequest) -> String {
                do { _ = try TrainingRunner.makeTrainer(request, paths: paths); return "" } catch { return "\(error)" }
            }
            #expect(error(TrainingRequest(configuration: .fullres, trainerName: "Nope", task: "500", fold: .index(0)))
                .contains("nnUNetTrainerV2_5epochs"))
            #expect(throws: CoreError.invalidFold("x")) { try Fold(validating: "x") }
            #expect(throws: CoreError.invalidFold("-1")) { try Fold(validating: "-1") }
            #expect("\(CoreError.invalidFold("x"))".contains("'x' is not a fold"))
            #expect(throws: CoreError.unknownConfiguration("3d")) { try NetworkConfiguration(validating: "3d") }
            #expect("\(CoreError.unknownConfiguration("3d"))".contains("2d, 3d_lowres, 3d_fullres, 3d_cascade_fullres"))
            #expect(error(TrainingRequest(configuration: .fullres, trainerName: "nnUNetTrainerV2", task: "500",
                                          fold: .index(0))).contains("plan-and-preprocess -t 500"))
        }
    }
}
