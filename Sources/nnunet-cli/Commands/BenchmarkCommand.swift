import ArgumentParser

/// `nnunet benchmark ...`: measured figures for the hot paths, printed as JSON where asked.
struct BenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark",
        abstract: "Time the hot paths (convolution, training step, augmentation, inference, real data).",
        subcommands: [BenchmarkNotYetAvailable.self, EvaluationBenchmarkCommand.self, BenchmarkResampleCommand.self,
                      BenchmarkPlanAndPreprocessCommand.self, BenchmarkAugmentationCommand.self]
    )
}

/// Placeholder until the first benchmark exists, so that `nnunet benchmark` explains itself.
struct BenchmarkNotYetAvailable: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conv3d", abstract: "Convolution throughput (not available yet).")

    func run() throws {
        throw CLIError.notYetAvailable(command: "benchmark conv3d", what: "the convolution kernels")
    }
}
