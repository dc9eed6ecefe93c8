import ArgumentParser
import Foundation
import NNUNetCore
import NNUNetEvaluation
import NNUNetPlanning
import NNUNetTraining

/// `nnunet-benchmark hippocampus`: the real-data benchmark. MSD Task04 → plan and preprocess → train 3d_fullres fold 0
/// for a stated budget → predict the fold's validation cases → Dice per label, wall time per phase, peak memory; with
/// `--peer-bin`, nnU-Net v1 does the same work with the same budget and split in the same run.
struct BenchmarkHippocampusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hippocampus",
        abstract: "Real-data benchmark on MSD hippocampus: convert, plan, train 3d_fullres fold 0 for a budget, validate.",
        discussion: """
            The budget is epochs x iterations per epoch (v1's default is 1000 x 250 on a GPU). Validation predicts the \
            52 fold-0 validation cases with mirroring, as v1's validate() does after training, and reports the mean \
            Dice per label from validation_raw/summary.json. With --peer-bin (the bin folder of a venv with nnunet \
            1.7.1 and torch, e.g. .peer-venv/bin), nnU-Net v1 runs plan_and_preprocess and nnUNet_train --fp32 on the \
            same converted task with the same budget (its trainer is patched only to set the epochs and iterations) \
            and v1's default 5-fold split, which ours reproduces, so both validate the same 52 cases.
            """)

    @Option(name: .customLong("data"), help: "The MSD Task04 folder (dataset.json, imagesTr, labelsTr).")
    var data = "../shared/data/msd_hippocampus"
    @Option(name: .customLong("work"), help: "Working folder (created; reused runs are redone).")
    var work = "benchmark-work/hippocampus"
    @Option(name: .customLong("epochs")) var epochs = 10
    @Option(name: .customLong("iterations-per-epoch")) var iterations = 10
    @Option(name: .customLong("validation-iterations"), help: "Online validation batches per epoch.")
    var validationIterations = 2
    @Option(name: .customLong("threads")) var threads = 2
    @Option(name: .customLong("peer-bin"), help: "bin folder of a venv with nnunet 1.7.1 (runs v1 with the same budget).")
    var peerBin: String?
    @Flag(name: .customLong("skip-ours"), help: "Only run the peer (its results still need --work).") var skipOurs = false
    @Flag(name: .customLong("json"), help: "Print one JSON object at the end.") var json = false

    func run() throws { try ThreadSettings.withThreads(threads) { try measure() } }

    /// The measurement, with the kernels' default thread count bound to the thread option.
    func measure() throws {
        let root = URL(fileURLWithPath: work, isDirectory: true).standardizedFileURL
        let oursRoot = root.appendingPathComponent("ours")
        let paths = NNUNetPaths.inside(oursRoot)
        var result: [String: Any] = ["benchmark": "hippocampus", "epochs": epochs, "iterations_per_epoch": iterations,
                                     "threads": threads]
        func phase<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
            print("== \(name)")
            let start = Date()
            let value = try body()
            let seconds = Date().timeIntervalSince(start)
            print(String(format: "   %.1f s", seconds))
            result["\(name)_seconds"] = seconds
            return value
        }
        // Conversion is shared: the peer trains on the very same raw task.
        if FileManager.default.fileExists(atPath: oursRoot.path), !skipOurs { try FileManager.default.removeItem(at: oursRoot) }
        let task = try phase("convert") { () throws -> URL in
            let existing = try paths.rawData().appendingPathComponent("Task004_Hippocampus")
            if FileManager.default.fileExists(atPath: existing.appendingPathComponent("dataset.json").path) { return existing }
            return try DecathlonConverter.convert(msdFolder: URL(fileURLWithPath: data, isDirectory: true), outputTaskID: 4,
                                                  rawDataFolder: try paths.rawData(), threads: threads)
        }
        if !skipOurs {
            var options = PlanAndPreprocess.Options()
            options.planner2D = nil
            options.threadsFullres = threads
            options.threadsLowres = threads
            _ = try phase("plan_and_preprocess") {
                try PlanAndPreprocess.run(taskName: task.lastPathComponent, paths: paths, options: options)
            }
            var request = TrainingRequest(configuration: .fullres, trainerName: "nnUNetTrainerV2", task: "4",
                                          fold: .index(0))
            request.epochs = epochs
            request.iterationsPerEpoch = iterations
            request.validationIterations = validationIterations
            request.runsValidation = false
            let trainer = try phase("train") { try TrainingRunner.train(request, paths: paths) }
            let epochTimes = Self.epochSeconds(inLogsOf: trainer.outputFolder)
            result["epoch_seconds"] = epochTimes
            result["epochs_total_seconds"] = epochTimes.reduce(0, +)
            request.validationOnly = true
            request.runsValidation = true
            request.postprocessesFolds = false
            _ = try phase("validate") { try TrainingRunner.train(request, paths: paths) }
            let summary = try EvaluationSummary.read(trainer.outputFolder.appendingPathComponent("validation_raw/summary.json"))
            result["dice_anterior"] = summary.meanDice(of: 1)
            result["dice_posterior"] = summary.meanDice(of: 2)
            result["validation_cases"] = summary.cases.count
            result["peak_rss_mib"] = BenchmarkConv3DCommand.peakRSSMiB()
            print(String(format: "ours: Dice anterior %.4f, posterior %.4f (%d cases)", summary.meanDice(of: 1),
                         summary.meanDice(of: 2), summary.cases.count))
        }
        if let peerBin {
            let peer = try runPeer(bin: URL(fileURLWithPath: peerBin).standardizedFileURL, rawTask: task,
                                   root: root.appendingPathComponent("v1"))
            for (key, value) in peer { result["peer_" + key] = value }
            if let ours = result["epochs_total_seconds"] as? Double, let theirs = peer["epochs_total_seconds"] as? Double {
                result["epochs_ratio_ours_over_peer"] = ours / theirs
            }
        }
        try BenchmarkReport.emit(result, json: json)
    }

    /// nnU-Net v1 on the same raw task: plan_and_preprocess (3D only), then nnUNet_train 3d_fullres nnUNetTrainerV2 4 0
    /// --fp32 with the epochs and iterations set after the trainer's constructor (nothing else changed; its final
    /// validate() runs with mirroring as usual).
    func runPeer(bin: URL, rawTask: URL, root: URL) throws -> [String: Any] {
        let fm = FileManager.default
        if fm.fileExists(atPath: root.path) { try fm.removeItem(at: root) }
        let raw = root.appendingPathComponent("nnUNet_raw_data_base/nnUNet_raw_data")
        try fm.createDirectory(at: raw, withIntermediateDirectories: true)
        try fm.copyItem(at: rawTask, to: raw.appendingPathComponent(rawTask.lastPathComponent))
        let environment = PeerProcess.v1Environment(
            threads: threads, rawDataBase: root.appendingPathComponent("nnUNet_raw_data_base"),
            preprocessed: root.appendingPathComponent("nnUNet_preprocessed"),
            results: root.appendingPathComponent("RESULTS_FOLDER"))
        var out: [String: Any] = [:]
        func execute(_ name: String, _ executable: URL, _ arguments: [String]) throws {
            print("== peer \(name): \(executable.lastPathComponent) \(arguments.joined(separator: " "))")
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            process.environment = environment
            process.currentDirectoryURL = root
            let log = root.appendingPathComponent("\(name).log")
            _ = fm.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            defer { try? handle.close() }
            process.standardOutput = handle
            process.standardError = handle
            let start = Date()
            try process.run()
            // Peak memory of the whole process tree (v1 runs augmentation workers as separate processes), sampled.
            var peak = 0.0
            while process.isRunning {
                peak = max(peak, Self.treeRSSMiB(root: process.processIdentifier))
                Thread.sleep(forTimeInterval: 0.5)
            }
            process.waitUntilExit()
            let seconds = Date().timeIntervalSince(start)
            print(String(format: "   %.1f s, peak PSS of the process tree %.0f MiB", seconds, peak))
            out["\(name)_seconds"] = seconds
            out["\(name)_peak_tree_pss_mib"] = peak
            guard process.terminationStatus == 0 else {
                throw BenchmarkError.failed("nnU-Net v1's \(name) failed (status \(process.terminationStatus)); see \(log.path)")
            }
        }
        try execute("plan_and_preprocess", bin.appendingPathComponent("nnUNet_plan_and_preprocess"),
                    ["-t", "4", "-pl2d", "None", "-tl", String(threads), "-tf", String(threads)])
        let driver = """
            import sys
            from nnunet.training.network_training.nnUNetTrainerV2 import nnUNetTrainerV2
            original = nnUNetTrainerV2.__init__
            def patched(self, *args, **kwargs):
                original(self, *args, **kwargs)
                self.max_num_epochs = \(epochs)
                self.num_batches_per_epoch = \(iterations)
                self.num_val_batches_per_epoch = \(validationIterations)
            nnUNetTrainerV2.__init__ = patched
            from nnunet.run.run_training import main
            sys.argv = ['nnUNet_train', '3d_fullres', 'nnUNetTrainerV2', '4', '0', '--fp32']
            main()
            """
        try execute("train_and_validate", bin.appendingPathComponent("python"), ["-c", driver])
        let fold = root.appendingPathComponent(
            "RESULTS_FOLDER/nnUNet/3d_fullres/Task004_Hippocampus/nnUNetTrainerV2__nnUNetPlansv2.1/fold_0")
        let summary = try EvaluationSummary.read(fold.appendingPathComponent("validation_raw/summary.json"))
        out["dice_anterior"] = summary.meanDice(of: 1)
        out["dice_posterior"] = summary.meanDice(of: 2)
        out["validation_cases"] = summary.cases.count
        // v1's log has the epoch times: the training share of train_and_validate.
        let epochTimes = Self.epochSeconds(inLogsOf: fold)
        out["epoch_seconds"] = epochTimes
        out["epochs_total_seconds"] = epochTimes.reduce(0, +)
        print(String(format: "v1: Dice anterior %.4f, posterior %.4f (%d cases)", summary.meanDice(of: 1),
                     summary.meanDice(of: 2), summary.cases.count))
        return out
    }

    /// "This epoch took X s" lines of the training logs in a fold folder (v1 and ours print the same line).
    static func epochSeconds(inLogsOf fold: URL) -> [Double] {
        let logs = ((try? FileManager.default.contentsOfDirectory(atPath: fold.path)) ?? [])
            .filter { $0.hasPrefix("training_log") }.sorted()
        return logs.flatMap { name -> [Double] in
            let text = (try? String(contentsOf: fold.appendingPathComponent(name), encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { line -> Double? in
                guard let range = line.range(of: "This epoch took ") else { return nil }
                return Double(line[range.upperBound...].prefix { $0.isNumber || $0 == "." })
            }
        }
    }

    /// Proportional memory (PSS, so pages shared between forked workers count once) of a process and all its
    /// descendants, from /proc (0 where unavailable).
    static func treeRSSMiB(root: Int32) -> Double {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return 0 }
        var parent: [Int32: Int32] = [:]
        for entry in entries {
            guard let pid = Int32(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 1, let ppid = Int32(fields[1]) else { continue }
            parent[pid] = ppid
        }
        var total = 0.0
        for pid in parent.keys {
            var current: Int32? = pid
            var inTree = false
            while let p = current, p > 1 {
                if p == root { inTree = true; break }
                current = parent[p]
            }
            guard inTree, let rollup = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8),
                  let line = rollup.split(separator: "\n").first(where: { $0.hasPrefix("Pss:") }),
                  let kib = Double(line.split(separator: " ").dropFirst().first ?? "") else { continue }
            total += kib / 1024
        }
        return total
    }
}
