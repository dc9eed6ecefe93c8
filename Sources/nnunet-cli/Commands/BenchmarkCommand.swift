import ArgumentParser

/// `nnunet benchmark ...`: measured figures for the hot paths, printed as JSON where asked.
struct BenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark",
        abstract: "Time the hot paths (convolution, training step, augmentation, inference, real data).",
        subcommands: [BenchmarkConv3DCommand.self, EvaluationBenchmarkCommand.self, BenchmarkResampleCommand.self,
                      BenchmarkPlanAndPreprocessCommand.self, BenchmarkAugmentationCommand.self,
                      BenchmarkTrainStepCommand.self, BenchmarkForwardCommand.self, BenchmarkPredictCommand.self,
                      BenchmarkPredictLargeCommand.self,
                      BenchmarkHippocampusCommand.self]
    )
}
