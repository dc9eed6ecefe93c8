import ArgumentParser

/// `nnunet export-model-to-zip` (v1 `nnUNet_export_model_to_zip`).
struct ExportModelToZipCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-model-to-zip",
        abstract: "Pack trained models of a task into a zip file to share.",
        aliases: ["export_model_to_zip", "nnUNet_export_model_to_zip"]
    )

    @Option(name: .customShort("t")) var task: String
    @Option(name: .customShort("o")) var output: String
    @Option(name: .customShort("m"), parsing: .upToNextOption) var models: [String] =
        ["2d", "3d_lowres", "3d_fullres", "3d_cascade_fullres"]
    @Option(name: .customLong("tr", withSingleDash: true)) var trainer = "nnUNetTrainerV2"
    @Option(name: .customLong("trc", withSingleDash: true)) var cascadeTrainer = "nnUNetTrainerV2CascadeFullRes"
    @Option(name: .customLong("pl", withSingleDash: true)) var plansIdentifier = "nnUNetPlansv2.1"
    @Option(name: .customShort("f"), parsing: .upToNextOption) var folds: [String] = ["0", "1", "2", "3", "4"]
    @Flag(name: .customLong("disable_strict")) var disableStrict = false

    func run() throws {
        throw CLIError.notYetAvailable(command: "export-model-to-zip", what: "model sharing")
    }
}
