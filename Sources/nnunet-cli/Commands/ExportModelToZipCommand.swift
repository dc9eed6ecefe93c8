import ArgumentParser
import Foundation
import NNUNetCore
import NNUNetTraining

/// `nnunet export-model-to-zip` (v1 `nnUNet_export_model_to_zip`).
struct ExportModelToZipCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-model-to-zip",
        abstract: "Pack trained models of a task into a zip file to share.",
        discussion: """
            Paths in the zip are relative to $RESULTS_FOLDER/nnUNet, so 'nnunet install-pretrained-model-from-zip' \
            puts them back in place. Per configuration: the plans, postprocessing.json and, per fold, \
            model_final_checkpoint.model with its .model.json (or v1's .model.pkl), debug.json and progress.png; \
            plus the postprocessing.json of ensembles made only of exported configurations. Example:
              nnunet export-model-to-zip -t 4 -o Task004.zip -m 2d 3d_fullres
            """,
        aliases: ["export_model_to_zip", "nnUNet_export_model_to_zip"]
    )

    @Option(name: .customShort("t"), help: "Task id or name.") var task: String
    @Option(name: .customShort("o"), help: "The zip file to write.") var output: String
    @Option(name: .customShort("m"), parsing: .upToNextOption,
            help: "Configurations to export.")
    var models: [NetworkConfiguration] = NetworkConfiguration.allCases
    @Option(name: .customLong("tr", withSingleDash: true), help: "Trainer of 2d, 3d_lowres and 3d_fullres.")
    var trainer = "nnUNetTrainerV2"
    @Option(name: .customLong("trc", withSingleDash: true), help: "Trainer of 3d_cascade_fullres.")
    var cascadeTrainer = "nnUNetTrainerV2CascadeFullRes"
    @Option(name: .customLong("pl", withSingleDash: true), help: "Plans identifier.")
    var plansIdentifier = "nnUNetPlansv2.1"
    @Option(name: .customShort("f"), parsing: .upToNextOption, help: "Folds (numbers or 'all'). Default: 0 1 2 3 4.",
            transform: Fold.parse)
    var folds: [Fold] = Fold.defaultCrossValidation
    @Flag(name: .customLong("disable_strict"), help: "Skip missing models, folds and postprocessing.json files.")
    var disableStrict = false

    func run() throws { try run(paths: EnvironmentPaths.current()) }

    /// Runs with explicit nnU-Net folders (tests pass their own instead of the process environment).
    func run(paths: NNUNetPaths) throws {
        var options = ModelExport.Options(task: try TaskLocator.resolve(task, paths: paths))
        options.configurations = models
        options.trainer = trainer
        options.cascadeTrainer = cascadeTrainer
        options.plansIdentifier = plansIdentifier
        options.folds = folds
        options.isStrict = !disableStrict
        let zip = URL(fileURLWithPath: output)
        let contents = try ModelExport.export(options, trainedModels: paths.trainedModels(), to: zip)
        for line in contents.skipped { print("Skipped \(line)") }
        print("Wrote \(contents.files.count) files of \(options.task) to \(zip.path)")
    }
}
