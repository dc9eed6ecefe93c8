import ArgumentParser
import Foundation
import NNUNetCore
import NNUNetPlanning
import NNUNetTraining
import Testing
@testable import nnunet_cli

/// Issue #21 through the commands: two `nnunet train` processes on one fold, a killed trainer's lock taken over, and
/// `nnunet predict` on an image with a NaN geometry.
@Suite("Faults through the commands", .serialized)
struct FaultCommandTests {
    static let task = "Task650_Faults"
    static let nnunet = OutputBufferingTests.nnunet

    /// A tiny planned and preprocessed task (3D only, 8 base features; `batchSize` replaces the planned batch).
    static func prepare(in root: URL, id: Int = 650, name: String = "Faults", trainingCases: Int = 4,
                        batchSize: Int? = nil) throws -> NNUNetPaths {
        let paths = NNUNetPaths.inside(root)
        var synthetic = SyntheticTaskConfiguration()
        synthetic.taskID = id
        synthetic.name = name
        synthetic.trainingCases = trainingCases
        synthetic.testCases = 1
        synthetic.shape = [12, 20, 16]
        synthetic.seed = UInt64(id)
        try SyntheticTaskGenerator.generate(synthetic, rawDataFolder: try paths.rawData(), threads: 2)
        var options = PlanAndPreprocess.Options()
        options.planner2D = nil
        options.threadsFullres = 2
        options.threadsLowres = 2
        let taskName = String(format: "Task%03d_%@", id, name)
        for planned in try PlanAndPreprocess.run(taskName: taskName, paths: paths, options: options) {
            var plans = planned.plans
            plans.baseNumFeatures = 8
            if let batchSize { for stage in plans.plansPerStage.keys { plans.plansPerStage[stage]?.batchSize = batchSize } }
            try plans.write(to: planned.file)
        }
        return paths
    }

    static func withRoot(_ body: (URL) throws -> Void) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nnunet-faults-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try body(root)
    }

    /// Starts the built `nnunet` (or `executable`) with the task's folders in its environment (`results` replaces
    /// the results folder of `paths`).
    static func start(_ arguments: [String], paths: NNUNetPaths, log: URL, executable: URL? = nil,
                      results: URL? = nil) throws -> Process {
        let process = Process()
        process.executableURL = executable ?? nnunet
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["nnUNet_raw_data_base"] = paths.rawDataBase?.path
        environment["nnUNet_preprocessed"] = paths.preprocessed?.path
        environment["RESULTS_FOLDER"] = (results ?? paths.results)?.path
        process.environment = environment
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// Waits for `process` to exit, for at most `seconds`; returns whether it did.
    static func wait(_ process: Process, seconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return !process.isRunning
    }

    static func train(_ extra: [String] = []) -> [String] {
        ["train", "3d_fullres", "nnUNetTrainerV2", "650", "0", "--iterations-per-epoch", "1",
         "--validation-iterations", "1", "--disable_validation_inference"] + extra
    }

    @Test("a second 'nnunet train' on a fold exits at once naming the first's pid; a killed trainer's lock is taken over",
          .enabled(if: nnunet != nil, "the nnunet product is not built next to the tests (swift build --build-tests)"))
    func twoTrainerProcesses() throws {
        try Self.withRoot { root in
            let paths = try Self.prepare(in: root)
            let fold = try paths.trainedModels()
                .appendingPathComponent("3d_fullres/\(Self.task)/nnUNetTrainerV2__nnUNetPlansv2.1/fold_0")
            let lockFile = FolderLock.lockFile(in: fold)
            let first = try Self.start(Self.train(["--epochs", "1000"]), paths: paths,
                                       log: root.appendingPathComponent("first.txt"))
            defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
            // Wait until the first holds the fold's lock.
            let deadline = Date(timeIntervalSinceNow: 120)
            var holder = ""
            while Date() < deadline, first.isRunning {
                holder = (try? String(contentsOf: lockFile, encoding: .utf8)) ?? ""
                if holder.contains("pid \(first.processIdentifier)") { break }
                Thread.sleep(forTimeInterval: 0.1)
            }
            try #require(holder.contains("pid \(first.processIdentifier)"), "the first trainer never took the lock")

            let secondLog = root.appendingPathComponent("second.txt")
            let start = Date()
            let second = try Self.start(Self.train(["--epochs", "1"]), paths: paths, log: secondLog)
            #expect(Self.wait(second, seconds: 60), "the second trainer did not exit")
            #expect(Date().timeIntervalSince(start) < 30)
            #expect(second.terminationStatus != 0)
            let message = try String(contentsOf: secondLog, encoding: .utf8)
            #expect(message.contains("pid \(first.processIdentifier)") && message.contains("started")
                    && message.contains("is in use by another run"), "\(message)")
            #expect(first.isRunning, "the second run must not disturb the first")

            // kill -9 leaves the lock file, but not the lock: the next run takes it over.
            kill(first.processIdentifier, SIGKILL)
            first.waitUntilExit()
            #expect(FileManager.default.fileExists(atPath: lockFile.path))
            let thirdLog = root.appendingPathComponent("third.txt")
            let third = try Self.start(Self.train(["--epochs", "1"]), paths: paths, log: thirdLog)
            #expect(Self.wait(third, seconds: 300))
            let thirdText = try String(contentsOf: thirdLog, encoding: .utf8)
            #expect(third.terminationStatus == 0, "\(thirdText)")
            #expect(thirdText.contains("Took over the lock of a finished or killed run (pid \(first.processIdentifier)"))
            let left = try FileManager.default.contentsOfDirectory(atPath: fold.path)
            #expect(!left.contains { $0.hasPrefix(".tmp-") } && !left.contains(FolderLock.fileName), "\(left)")
            #expect(left.contains("model_final_checkpoint.model"))
        }
    }

    @Test("'nnunet predict' on an image with a NaN sform fails naming the file and field, and writes no NaN output")
    func predictNaNGeometry() throws {
        try Self.withRoot { root in
            let paths = try Self.prepare(in: root)
            try #require(try NNUNetCommand.parseAsRoot(Self.train(["--epochs", "1"])) as? TrainCommand).run(paths: paths)
            let input = root.appendingPathComponent("input"), output = root.appendingPathComponent("output")
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            let test = try paths.rawData().appendingPathComponent("\(Self.task)/imagesTs/faults_ts000_0000.nii.gz")
            try FileManager.default.copyItem(at: test, to: input.appendingPathComponent("good_0000.nii.gz"))
            let bad = input.appendingPathComponent("bad_0000.nii.gz")
            try FileManager.default.copyItem(at: test, to: bad)
            try FaultHeader.damage(bad, offset: 292, value: .nan)  // srow_x[3] (the x origin), sform_code 1
            // A stray temporary of a killed earlier prediction into the same folder.
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            let deadWriter = "\(Int32.max - 1)@\(TemporaryFile.hostTag)"
            let stray = output.appendingPathComponent(".tmp-\(deadWriter)-\(UUID().uuidString)-bad.nii.gz")
            try Data(count: 100).write(to: stray)
            let command = try #require(try NNUNetCommand.parseAsRoot(
                ["predict", "-i", input.path, "-o", output.path, "-t", "650", "-m", "3d_fullres", "-f", "0",
                 "--disable_tta"]) as? PredictCommand)
            do {
                try command.run(paths: paths)
                Issue.record("predict succeeded on an image with a NaN origin")
            } catch {
                #expect("\(error)".contains(bad.path) && "\(error)".contains("srow_x[3]"), "\(error)")
            }
            let written = try FileManager.default.contentsOfDirectory(atPath: output.path)
            #expect(written.contains("good.nii.gz") && !written.contains("bad.nii.gz"), "\(written)")
            #expect(!written.contains { $0.hasPrefix(".tmp-") } && !written.contains(FolderLock.fileName))
            let good = try NIfTI.read(output.appendingPathComponent("good.nii.gz"))
            #expect(good.geometry.itkOrigin.allSatisfy { $0.isFinite })
        }
    }
}

/// Patches one float of a gzipped NIfTI-1 header (via the `gzip` tool).
enum FaultHeader {
    static func shell(_ command: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(command) failed")
    }

    static func damage(_ url: URL, offset: Int, value: Float) throws {
        let plain = url.deletingPathExtension()
        try shell("gzip -dc '\(url.path)' > '\(plain.path)'")
        var bytes = try Data(contentsOf: plain)
        withUnsafeBytes(of: value) { bytes.replaceSubrange(offset..<(offset + 4), with: $0) }
        try bytes.write(to: plain)
        try shell("gzip -c '\(plain.path)' > '\(url.path)' && rm '\(plain.path)'")
    }
}
