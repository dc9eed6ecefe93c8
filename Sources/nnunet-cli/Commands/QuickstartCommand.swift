import ArgumentParser

/// `nnunet quickstart`: the whole workflow on a generated dataset.
struct QuickstartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quickstart",
        abstract: "Generate a small synthetic task and run plan, train, predict and evaluate on it."
    )

    @Argument(help: "Working folder (default: ./nnunet_quickstart).") var folder = "nnunet_quickstart"

    func run() throws {
        throw CLIError.notYetAvailable(command: "quickstart", what: "the end-to-end pipeline (planning, training)")
    }
}
