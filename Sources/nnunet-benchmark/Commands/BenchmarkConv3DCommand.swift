import ArgumentParser
import Foundation
import NNUNetCore

#if canImport(Glibc)
import Glibc
#endif

/// `nnunet-benchmark conv3d`: Conv3d(C→C, kernel 3, padding 1, bias) on `B × C × S³`, forward and forward+backward,
/// with a 2048³ sgemm measured in the same run as the baseline, and optionally PyTorch (`--peer-python`) side by side.
struct BenchmarkConv3DCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conv3d",
        abstract: "Conv3d(C->C, k=3, pad 1) throughput: forward, forward+backward, sgemm baseline, peak RSS.",
        discussion: """
            FLOPs: 2*C*C*27*S^3*B per forward, 3x that for forward+backward (input, weight and bias gradients of \
            loss = output.sum()). Times are medians of --iterations runs after --warmup runs. With --peer-python, \
            the PyTorch benchmark (../shared/peer/torch_bench.py) runs in the same process tree afterwards and the \
            ratios ours/PyTorch (throughput) are printed.
            """
    )

    @Option(name: .customLong("channels"), help: "Input and output channels C.") var channels = 32
    @Option(name: .customLong("size"), help: "Cubic volume edge S.") var size = 64
    @Option(name: .customLong("batch"), help: "Batch size B.") var batch = 1
    @Option(name: .customLong("threads"), help: "Threads T.") var threads = 2
    @Option(name: .customLong("iterations"), help: "Timed runs (median reported).") var iterations = 5
    @Option(name: .customLong("warmup"), help: "Untimed runs first.") var warmup = 2
    @Option(name: .customLong("leak-check-iterations"),
            help: "Extra forward+backward runs; reports RSS after 10 and after all of them (0: skip).")
    var leakCheckIterations = 0
    @Flag(name: .customLong("skip-sgemm"), help: "Do not measure the sgemm baseline (profiling runs).")
    var skipSGEMM = false
    @Flag(name: .customLong("forward-only"), help: "Measure the forward pass only (profiling runs).")
    var forwardOnly = false
    @Flag(name: .customLong("json"), help: "Print one JSON object (the only output on stdout).") var json = false
    @Option(name: .customLong("peer-python"), help: "Python of the peer venv: also run PyTorch's benchmark.")
    var peerPython: String?
    @Option(name: .customLong("peer-script"), help: "The peer's torch_bench.py.")
    var peerScript = "../shared/peer/torch_bench.py"

    func validate() throws {
        guard channels > 0, size >= 3, batch > 0, threads > 0, iterations > 0, warmup >= 0 else {
            throw ValidationError("--channels, --batch, --threads and --iterations must be positive, --size >= 3.")
        }
    }

    func run() throws { try ThreadSettings.withThreads(threads) { try measure() } }

    /// The measurement, with the kernels' default thread count bound to the thread option.
    func measure() throws {
        var generator = SeededGenerator(seed: 42)
        let x = Tensor.randomNormal([batch, channels, size, size, size], using: &generator)
        let fanIn = Float(channels * 27)
        let weight = Tensor.randomNormal([channels, channels, 3, 3, 3], standardDeviation: (2 / fanIn).squareRoot(),
                                         using: &generator, requiresGrad: true)
        let bias = Tensor.zeros([channels], requiresGrad: true)
        let threads = self.threads

        func forward() {
            withoutGradients {
                _ = conv(x, weight: weight, bias: bias, stride: [1, 1, 1], padding: [1, 1, 1], threads: threads)
            }
        }
        func forwardBackward() {
            x.requiresGrad = true
            let y = conv(x, weight: weight, bias: bias, stride: [1, 1, 1], padding: [1, 1, 1], threads: threads)
            y.sum().backward()
            x.grad = nil
            weight.grad = nil
            bias.grad = nil
        }
        // Wall-clock and process CPU time per run (CPU time helps on a shared, overloaded machine).
        var cpuMilliseconds: [String: Double] = [:]
        func medianMilliseconds(_ name: String, _ body: () -> Void) -> Double {
            for _ in 0..<warmup { body() }
            var times: [Double] = [], cpu: [Double] = []
            for _ in 0..<iterations {
                let start = DispatchTime.now().uptimeNanoseconds, cpuStart = Self.processCPUMilliseconds()
                body()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-6)
                cpu.append(Self.processCPUMilliseconds() - cpuStart)
            }
            cpuMilliseconds[name] = cpu.sorted()[cpu.count / 2]
            return times.sorted()[times.count / 2]
        }

        let forwardMilliseconds = medianMilliseconds("forward", forward)
        let forwardBackwardMilliseconds = forwardOnly ? Double.nan : medianMilliseconds("forward_backward", forwardBackward)
        let sgemmRates = skipSGEMM ? (wall: Double.nan, cpu: Double.nan)
            : GEMM.measureThroughput(size: 2048, threads: threads) { Self.processCPUMilliseconds() * 1e-3 }
        let sgemm = sgemmRates.wall
        let flops = 2 * Double(channels * channels * 27) * Double(size * size * size) * Double(batch)
        var result: [String: Any] = [
            "benchmark": "conv3d",
            "op": "Conv3d(\(channels), \(channels), k=3, pad=1, bias) on \(batch)x\(channels)x\(size)^3 fp32",
            "channels": channels, "size": size, "batch": batch, "threads": threads,
            "iterations": iterations, "warmup": warmup,
            "forward_ms": forwardMilliseconds,
            "forward_backward_ms": forwardBackwardMilliseconds,
            "forward_gflops": flops / forwardMilliseconds / 1e6,
            "forward_backward_gflops": 3 * flops / forwardBackwardMilliseconds / 1e6,
            "sgemm_gflops": sgemm,
        ]
        // CPU-time rates: FLOPs per (CPU seconds / threads); equal to the wall rates on an idle machine.
        result["sgemm_cpu_gflops"] = sgemmRates.cpu
        if let cpu = cpuMilliseconds["forward"] {
            result["forward_cpu_gflops"] = flops / (cpu / Double(threads)) / 1e6
        }
        if let cpu = cpuMilliseconds["forward_backward"] {
            result["forward_backward_cpu_gflops"] = 3 * flops / (cpu / Double(threads)) / 1e6
        }
        result["forward_cpu_ms"] = cpuMilliseconds["forward"]
        result["forward_backward_cpu_ms"] = cpuMilliseconds["forward_backward"]
        result["forward_fraction_of_sgemm"] = flops / forwardMilliseconds / 1e6 / sgemm
        result["forward_backward_fraction_of_sgemm"] = 3 * flops / forwardBackwardMilliseconds / 1e6 / sgemm
        if leakCheckIterations > 0 {
            // The allocator keeps freed activation buffers for reuse (AllocatorTuning), so RSS settles over the
            // first iterations; a leak shows as growth between the half and the end.
            var after10 = 0.0, afterHalf = 0.0
            for iteration in 1...leakCheckIterations {
                forwardBackward()
                if iteration == min(10, leakCheckIterations) { after10 = Self.currentRSSMiB() }
                if iteration == max(1, leakCheckIterations / 2) { afterHalf = Self.currentRSSMiB() }
            }
            result["leak_check_iterations"] = leakCheckIterations
            result["rss_after_10_mib"] = after10
            result["rss_after_half_mib"] = afterHalf
            result["rss_after_all_mib"] = Self.currentRSSMiB()
        }
        result["peak_rss_mib"] = Self.peakRSSMiB()

        if let peerPython {
            let peer = try Self.runPeer(python: peerPython, script: peerScript,
                                        shape: "\(batch)x\(channels)x\(size)x\(size)x\(size)", threads: threads)
            if let conv = peer["conv"] as? [String: Any] {
                var summary: [String: Any] = [:]
                for key in ["forward_ms_median", "fwd_bwd_ms_median", "forward_gflops", "fwd_bwd_gflops",
                            "peak_rss_mib", "torch_version"] {
                    summary[key] = conv[key] ?? peer[key]
                }
                summary["torch_version"] = peer["torch_version"]
                result["peer"] = summary
                if let f = conv["forward_ms_median"] as? Double, let fb = conv["fwd_bwd_ms_median"] as? Double {
                    result["forward_speed_ratio_vs_peer"] = f / forwardMilliseconds
                    result["forward_backward_speed_ratio_vs_peer"] = fb / forwardBackwardMilliseconds
                }
            }
        }

        result = result.filter { !(($0.value as? Double)?.isNaN ?? false) }
        try BenchmarkReport.emit(result, json: json)
    }

    /// CPU time used by this process so far (all threads), in milliseconds.
    static func processCPUMilliseconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) * 1e3 + Double(spec.tv_nsec) * 1e-6
    }

    /// Peak resident set size of this process (Linux `ru_maxrss` is in KiB).
    static func peakRSSMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// Current resident set size from /proc/self/statm (0 where unavailable).
    static func currentRSSMiB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }

    /// Runs the peer's torch_bench.py and parses its one JSON line.
    static func runPeer(python: String, script: String, shape: String, threads: Int) throws -> [String: Any] {
        guard FileManager.default.fileExists(atPath: script) else {
            throw ValidationError("The peer script '\(script)' does not exist; pass --peer-script PATH.")
        }
        return try PeerProcess.runJSON(python, [script, "--conv", shape, "--threads", String(threads)],
                                       description: "torch_bench.py")
    }
}
