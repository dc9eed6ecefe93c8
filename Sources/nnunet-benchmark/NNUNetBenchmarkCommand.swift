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
                      BenchmarkPredictLargeCommand.self,
                      BenchmarkHippocampusCommand.self]
    )

    /// Line-buffers standard output (progress and results reach a log file or pipe as they are printed) and tunes the
    /// allocator as `nnunet` does (see ``AllocatorTuning``), so that the figures are those of the user's tool.
    static func main() {
        setvbuf(stdout, nil, _IOLBF, 0)
        AllocatorTuning.reuseLargeBuffers()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
