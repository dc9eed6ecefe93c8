import ArgumentParser
import Foundation
import NNUNetCore
import NNUNetPlanning
import NNUNetTraining
import Testing
@testable import nnunet_cli

/// v1's whole workflow on a generated task large enough for a 3d_lowres stage, through the commands a user types:
/// 3d_lowres folds 0-4 (each writes its validation cases to pred_next_stage/) → cascade fold 0 trains and predicts
/// (with -l, and with 3d_lowres run first); 2d and 3d_fullres fold 0 with --npz → find-best-configuration, whose
/// printed commands are then run.
@Suite("cascade, ensembles and model selection end to end", .serialized)
struct CascadeEndToEndTests {
    static let task = "Task640_Cascade"

    /// Five training cases (one validation case per fold) and two test cases, planned with a memory budget small
    /// enough that v1's rule adds a 3d_lowres stage, under the default plans identifier.
    static func prepare(in root: URL) throws -> NNUNetPaths {
        let paths = NNUNetPaths.inside(root)
        var synthetic = SyntheticTaskConfiguration()
        synthetic.taskID = 640
        synthetic.name = "Cascade"
        synthetic.trainingCases = 5
        synthetic.testCases = 2
        synthetic.shape = [40, 48, 44]
        synthetic.seed = 640
        try SyntheticTaskGenerator.generate(synthetic, rawDataFolder: try paths.rawData(), threads: 2)
        var options = PlanAndPreprocess.Options()
        var planner = PlannerConfiguration.threeD(gpuMemoryGB: 0.02)
        planner.plansIdentifier = PlannerConfiguration.default3D.plansIdentifier
        planner.dataIdentifier = PlannerConfiguration.default3D.dataIdentifier
        options.planner3D = planner
        options.threadsLowres = 2
        options.threadsFullres = 2
        let planned = try PlanAndPreprocess.run(taskName: task, paths: paths, options: options)
        #expect(planned.first?.plans.numStages == 2 && planned.count == 2)
        // Plans are editable by hand: 8 instead of 32 base features keeps the networks (and the test) small.
        for configuration in planned {
            var plans = configuration.plans
            plans.baseNumFeatures = 8
            try plans.write(to: configuration.file)
        }
        return paths
    }

    static func command<T: ParsableCommand>(_ arguments: [String], as type: T.Type) throws -> T {
        try #require(try NNUNetCommand.parseAsRoot(arguments) as? T)
    }

    static func train(_ configuration: String, _ trainer: String, fold: String, extra: [String] = [],
                      paths: NNUNetPaths) throws {
        try command(["train", configuration, trainer, "640", fold, "--epochs", "1", "--iterations-per-epoch", "2",
                     "--validation-iterations", "1"] + extra, as: TrainCommand.self).run(paths: paths)
    }

    @Test("3d_lowres x5 -> cascade; 2d + 3d_fullres -> find-best-configuration -> its commands")
    func workflow() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nnunet-cascade-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let paths = try Self.prepare(in: root)
        let models = try paths.trainedModels()
        let lowresFolder = models.appendingPathComponent("3d_lowres/\(Self.task)/nnUNetTrainerV2__nnUNetPlansv2.1")
        let nextStage = PreviousStageSegmentations(folder: lowresFolder.appendingPathComponent("pred_next_stage"))
        let preprocessed = try paths.preprocessedData().appendingPathComponent(Self.task)
        let caseIdentifiers = try PreprocessedDataset(folder: preprocessed.appendingPathComponent(
            "nnUNetData_plans_v2.1_stage1")).cases.map(\.identifier)

        // The cascade is refused before the 3d_lowres cross-validation exists, with the FAQ's advice.
        do {
            try Self.train("3d_cascade_fullres", "nnUNetTrainerV2CascadeFullRes", fold: "0", paths: paths)
            Issue.record("the cascade trained without 3d_lowres predictions")
        } catch {
            #expect("\(error)".contains("DO NOT use fold=all") && "\(error)".contains("pred_next_stage"))
        }
        // A plain trainer cannot train the cascade configuration.
        #expect(throws: TrainingError.self) {
            try Self.train("3d_cascade_fullres", "nnUNetTrainerV2", fold: "0", paths: paths)
        }

        for fold in 0..<4 { try Self.train("3d_lowres", "nnUNetTrainerV2", fold: "\(fold)", paths: paths) }
        // Four folds leave one case without its 3d_lowres segmentation: still refused, naming it.
        let missing = nextStage.missing(among: caseIdentifiers)
        #expect(missing.count == 1)
        #expect(throws: TrainingError.self) {
            try Self.train("3d_cascade_fullres", "nnUNetTrainerV2CascadeFullRes", fold: "0", paths: paths)
        }
        try Self.train("3d_lowres", "nnUNetTrainerV2", fold: "4", paths: paths)
        #expect(nextStage.missing(among: caseIdentifiers).isEmpty)
        // pred_next_stage: uint8 label maps of the stage-1 preprocessed shape.
        for identifier in caseIdentifiers {
            let stage1 = try NPY.read(preprocessed.appendingPathComponent("nnUNetData_plans_v2.1_stage1/\(identifier).npy"))
            let labels = try NPZ.read(nextStage.file(for: identifier), member: "data")
            #expect(labels.dataType == .uint8 && labels.shape == Array(stage1.shape.dropFirst()))
            #expect(Set(labels.floats()).isSubset(of: [0, 1, 2]))
        }

        try Self.train("3d_cascade_fullres", "nnUNetTrainerV2CascadeFullRes", fold: "0", paths: paths)
        let cascadeFold = models.appendingPathComponent(
            "3d_cascade_fullres/\(Self.task)/nnUNetTrainerV2CascadeFullRes__nnUNetPlansv2.1/fold_0")
        #expect(FileManager.default.fileExists(atPath: cascadeFold.appendingPathComponent("validation_raw/summary.json").path))
        let plansText = try String(contentsOf: cascadeFold.deletingLastPathComponent().appendingPathComponent("plans.json"),
                                   encoding: .utf8)
        #expect(plansText.contains("num_classes"))

        // Cascade prediction without -l runs 3d_lowres first; with -l it uses the given folder. Same result.
        let testImages = try paths.rawData().appendingPathComponent("\(Self.task)/imagesTs")
        let cascadeOut = root.appendingPathComponent("pred_cascade"), cascadeOutL = root.appendingPathComponent("pred_cascade_l")
        try Self.command(["predict", "-i", testImages.path, "-o", cascadeOut.path, "-t", "640", "-m", "3d_cascade_fullres",
                          "-f", "0", "--disable_tta"], as: PredictCommand.self).run(paths: paths)
        let lowresPredictions = cascadeOut.appendingPathComponent("3d_lowres_predictions")
        try Self.command(["predict", "-i", testImages.path, "-o", cascadeOutL.path, "-t", "640", "-m", "3d_cascade_fullres",
                          "-f", "0", "--disable_tta", "-l", lowresPredictions.path], as: PredictCommand.self)
            .run(paths: paths)
        for name in try FileManager.default.contentsOfDirectory(atPath: testImages.path) {
            let identifier = String(name.dropLast("_0000.nii.gz".count)) + ".nii.gz"
            let image = try NIfTI.read(testImages.appendingPathComponent(name))
            let lowres = try NIfTI.read(lowresPredictions.appendingPathComponent(identifier))
            let cascade = try NIfTI.read(cascadeOut.appendingPathComponent(identifier))
            let again = try NIfTI.read(cascadeOutL.appendingPathComponent(identifier))
            #expect(lowres.shape == image.shape && cascade.shape == image.shape && cascade.geometry.isClose(to: image.geometry))
            #expect(cascade.data == again.data)
        }
        // -l with a missing case names it; -l with another configuration is refused.
        let partial = root.appendingPathComponent("partial_lowres")
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
        #expect(throws: (any Error).self) {
            try Self.command(["predict", "-i", testImages.path, "-o", root.appendingPathComponent("x").path, "-t", "640",
                              "-m", "3d_cascade_fullres", "-f", "0", "-l", partial.path], as: PredictCommand.self)
                .run(paths: paths)
        }
        #expect(throws: (any Error).self) {
            try Self.command(["predict", "-i", testImages.path, "-o", root.appendingPathComponent("y").path, "-t", "640",
                              "-m", "3d_fullres", "-l", partial.path], as: PredictCommand.self).run(paths: paths)
        }

        // 2d and 3d_fullres with --npz, then model selection over fold 0.
        try Self.train("2d", "nnUNetTrainerV2", fold: "0", extra: ["--npz"], paths: paths)
        try Self.train("3d_fullres", "nnUNetTrainerV2", fold: "0", extra: ["--npz"], paths: paths)
        try Self.command(["find-best-configuration", "-m", "2d", "3d_fullres", "-t", "640", "-f", "0"],
                         as: FindBestConfigurationCommand.self).run(paths: paths)
        let ensembles = models.appendingPathComponent("ensembles/\(Self.task)")
        let csv = try String(contentsOf: ensembles.appendingPathComponent("summary.csv"), encoding: .utf8)
        #expect(csv.hasPrefix("model,class1,class2,average\n"))
        #expect(csv.contains("\n2d,") && csv.contains("\n3d_fullres,")
                && csv.contains("\nensemble_2d__nnUNetTrainerV2__nnUNetPlansv2.1--3d_fullres__nnUNetTrainerV2__nnUNetPlansv2.1,"))
        let commands = try String(contentsOf: ensembles.appendingPathComponent("prediction_commands.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        #expect(!commands.isEmpty)
        // Run what was printed, with real folders in place of the placeholders.
        for line in commands {
            var arguments = line.replacingOccurrences(of: "FOLDER_WITH_TEST_CASES", with: testImages.path)
                .replacingOccurrences(of: "OUTPUT_FOLDER_MODEL", with: root.appendingPathComponent("model").path)
                .replacingOccurrences(of: "OUTPUT_FOLDER", with: root.appendingPathComponent("final").path)
                .split(separator: " ").map(String.init)
            #expect(arguments.first == "nnunet")
            arguments.removeFirst()
            if arguments.first == "predict" {
                try Self.command(arguments + ["--disable_tta"], as: PredictCommand.self).run(paths: paths)
            } else {
                #expect(arguments.first == "ensemble")
                try Self.command(arguments, as: EnsembleCommand.self).run()
            }
        }
        let final = commands.last?.hasPrefix("nnunet ensemble") == true
            ? root.appendingPathComponent("final") : root.appendingPathComponent("model1")
        for name in try FileManager.default.contentsOfDirectory(atPath: testImages.path) {
            let identifier = String(name.dropLast("_0000.nii.gz".count)) + ".nii.gz"
            let image = try NIfTI.read(testImages.appendingPathComponent(name))
            let output = try NIfTI.read(final.appendingPathComponent(identifier))
            #expect(output.shape == image.shape && output.geometry.isClose(to: image.geometry))
        }
    }
}
