import ArgumentParser

/// `nnunet ensemble` (v1 `nnUNet_ensemble`).
struct EnsembleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ensemble",
        abstract: "Average the saved probabilities of several prediction folders.",
        aliases: ["nnUNet_ensemble"]
    )

    @Option(name: .customShort("f"), parsing: .upToNextOption, help: "Folders predicted with -z.") var folders:
        [String]
    @Option(name: .customShort("o"), help: "Output folder.") var output: String
    @Option(name: .customShort("t"), help: "Threads.") var threads = 2
    @Option(name: .customLong("pp", withSingleDash: true), help: "postprocessing.json to apply.") var postprocessing:
        String?
    @Flag(name: .customLong("npz"), help: "Also save the averaged probabilities.") var saveNpz = false

    func run() throws {
        throw CLIError.notYetAvailable(command: "ensemble", what: "ensembling")
    }
}
