import ArgumentParser

/// `nnunet evaluate-folder` (v1 `nnUNet_evaluate_folder`).
struct EvaluateFolderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate-folder",
        abstract: "Compare predicted segmentations with references and write summary.json.",
        aliases: ["evaluate_folder", "nnUNet_evaluate_folder"]
    )

    @Option(name: .customLong("ref", withSingleDash: true), help: "Folder with reference segmentations.")
    var reference: String
    @Option(name: .customLong("pred", withSingleDash: true), help: "Folder with predicted segmentations.")
    var prediction: String
    @Option(name: .customShort("l"), parsing: .upToNextOption, help: "Labels to evaluate, e.g. -l 1 2.")
    var labels: [Int]

    func run() throws {
        throw CLIError.notYetAvailable(command: "evaluate-folder", what: "evaluation")
    }
}
