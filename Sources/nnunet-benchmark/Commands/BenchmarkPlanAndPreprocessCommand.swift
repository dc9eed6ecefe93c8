import ArgumentParser
import Foundation
import NNUNetCore
import NNUNetPlanning

/// `nnunet-benchmark plan-and-preprocess`: end-to-end plan-and-preprocess of one raw task, nnU-Net v1's
/// `nnUNet_plan_and_preprocess` against ours, interleaved, each on a fresh copy of the raw task.
struct BenchmarkPlanAndPreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan-and-preprocess",
        abstract: "Time plan-and-preprocess of a raw task against nnU-Net v1 end to end (prints JSON).",
        discussion: """
            Copies the raw task into fresh folders under --work-dir and runs, in turn, v1's \
            nnUNet_plan_and_preprocess (a child process, so its wall time includes Python's imports) and ours \
            (in process) with the same worker counts. Example:
              nnunet-benchmark plan-and-preprocess --raw-task $nnUNet_raw_data_base/nnUNet_raw_data/Task004_Hippocampus \\
                --peer-command .peer-venv/bin/nnUNet_plan_and_preprocess --threads 2
            """)

    @Option(help: "The raw task folder (TaskXXX_NAME with dataset.json, imagesTr, labelsTr).")
    var rawTask: String

    @Option(help: "v1's nnUNet_plan_and_preprocess executable (peer venv).")
    var peerCommand: String = ".peer-venv/bin/nnUNet_plan_and_preprocess"

    @Option(help: "Scratch folder (emptied per run).")
    var workDir: String = "benchmark-work"

    @Option(help: "Workers on both sides (-tl/-tf).")
    var threads: Int = 2

    @Option(help: "Interleaved rounds.")
    var rounds: Int = 2

    @Option(help: "Also write the JSON result to this file.")
    var jsonOut: String?

    func run() throws {
        let source = URL(fileURLWithPath: rawTask, isDirectory: true).standardizedFileURL
        let name = source.lastPathComponent
        guard let parsed = TaskLocator.parse(name) else {
            throw ValidationError("Please pass a raw task folder named TaskXXX_NAME (got '\(name)').")
        }
        var peer: [Double] = [], ours: [Double] = []
        for _ in 0..<max(1, rounds) {
            let peerPaths = try prepare("peer", source: source)
            peer.append(try measure {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: peerCommand)
                process.arguments = ["-t", String(parsed.id), "-tl", String(threads), "-tf", String(threads)]
                var environment = ProcessInfo.processInfo.environment
                environment["nnUNet_raw_data_base"] = peerPaths.rawDataBase?.path
                environment["nnUNet_preprocessed"] = peerPaths.preprocessed?.path
                environment["RESULTS_FOLDER"] = peerPaths.results?.path
                environment["OMP_NUM_THREADS"] = "1"
                process.environment = environment
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                try process.run()
                process.waitUntilExit()
                guard process.terminationStatus == 0 else {
                    throw BenchmarkError.failed("nnUNet_plan_and_preprocess failed (status \(process.terminationStatus)).")
                }
            })
            let ourPaths = try prepare("ours", source: source)
            ours.append(try measure {
                var options = PlanAndPreprocess.Options()
                options.threadsLowres = threads
                options.threadsFullres = threads
                try PlanAndPreprocess.run(taskName: name, paths: ourPaths, options: options)
            })
        }
        let p = median(peer), o = median(ours)
        let report: [String: Any] = [
            "benchmark": "plan-and-preprocess", "task": name, "threads": threads, "rounds": rounds,
            "peer_seconds": peer, "ours_seconds": ours, "peer_median_seconds": p, "ours_median_seconds": o,
            "speedup_peer_over_ours": p / o,
            "note": "peer wall time includes the Python interpreter start and nnU-Net/torch imports",
        ]
        let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
        if let jsonOut { try data.write(to: URL(fileURLWithPath: jsonOut)) }
    }

    /// A fresh `<work>/<side>` with the three roots and a copy of the raw task.
    func prepare(_ side: String, source: URL) throws -> NNUNetPaths {
        let root = URL(fileURLWithPath: workDir, isDirectory: true).appendingPathComponent(side).standardizedFileURL
        try? FileManager.default.removeItem(at: root)
        let paths = NNUNetPaths.inside(root)
        let raw = try paths.rawData()
        try FileManager.default.createDirectory(at: raw, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source, to: raw.appendingPathComponent(source.lastPathComponent))
        return paths
    }

    func measure(_ body: () throws -> Void) throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
