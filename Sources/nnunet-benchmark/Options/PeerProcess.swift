import Foundation

/// Runs a peer benchmark (a Python script of `../shared/peer` in its venv) as a child process for the side-by-side
/// figures of `nnunet-benchmark ...`.
///
/// The peers print one JSON object as the last line of standard output and log to standard error. Standard error goes
/// to a temporary file (reading two pipes in turn can deadlock), and its last lines are quoted when the peer fails, so
/// a broken venv or a missing package is visible without rerunning the script by hand.
enum PeerProcess {
    /// Runs `executable arguments...` and returns its standard output.
    ///
    /// - Parameters:
    ///   - environment: the child's environment (default: this process's).
    ///   - description: names the peer in error messages (e.g. "torch_bench.py").
    /// - Throws: `BenchmarkError.failed` when it cannot start or exits non-zero, with the end of its standard error.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                    description: String) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let output = Pipe()
        process.standardOutput = output
        let errorLog = FileManager.default.temporaryDirectory
            .appendingPathComponent("nnunet-peer-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: errorLog.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorLog) }
        let errorHandle = try FileHandle(forWritingTo: errorLog)
        defer { try? errorHandle.close() }
        process.standardError = errorHandle
        do {
            try process.run()
        } catch {
            throw BenchmarkError.failed("Cannot start the peer \(description) with '\(executable)' (\(error.localizedDescription)). "
                                        + "Set up the peer venv with 'bash ../shared/peer/setup.sh' and pass its python or bin "
                                        + "folder.")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let log = (try? String(contentsOf: errorLog, encoding: .utf8)) ?? ""
            let tail = log.split(separator: "\n", omittingEmptySubsequences: true).suffix(8).joined(separator: "\n  ")
            throw BenchmarkError.failed("The peer \(description) failed (exit status \(process.terminationStatus))"
                                        + (tail.isEmpty ? "." : "; the end of its log:\n  \(tail)"))
        }
        return data
    }

    /// The environment nnU-Net v1's commands run with in a side-by-side benchmark: this process's, plus v1's folder
    /// variables where given, `threads` for the BLAS/OpenMP pools (and v1's augmentation workers), and the switch that
    /// lets torch >= 2.6 load v1 checkpoints (numpy scalars in `plot_stuff`).
    static func v1Environment(threads: Int, rawDataBase: URL? = nil, preprocessed: URL? = nil,
                              results: URL? = nil) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        if let rawDataBase { environment["nnUNet_raw_data_base"] = rawDataBase.path }
        if let preprocessed { environment["nnUNet_preprocessed"] = preprocessed.path }
        if let results { environment["RESULTS_FOLDER"] = results.path }
        environment["nnUNet_n_proc_DA"] = String(threads)
        environment["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"
        for name in ["OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"] { environment[name] = String(threads) }
        return environment
    }

    /// Runs the peer and parses the last line of its standard output as a JSON object.
    static func runJSON(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                        description: String) throws -> [String: Any] {
        let data = try run(executable, arguments, environment: environment, description: description)
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
        guard let line = lines.last,
              let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw BenchmarkError.failed("The peer \(description) did not print a JSON object as its last line of output.")
        }
        return object
    }
}
