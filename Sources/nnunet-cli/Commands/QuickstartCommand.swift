import ArgumentParser
import Foundation
import NNUNetCore
import NNUNetEvaluation
import NNUNetPlanning
import NNUNetTraining

/// `nnunet quickstart`: the whole workflow on a generated dataset, in one folder, with no setup.
struct QuickstartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quickstart",
        abstract: "Generate a small synthetic task and run plan, train, predict and evaluate on it.",
        discussion: """
            Everything goes into one folder (default ./nnunet_quickstart): nnUNet_raw_data_base, nnUNet_preprocessed \
            and nnUNet_trained_models inside it, so no environment variable is needed. The training budget is small \
            (a few minutes on 2 cores); raise --epochs and --iterations-per-epoch for a better model. At the end it \
            prints where every artefact is and the commands that do each step by hand.
            """
    )

    @Argument(help: "Working folder.") var folder = "nnunet_quickstart"
    @Option(name: .customLong("epochs"), help: "Training epochs.") var epochs = 12
    @Option(name: .customLong("iterations-per-epoch"), help: "Training iterations per epoch.") var iterations = 15
    @Option(name: .customLong("validation-iterations"), help: "Validation iterations per epoch.")
    var validationIterations = 3
    @Option(name: .customLong("seed"), help: "Seed of the generated data.") var seed: UInt64 = 1

    func run() throws {
        let start = Date()
        let root = URL(fileURLWithPath: folder, isDirectory: true).standardizedFileURL
        let paths = NNUNetPaths.inside(root)
        func step(_ text: String) { print(String(format: "\n[%5.0f s] ", Date().timeIntervalSince(start)) + text) }

        step("1/5 Generating a synthetic task (nested ellipsoids, 2 labels) in \(try paths.rawData().path)")
        var synthetic = SyntheticTaskConfiguration()
        synthetic.taskID = 500
        synthetic.name = "Quickstart"
        synthetic.trainingCases = 12
        synthetic.testCases = 4
        synthetic.shape = [32, 36, 32]
        synthetic.seed = seed
        let task = try SyntheticTaskGenerator.generate(synthetic, rawDataFolder: try paths.rawData())
        let taskName = task.lastPathComponent

        step("2/5 Planning and preprocessing (nnunet plan-and-preprocess -t 500 -pl2d None)")
        var options = PlanAndPreprocess.Options()
        options.planner2D = nil
        options.threadsFullres = ThreadSettings.defaultThreads
        options.threadsLowres = ThreadSettings.defaultThreads
        let planned = try PlanAndPreprocess.run(taskName: taskName, paths: paths, options: options)
        print(PlanAndPreprocess.summary(planned))

        step("3/5 Training 3d_fullres fold 0 for \(epochs) x \(iterations) iterations")
        var request = TrainingRequest(configuration: .fullres, trainerName: "nnUNetTrainerV2", task: "500",
                                      fold: .index(0))
        request.epochs = epochs
        request.iterationsPerEpoch = iterations
        request.validationIterations = validationIterations
        let trainer = try TrainingRunner.train(request, paths: paths)
        let trainerFolder = trainer.outputFolder.deletingLastPathComponent()

        step("4/5 Predicting the \(synthetic.testCases) test images")
        let predictions = root.appendingPathComponent("predictions_3d_fullres", isDirectory: true)
        var predictionOptions = FolderPredictor.Options()
        predictionOptions.overwritesExisting = true  // a rerun of the quickstart predicts with its new model
        predictionOptions.purpose = "nnunet quickstart"
        try FolderPredictor(modelFolder: trainerFolder, options: predictionOptions)
            .predict(.folder(task.appendingPathComponent("imagesTs")), into: predictions) { event in
                if case let .caseFinished(item, seconds) = event {
                    print("  \(item.identifier) (" + String(format: "%.1f s", seconds) + ")")
                }
            }

        step("5/5 Evaluating against the test labels")
        let summary = try FolderEvaluation.evaluateFolder(reference: task.appendingPathComponent("labelsTs"),
                                                          prediction: predictions,
                                                          options: EvaluationOptions(labels: [1, 2]))
        let dice = [1, 2].map { summary.meanDice(of: $0) }
        let trainingMinutes = Date().timeIntervalSince(start) / 60
        print("""

            Artefacts:
              raw task            \(task.path)
              plans               \(planned.first?.file.path ?? "")
              model (fold 0)      \(trainer.outputFolder.path)   (progress.png, training_log_*.txt, checkpoints)
              validation summary  \(trainer.outputFolder.appendingPathComponent("validation_raw/summary.json").path)
              predictions         \(predictions.path)
              test summary        \(predictions.appendingPathComponent("summary.json").path)

            The same steps by hand:
              export nnUNet_raw_data_base=\(paths.rawDataBase?.path ?? "") nnUNet_preprocessed=\(paths.preprocessed?.path ?? "") RESULTS_FOLDER=\(paths.results?.path ?? "")
              nnunet generate-synthetic-task -t 500 --name Quickstart --shape 32 36 32 --training-cases 12 --test-cases 4 --seed \(seed)
              nnunet plan-and-preprocess -t 500 -pl2d None
              nnunet train 3d_fullres nnUNetTrainerV2 500 0 --epochs \(epochs) --iterations-per-epoch \(iterations)
              nnunet predict -i \(task.appendingPathComponent("imagesTs").path) -o \(predictions.path) -t 500 -m 3d_fullres -f 0
              nnunet evaluate-folder -ref \(task.appendingPathComponent("labelsTs").path) -pred \(predictions.path) -l 1 2

            Test-set Dice: label 1 (shell) \(String(format: "%.4f", dice[0])), label 2 (core) \(String(format: "%.4f", dice[1]))
            Total time: \(String(format: "%.1f", trainingMinutes)) minutes
            mean foreground Dice: \(String(format: "%.4f", dice.reduce(0, +) / 2))
            """)
    }
}
