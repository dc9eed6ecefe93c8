import ArgumentParser
import Foundation
import NNUNetCore
import NNUNetEvaluation

/// `nnunet find-best-configuration` (v1 `nnUNet_find_best_configuration`).
struct FindBestConfigurationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "find-best-configuration",
        abstract: "Pick the best configuration or ensemble from cross-validation.",
        discussion: """
            Scores every configuration given with -m (all of them must be trained) on its cross-validation, \
            ensembles every pair (their validation must have been run with --npz), and writes \
            prediction_commands.txt and summary.csv into RESULTS_FOLDER/nnUNet/ensembles/TASK. Example:
              nnunet find-best-configuration -m 2d 3d_fullres -t 4
            """,
        aliases: ["find_best_configuration", "nnUNet_find_best_configuration"]
    )

    @Option(name: .customShort("m"), parsing: .upToNextOption,
            help: "Configurations to compare.")
    var models: [NetworkConfiguration] = NetworkConfiguration.allCases
    @Option(name: .customShort("t"), parsing: .upToNextOption, help: "Task ids or names.") var tasks: [String]
    @Option(name: .customLong("tr", withSingleDash: true), help: "Trainer (default nnUNetTrainerV2).")
    var trainer = "nnUNetTrainerV2"
    @Option(name: .customLong("ctr", withSingleDash: true),
            help: "Trainer of 3d_cascade_fullres (default nnUNetTrainerV2CascadeFullRes).")
    var cascadeTrainer = "nnUNetTrainerV2CascadeFullRes"
    @Option(name: .customLong("pl", withSingleDash: true), help: "Plans identifier (default nnUNetPlansv2.1).")
    var plansIdentifier = "nnUNetPlansv2.1"
    @Option(name: .customShort("f"), parsing: .upToNextOption, help: "Folds (default 0 1 2 3 4).")
    var folds: [Int] = [0, 1, 2, 3, 4]
    @Flag(name: .customLong("disable_ensembling"), help: "Only compare single configurations.")
    var disableEnsembling = false
    @Flag(name: .customLong("disable_postprocessing"), help: "Do not determine postprocessing.")
    var disablePostprocessing = false
    @Option(name: .customLong("threads"), help: "Cases processed at the same time (default: all cores).")
    var threads = ThreadSettings.defaultThreads

    func validate() throws {
        guard !tasks.isEmpty else { throw ValidationError("Please give at least one task with -t.") }
        guard !models.isEmpty, !folds.isEmpty else { throw ValidationError("Please give -m and -f values.") }
        guard threads >= 1 else { throw ValidationError("Please use at least one thread.") }
    }

    func run() throws { try run(paths: EnvironmentPaths.current()) }

    /// Runs with explicit nnU-Net folders (tests pass their own instead of the process environment).
    func run(paths: NNUNetPaths) throws {
        let trainedModels = try paths.trainedModels()
        let options = ModelSelection.Options(
            configurations: models, trainer: trainer, cascadeTrainer: cascadeTrainer, plansIdentifier: plansIdentifier,
            folds: folds, usesEnsembling: !disableEnsembling, usesPostprocessing: !disablePostprocessing,
            threads: threads)
        for task in tasks {
            let taskName = try TaskLocator.resolve(task, paths: paths)
            let result = try ModelSelection.run(trainedModels: trainedModels, task: taskName, options: options) {
                print($0)
            }
            print("\nHere is how you should predict test cases. Run in sequential order and replace all input and "
                  + "output folder names with your personalized ones\n")
            print(result.predictionCommands)
            print("Wrote prediction_commands.txt and summary.csv to \(result.ensemblesFolder.path)")
        }
    }
}
