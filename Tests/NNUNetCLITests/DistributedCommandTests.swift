import Foundation
import NNUNetCore
import NNUNetPlanning
import NNUNetTraining
import Testing

/// `mpirun -np 2 nnunet train ...` against one process on the same task: the data-parallel run is the same training.
/// Needs Open MPI (`mpirun` and `libmpi.so.40`); CI installs it, a machine without it skips with the reason.
@Suite("Data-parallel training under mpirun", .serialized)
struct DistributedCommandTests {
    static let nnunet = OutputBufferingTests.nnunet
    static let task = "Task670_Distributed"

    /// `mpirun` on the PATH, if Open MPI's library loads too.
    static let mpirun: URL? = {
        guard dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL) != nil else { return nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    static let isEnabled = nnunet != nil && mpirun != nil
    static let skipReason: Comment = nnunet == nil
        ? "the nnunet product is not built next to the tests (swift build --build-tests)"
        : "Open MPI is not installed (apt install openmpi-bin libopenmpi-dev): mpirun or libmpi.so.40 is missing"

    /// A tiny planned and preprocessed task whose global batch (3) does not divide over 2 ranks.
    static func prepare(in root: URL) throws -> NNUNetPaths {
        try FaultCommandTests.prepare(in: root, id: 670, name: "Distributed", trainingCases: 5, batchSize: 3)
    }

    /// Runs `executable arguments` with the task's folders (results in `results`); returns exit status and output.
    static func run(_ executable: URL, _ arguments: [String], paths: NNUNetPaths, results: URL) throws
        -> (status: Int32, output: String) {
        let log = results.appendingPathExtension("log")
        let process = try FaultCommandTests.start(arguments, paths: paths, log: log, executable: executable,
                                                  results: results)
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    static func mpi(_ ranks: Int, _ arguments: [String]) -> [String] {
        ["--allow-run-as-root", "--oversubscribe", "-np", String(ranks),
         "-x", "nnUNet_raw_data_base", "-x", "nnUNet_preprocessed", "-x", "RESULTS_FOLDER",
         nnunet!.path] + arguments
    }

    static let train = ["train", "3d_fullres", "nnUNetTrainerV2", "670", "0", "--epochs", "3",
                        "--iterations-per-epoch", "1", "--validation-iterations", "1", "--threads", "1"]

    @Test("mpirun -np 2 (global batch 3 = 2 + 1): every step's loss and the weights after 3 steps equal one process's (rel. 1e-5); rank 0 alone writes; -c continues in one process",
          .enabled(if: isEnabled, skipReason))
    func twoRanksEqualOneProcess() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nnunet-mpi-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let paths = try Self.prepare(in: root)
        let single = root.appendingPathComponent("results-single"), ranks = root.appendingPathComponent("results-mpi")
        let one = try Self.run(Self.nnunet!, Self.train, paths: paths, results: single)
        try #require(one.status == 0, "one process: \(one.output)")
        let two = try Self.run(Self.mpirun!, Self.mpi(2, Self.train), paths: paths, results: ranks)
        try #require(two.status == 0, "mpirun -np 2: \(two.output)")

        let fold = "nnUNet/3d_fullres/\(Self.task)/nnUNetTrainerV2__nnUNetPlansv2.1/fold_0"
        let a = try NetworkTrainer.readCheckpoint(single.appendingPathComponent(fold + "/model_final_checkpoint.model"))
        let b = try NetworkTrainer.readCheckpoint(ranks.appendingPathComponent(fold + "/model_final_checkpoint.model"))
        #expect(a.metadata.worldSize == 1 && b.metadata.worldSize == 2)
        #expect(b.metadata.log.trainLosses.count == 3)
        for (step, (x, y)) in zip(a.metadata.log.trainLosses, b.metadata.log.trainLosses).enumerated() {
            #expect(abs(x - y) <= 1e-5 * abs(x), "step \(step): training loss \(y) with 2 ranks, \(x) in one process")
        }
        for (epoch, (x, y)) in zip(a.metadata.log.validationLosses, b.metadata.log.validationLosses).enumerated() {
            #expect(abs(x - y) <= 1e-5 * abs(x), "epoch \(epoch): validation loss \(y) with 2 ranks, \(x) alone")
        }
        #expect(Set(a.tensors.keys) == Set(b.tensors.keys))
        for (name, tensor) in a.tensors.sorted(by: { $0.key < $1.key }) {
            let other = try #require(b.tensors[name])
            // Relative to the tensor's largest value, at least 0.01: a convolution bias followed by instance
            // normalisation has an exact gradient of zero, so it and its momentum hold rounding noise (~1e-10).
            let scale = max(Double(tensor.values.map { abs($0) }.max() ?? 0), 0.01)
            let difference = zip(tensor.values, other.values).map { Double(abs($0 - $1)) }.max() ?? 0
            #expect(difference / scale <= 1e-5, "'\(name)' differs by \(difference / scale) of its largest value")
        }

        // Rank 0 alone wrote: one log, debug.json with the world size, validation summary and postprocessing.
        let folder = ranks.appendingPathComponent(fold)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(files.filter { $0.hasPrefix("training_log_") }.count == 1)
        #expect(!files.contains { $0.contains(".tmp-") || $0.hasSuffix(".lock") })
        let debug = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("debug.json")))
        #expect((debug as? [String: Any])?["world_size"] as? Int == 2)
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("validation_raw/summary.json").path))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("postprocessing.json").path))

        // Continuing the 2-rank run in one process is allowed and said in the log.
        let resumed = try Self.run(Self.nnunet!, Self.train.map { $0 == "3" ? "4" : $0 } + ["-c"], paths: paths,
                                   results: ranks)
        #expect(resumed.status == 0, "\(resumed.output)")
        #expect(resumed.output.contains("was trained with 2 rank(s); continuing with 1"))
    }

    @Test("more ranks than the global batch: every rank stops at once with v1's split rule named",
          .enabled(if: isEnabled, skipReason))
    func tooManyRanks() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nnunet-mpi-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let paths = try Self.prepare(in: root)
        let started = Date()
        let result = try Self.run(Self.mpirun!, Self.mpi(4, Self.train), paths: paths,
                                  results: root.appendingPathComponent("results"))
        #expect(result.status != 0)
        #expect(result.output.contains("cannot be split over 4 ranks"), "\(result.output)")
        #expect(Date().timeIntervalSince(started) < 60)
    }

    @Test("kill -9 of one rank: the whole job ends within seconds, the checkpoints stay intact, -c resumes all ranks",
          .enabled(if: isEnabled, skipReason))
    func killedRank() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nnunet-mpi-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let paths = try Self.prepare(in: root)
        let results = root.appendingPathComponent("results")
        let fold = results.appendingPathComponent("nnUNet/3d_fullres/\(Self.task)/nnUNetTrainerV2__nnUNetPlansv2.1/fold_0")
        let long = ["train", "3d_fullres", "nnUNetTrainerV2", "670", "0", "--epochs", "200", "--iterations-per-epoch",
                    "2", "--validation-iterations", "1", "--threads", "1", "--disable_validation_inference"]
        let log = root.appendingPathComponent("mpirun.log")
        let process = try FaultCommandTests.start(Self.mpi(2, long), paths: paths, log: log, executable: Self.mpirun,
                                                  results: results)
        defer { if process.isRunning { process.terminate() } }

        // Wait for the first checkpoint, then kill rank 1.
        let best = fold.appendingPathComponent("model_best.model")
        let deadline = Date(timeIntervalSinceNow: 120)
        while !FileManager.default.fileExists(atPath: best.path), process.isRunning, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
        }
        try #require(process.isRunning, "the job ended before its first checkpoint")
        let rank1 = try #require(Self.rankProcess(1, resultsFolder: results), "no process of rank 1 found")
        let rank0 = try #require(Self.rankProcess(0, resultsFolder: results), "no process of rank 0 found")
        let killed = Date()
        kill(rank1, SIGKILL)
        let ended = FaultCommandTests.wait(process, seconds: 30)
        let seconds = Date().timeIntervalSince(killed)
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        try #require(ended, "mpirun still runs 30 s after a rank was killed")
        #expect(seconds < 10, "the job took \(seconds) s to end")
        #expect(process.terminationStatus != 0)
        #expect(output.contains("signal 9"), "\(output)")
        #expect(!Self.isRunning(rank0), "rank 0 still runs")

        // The checkpoints are intact; -c continues with both ranks.
        let resumed = try Self.run(Self.mpirun!, Self.mpi(2, long.map { $0 == "200" ? "3" : $0 } + ["-c"]),
                                   paths: paths, results: results)
        #expect(resumed.status == 0, "\(resumed.output)")
        #expect(resumed.output.contains("Continuing from"), "\(resumed.output)")
        #expect(!resumed.output.contains("damaged"), "\(resumed.output)")
        let files = try FileManager.default.contentsOfDirectory(atPath: fold.path)
        #expect(!files.contains { $0.contains(".tmp-") || $0.hasSuffix(".lock") }, "\(files)")
        #expect(files.contains("model_final_checkpoint.model"))
    }

    /// Whether `pid` is a live process (not gone, not a zombie waiting to be reaped).
    static func isRunning(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
        return state != "Z" && state != "X"
    }

    /// The pid of the `nnunet` process of `rank` whose environment names `resultsFolder` (Linux /proc).
    static func rankProcess(_ rank: Int, resultsFolder: URL) -> pid_t? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = pid_t(entry),
                  let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { continue }
            let variables = Set(environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) })
            if variables.contains("OMPI_COMM_WORLD_RANK=\(rank)"),
               variables.contains("RESULTS_FOLDER=\(resultsFolder.path)") { return pid }
        }
        return nil
    }
}
