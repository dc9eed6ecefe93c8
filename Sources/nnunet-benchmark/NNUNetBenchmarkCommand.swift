#if canImport(Glibc)
@preconcurrency import Glibc  // `stdout`, a C global, for setvbuf
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif
import ArgumentParser
import NNUNetCore

/// `nnunet-benchmark`: measured figures for the hot paths, printed as JSON where asked. A separate executable from
/// `nnunet`, so that the user's tool ships no measurement code (the peers it runs side by side are Python scripts of
/// `../shared/peer` and `Examples/peer`).
@main
struct NNUNetBenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nnunet-benchmark",
        abstract: "Time the hot paths (convolution, training step, augmentation, inference, real data).",
        discussion: """
            Each subcommand prints its figures (one JSON object with --json, or where it says so), optionally with \
            the peer's (PyTorch, scipy/skimage, batchgenerators or nnU-Net v1) measured in the same run. Example:

              swift run -c release nnunet-benchmark conv3d --json
            """,
        subcommands: [BenchmarkConv3DCommand.self, EvaluationBenchmarkCommand.self, BenchmarkResampleCommand.self,
                      BenchmarkPlanAndPreprocessCommand.self, BenchmarkAugmentationCommand.self,
                      BenchmarkTrainStepCommand.self, BenchmarkForwardCommand.self, BenchmarkPredictCommand.self,
                      BenchmarkPredictLargeCommand.self, BenchmarkPredictV2Command.self,
                      BenchmarkHippocampusCommand.self]
    )

    /// Line-buffers standard output (progress and results reach a log file or pipe as they are printed) and applies
    /// the process settings `nnunet` applies (``ProcessTuning/apply(_:)``: OpenBLAS single-threaded, allocator tuned),
    /// so that the figures are those of the user's tool; a command with `--without-process-tuning`
    /// (``ProcessTuningChoice``) measures an application that made neither setting.
    static func main() {
        setvbuf(stdout, nil, _IOLBF, 0)
        do {
            var command = try parseAsRoot()
            if (command as? ProcessTuningChoice)?.withoutProcessTuning != true { ProcessTuning.apply() }
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// A benchmark that can run without ``ProcessTuning``, as an embedding application that left OpenBLAS and the
/// allocator at their defaults would.
protocol ProcessTuningChoice {
    /// Whether `main` skips ``ProcessTuning/apply(_:)``.
    var withoutProcessTuning: Bool { get }
}
