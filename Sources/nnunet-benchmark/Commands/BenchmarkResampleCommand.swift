import ArgumentParser
import Foundation
import NNUNetCore

/// `nnunet-benchmark resample`: our resampling kernels against nnU-Net v1's `resample_data_or_seg` (scipy/skimage),
/// on the same `.npy` inputs, interleaved in one run.
struct BenchmarkResampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resample",
        abstract: "Time order-3 data, order-1 label and separate-z resampling against nnU-Net v1 (prints JSON).",
        discussion: """
            Runs ../shared/peer/ops_bench.py (resample_data_order3, resample_seg_order1, resample_separate_z) with \
            the peer Python, then the same operations here on the .npy files it wrote, for --rounds rounds, and \
            reports the medians, the speed-up (peer / ours) and both sides' result statistics. Example:
              nnunet-benchmark resample --peer-python .peer-venv/bin/python --threads 2
            """)

    @Option(help: "The peer Python (nnU-Net v1 venv).")
    var peerPython: String = ".peer-venv/bin/python"

    @Option(help: "The peer's ops_bench.py.")
    var peerScript: String = "../shared/peer/ops_bench.py"

    @Option(help: "Folder of the shared .npy inputs (written by the peer on first use).")
    var inputsDir: String = "peer-ops-inputs"

    @Option(help: "Threads for our kernels (the scipy/skimage path is single-threaded).")
    var threads: Int = 2

    @Option(help: "Timed repetitions per operation and side (median reported).")
    var repeats: Int = 5

    @Option(help: "Interleaved rounds (peer, ours, peer, ours, ...).")
    var rounds: Int = 2

    @Option(help: "Also write the JSON result to this file.")
    var jsonOut: String?

    static let operations = ["resample_data_order3", "resample_seg_order1", "resample_separate_z"]

    func run() throws {
        var peerTimes: [String: [Double]] = [:], ourTimes: [String: [Double]] = [:]
        var peerResults: [String: Any] = [:], ourResults: [String: Any] = [:]
        var cpu: Any = NSNull()
        for _ in 0..<max(1, rounds) {
            let peer = try runPeer()
            cpu = peer["cpu"] ?? cpu
            for (name, value) in (peer["ops"] as? [String: [String: Any]]) ?? [:] {
                peerTimes[name, default: []] += (value["all_seconds"] as? [Double]) ?? []
                peerResults[name] = value["result"]
            }
            for (name, result) in try runOurs() {
                ourTimes[name, default: []] += result.times
                ourResults[name] = result.summary
            }
        }
        var ops: [String: Any] = [:]
        for name in Self.operations {
            let p = median(peerTimes[name] ?? []), o = median(ourTimes[name] ?? [])
            ops[name] = ["peer_median_seconds": p, "ours_median_seconds": o, "speedup_peer_over_ours": p / o,
                         "peer_result": peerResults[name] ?? NSNull(), "ours_result": ourResults[name] ?? NSNull()]
        }
        let report: [String: Any] = ["benchmark": "resample", "threads_ours": threads, "threads_peer": 1,
                                     "repeats": repeats, "rounds": rounds, "cpu": cpu, "ops": ops]
        let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
        if let jsonOut {
            try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .prettyPrinted])
                .write(to: URL(fileURLWithPath: jsonOut))
        }
    }

    func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    func runPeer() throws -> [String: Any] {
        try PeerProcess.runJSON(peerPython, [peerScript, "--ops"] + Self.operations
                                    + ["--inputs-dir", inputsDir, "--repeats", String(repeats), "--threads", "1"],
                                description: "ops_bench.py")
    }

    struct Measured {
        var times: [Double]
        var summary: [String: Any]
    }

    func runOurs() throws -> [String: Measured] {
        let folder = URL(fileURLWithPath: inputsDir)
        let volume = try NPY.read(folder.appendingPathComponent("vol_64x80x72.npy"))
        let seg = try NPY.read(folder.appendingPathComponent("seg_64x80x72.npy"))
        let aniso = try NPY.read(folder.appendingPathComponent("aniso_30x160x160.npy"))
        let newShape = volume.shape.map { Int((Double($0) * 1.3).rounded(.toNearestOrEven)) }
        let volumeValues = volume.floats(), segValues = seg.floats(), anisoValues = aniso.floats()
        func time(_ body: () -> [Float]) -> ([Double], [Float]) {
            var times: [Double] = [], out: [Float] = []
            for _ in 0..<max(1, repeats) {
                let start = DispatchTime.now().uptimeNanoseconds
                out = body()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            return (times, out)
        }
        let (dataTimes, data) = time {
            Resampling.resampleLikeNNUNet(volumeValues, shape: volume.shape, to: newShape, isSegmentation: false,
                                          separateAxis: nil, threads: threads)
        }
        let (segTimes, segOut) = time {
            Resampling.resampleLikeNNUNet(segValues, shape: seg.shape, to: newShape, isSegmentation: true,
                                          separateAxis: nil, threads: threads)
        }
        let (zTimes, zOut) = time {
            Resampling.resampleLikeNNUNet(anisoValues, shape: aniso.shape, to: [51, 150, 150], isSegmentation: false,
                                          separateAxis: 0, threads: threads)
        }
        var counts: [String: Int] = [:]
        for v in segOut { counts[String(Int(v)), default: 0] += 1 }
        return [
            "resample_data_order3": Measured(times: dataTimes, summary: stats(data, shape: newShape)),
            "resample_seg_order1": Measured(times: segTimes, summary: ["shape": newShape, "counts": counts]),
            "resample_separate_z": Measured(times: zTimes, summary: stats(zOut, shape: [51, 150, 150])),
        ]
    }

    func stats(_ values: [Float], shape: [Int]) -> [String: Any] {
        let n = Double(values.count)
        let mean = values.reduce(0.0) { $0 + Double($1) } / n
        let std = (values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n).squareRoot()
        return ["shape": shape, "dtype": "float32", "mean": mean, "std": std,
                "min": Double(values.min() ?? 0), "max": Double(values.max() ?? 0)]
    }
}
