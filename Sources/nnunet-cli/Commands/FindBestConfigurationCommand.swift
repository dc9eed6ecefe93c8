import ArgumentParser

/// `nnunet find-best-configuration` (v1 `nnUNet_find_best_configuration`).
struct FindBestConfigurationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "find-best-configuration",
        abstract: "Pick the best configuration or ensemble from cross-validation.",
        aliases: ["find_best_configuration", "nnUNet_find_best_configuration"]
    )

    @Option(name: .customShort("m"), parsing: .upToNextOption) var models: [String] =
        ["2d", "3d_lowres", "3d_fullres", "3d_cascade_fullres"]
    @Option(name: .customShort("t"), parsing: .upToNextOption) var tasks: [String]
    @Option(name: .customLong("tr", withSingleDash: true)) var trainer = "nnUNetTrainerV2"
    @Option(name: .customLong("ctr", withSingleDash: true)) var cascadeTrainer = "nnUNetTrainerV2CascadeFullRes"
    @Option(name: .customLong("pl", withSingleDash: true)) var plansIdentifier = "nnUNetPlansv2.1"
    @Option(name: .customShort("f"), parsing: .upToNextOption) var folds: [Int] = [0, 1, 2, 3, 4]
    @Flag(name: .customLong("disable_ensembling")) var disableEnsembling = false
    @Flag(name: .customLong("disable_postprocessing")) var disablePostprocessing = false

    func run() throws {
        throw CLIError.notYetAvailable(command: "find-best-configuration", what: "model selection")
    }
}
