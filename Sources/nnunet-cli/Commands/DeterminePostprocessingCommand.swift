import ArgumentParser

/// `nnunet determine-postprocessing` (v1 `nnUNet_determine_postprocessing`).
struct DeterminePostprocessingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "determine-postprocessing",
        abstract: "Choose connected-component postprocessing from cross-validation results.",
        aliases: ["determine_postprocessing", "nnUNet_determine_postprocessing"]
    )

    @Option(name: .customShort("m"), help: "Configuration.") var model: String?
    @Option(name: .customShort("t"), help: "Task id or name.") var task: String?
    @Option(name: .customLong("tr", withSingleDash: true)) var trainer = "nnUNetTrainerV2"
    @Option(name: .customLong("pl", withSingleDash: true)) var plansIdentifier = "nnUNetPlansv2.1"
    @Option(name: .customLong("val", withSingleDash: true)) var validationFolder = "validation_raw"
    @Option(name: .customLong("raw"), help: "Folder mode: raw predictions.") var raw: String?
    @Option(name: .customLong("gt"), help: "Folder mode: ground truth.") var groundTruth: String?
    @Option(name: .customLong("out"), help: "Folder mode: output folder.") var out: String?
    @Option(name: .customShort("l"), parsing: .upToNextOption, help: "Folder mode: labels.") var labels: [Int] = []

    func run() throws {
        throw CLIError.notYetAvailable(command: "determine-postprocessing", what: "postprocessing selection")
    }
}
