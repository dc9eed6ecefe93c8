import ArgumentParser
import Dispatch
import Foundation
import NNUNetCore
import NNUNetEvaluation

/// `nnunet-benchmark evaluation`: connected components, keep-largest postprocessing and the evaluator, timed next to
/// nnU-Net v1 / scipy (`../shared/peer/ops_bench.py`) on the same `.npy` inputs, interleaved in one run.
struct EvaluationBenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluation",
        abstract: "Time connected components, postprocessing and evaluation against the v1 peer (JSON).",
        discussion: """
            Reads the seeded .npy volumes that ops_bench.py writes (run with --peer-python to create them and to \
            time the peer in the same run, interleaved: peer, Swift, peer, Swift, ...). Prints one JSON object with \
            the medians of both sides and the ratio swift/peer (below 1: Swift is faster), and the whole-folder \
            evaluation of --folder-cases copies of the NIfTI pair with 1 thread and with --threads threads \
            (interleaved, --repeats runs per round; wall and CPU seconds, so cpu/wall shows the cores kept busy).

              nnunet-benchmark evaluation --peer-python .peer-venv/bin/python \\
                  --ops-bench ../shared/peer/ops_bench.py --inputs-dir /tmp/peer-ops-inputs --threads 2
            """,
        aliases: ["connected-components"]
    )

    @Option(help: "Folder with the ops_bench.py inputs (inputs.json and the .npy files).")
    var inputsDir = "peer-ops-inputs"
    @Option(help: "Python of the peer venv; when given, ops_bench.py runs interleaved with the Swift timings.")
    var peerPython: String?
    @Option(help: "Path of ops_bench.py.")
    var opsBench = "../shared/peer/ops_bench.py"
    @Option(help: "Interleaved rounds (peer then Swift).")
    var rounds = 2
    @Option(help: "Timed runs per operation and round (median reported).")
    var repeats = 3
    @Option(help: "Threads for Swift (and the peer's --threads).")
    var threads = 2
    @Option(help: "Cases in the folder-evaluation scaling test (copies of the NIfTI pair).")
    var folderCases = 16
    @Option(parsing: .upToNextOption,
            help: "Only these operations (default: all), e.g. --ops label_scipy_6conn_noise; 'folder' is the whole-folder scaling test.")
    var ops: [String] = []
    @Option(help: "Also write the JSON to this file.")
    var jsonOut: String?

    static let peerOps = ["label_scipy_6conn_typical", "label_scipy_26conn_typical", "label_cc3d_6_typical",
                          "label_scipy_6conn_noise", "label_scipy_26conn_noise", "remove_all_but_largest",
                          "evaluator_in_memory", "evaluator_nifti_case"]

    func validate() throws {
        guard rounds >= 1, repeats >= 1, threads >= 1, folderCases >= 2 else {
            throw ValidationError("Please use rounds, repeats and threads >= 1 and --folder-cases >= 2.")
        }
    }

    func run() throws {
        let inputs = URL(fileURLWithPath: inputsDir, isDirectory: true)
        var peerRuns: [JSONValue] = []
        var swiftRuns: [[String: (seconds: Double, result: String)]] = []
        var folderRuns: [Int: [FolderRun]] = [:]
        let loadBefore = Self.loadAverage()
        for round in 0..<rounds {
            if let peerPython {
                FileHandle.standardError.write(Data("round \(round + 1): peer ops_bench.py ...\n".utf8))
                peerRuns.append(try runPeer(python: peerPython, inputs: inputs))
            }
            FileHandle.standardError.write(Data("round \(round + 1): Swift ...\n".utf8))
            let swift = try runSwift(inputs: inputs)
            swiftRuns.append(swift.ops)
            for (count, runs) in swift.folder { folderRuns[count, default: []] += runs }
        }
        var ops: [(String, JSONValue)] = []
        for name in Self.peerOps {
            let swiftTimes = swiftRuns.compactMap { $0[name]?.seconds }
            guard !swiftTimes.isEmpty else { continue }
            let swiftMedian = Self.median(swiftTimes)
            var entry: [(String, JSONValue)] = [("swift_median_seconds", .double(swiftMedian)),
                                                ("swift_result", .string(swiftRuns.last?[name]?.result ?? ""))]
            let peerTimes = peerRuns.compactMap { $0["ops"]?[name]?["median_seconds"]?.doubleValue }
            if !peerTimes.isEmpty {
                let peerMedian = Self.median(peerTimes)
                entry += [("peer_median_seconds", .double(peerMedian)),
                          ("ratio_swift_over_peer", .double(swiftMedian / peerMedian)),
                          ("speedup_peer_over_swift", .double(peerMedian / swiftMedian))]
                if let result = peerRuns.last?["ops"]?[name]?["result"] { entry.append(("peer_result", result)) }
            }
            ops.append((name, .object(entry)))
        }
        var report: [(String, JSONValue)] = [
            ("tool", .string("nnunet-benchmark evaluation")), ("threads", .int(threads)), ("rounds", .int(rounds)),
            ("repeats", .int(repeats)), ("cpu_cores", .int(ProcessInfo.processInfo.activeProcessorCount)),
            ("ops", .object(ops)),
        ]
        if let one = folderRuns[1], let many = folderRuns[threads], threads > 1 {
            // Medians over all interleaved runs (1 thread, N threads, 1, N, ...); CPU = user + system time of this
            // process, so cpu / wall says how many cores the evaluation kept busy (other processes share the machine).
            func label(_ count: Int) -> String { count == 1 ? "1_thread" : "\(count)_threads" }
            var entry: [(String, JSONValue)] = [("cases", .int(folderCases)), ("runs_per_thread_count", .int(one.count))]
            for (count, runs) in [(1, one), (threads, many)] {
                let wall = Self.median(runs.map(\.wall)), cpu = Self.median(runs.map(\.cpu))
                entry += [("seconds_\(label(count))", .double(wall)),
                          ("min_seconds_\(label(count))", .double(runs.map(\.wall).min() ?? .nan)),
                          ("cpu_seconds_\(label(count))", .double(cpu)),
                          ("cores_busy_\(label(count))", .double(cpu / wall))]
            }
            entry.append(("speedup", .double(Self.median(one.map(\.wall)) / Self.median(many.map(\.wall)))))
            report.append(("folder_evaluation", .object(entry)))
        }
        report.append(("load_average_1min_before", .double(loadBefore)))
        report.append(("load_average_1min_after", .double(Self.loadAverage())))
        if let peer = peerRuns.last {
            for key in ["numpy", "scipy", "nnunet", "cc3d"] { if let value = peer[key] { report.append(("peer_\(key)", value)) } }
        }
        // Our JSON writer keeps every float exactly (Python repr), so peer values are not re-rounded.
        let document = JSONValue.object(report)
        print(document.serialized(sortKeys: true))
        if let jsonOut { try document.serialized(sortKeys: true, indent: 1).write(toFile: jsonOut, atomically: true, encoding: .utf8) }
    }

    // MARK: - Peer

    func runPeer(python: String, inputs: URL) throws -> JSONValue {
        let data = try PeerProcess.run(
            python, [opsBench, "--inputs-dir", inputs.path, "--repeats", String(repeats), "--threads", String(threads),
                     "--ops"] + (ops.isEmpty ? Self.peerOps : Self.peerOps.filter { ops.contains($0) }),
            description: "ops_bench.py")
        guard let json = try? JSONValue.parse(String(decoding: data, as: UTF8.self), source: "ops_bench.py output") else {
            throw BenchmarkError.failed("ops_bench.py printed no JSON; run it by hand to see why.")
        }
        return json
    }

    // MARK: - Swift side

    /// One whole-folder evaluation: wall and CPU seconds.
    struct FolderRun { var wall: Double, cpu: Double }

    func runSwift(inputs: URL) throws -> (ops: [String: (seconds: Double, result: String)], folder: [Int: [FolderRun]]) {
        let manifest = try? JSONValue.read(inputs.appendingPathComponent("inputs.json"))
        guard let files = manifest?["files"] else {
            throw BenchmarkError.failed("\(inputs.path)/inputs.json is missing or malformed; run ops_bench.py once "
                                        + "(or pass --peer-python) to create the inputs.")
        }
        func load(_ key: String) throws -> (bytes: [UInt8], shape: [Int]) {
            guard let name = files[key]?["file"]?.stringValue else { throw BenchmarkError.failed("inputs.json lacks '\(key)'") }
            return try NPYFile.readUInt8(inputs.appendingPathComponent(name))
        }
        let labels = try load("labels"), prediction = try load("pred"), noise = try load("noise")
        let shape = labels.shape
        var ops: [String: (seconds: Double, result: String)] = [:]
        let selected = Set(self.ops.isEmpty ? Self.peerOps + ["folder"] : self.ops)
        let typicalMask = labels.bytes.map { $0 > 0 ? UInt8(1) : 0 }, noiseMask = noise.bytes.map { $0 > 0 ? UInt8(1) : 0 }
        for (name, mask, connectivity) in [("label_scipy_6conn_typical", typicalMask, ComponentConnectivity.face),
                                           ("label_scipy_26conn_typical", typicalMask, .full),
                                           ("label_cc3d_6_typical", typicalMask, .face),
                                           ("label_scipy_6conn_noise", noiseMask, .face),
                                           ("label_scipy_26conn_noise", noiseMask, .full)] where selected.contains(name) {
            var count = 0
            let seconds = time {
                let result = ConnectedComponents.label(mask, shape: shape, connectivity: connectivity, threads: threads)
                count = result.count
            }
            ops[name] = (seconds, "num_components=\(count)")
        }
        let labelFloats = labels.bytes.map { Float($0) }, predictionFloats = prediction.bytes.map { Float($0) }
        guard selected.contains("remove_all_but_largest") || selected.contains("evaluator_in_memory")
            || selected.contains("evaluator_nifti_case") || selected.contains("folder") else { return (ops, [:]) }
        var counts: [Int] = []
        if selected.contains("remove_all_but_largest") { ops["remove_all_but_largest"] = (time {
            var copy = labelFloats
            LargestComponentFilter.apply(to: &copy, shape: shape, volumePerVoxel: 1.0 * 0.8 * 0.8,
                                         classSets: [.union([1, 2]), .single(2)], threads: threads)
            counts = [0, 1, 2].map { label in copy.reduce(0) { $0 + ($1 == Float(label) ? 1 : 0) } }
        }, "counts=\(counts)") }
        let geometry = ImageGeometry(itkSpacing: [0.8, 0.8, 1.0], itkOrigin: [0, 0, 0],
                                     itkDirection: [1, 0, 0, 0, 1, 0, 0, 0, 1])
        let predictionVolume = Volume(data: predictionFloats, shape: shape, geometry: geometry)
        let referenceVolume = Volume(data: labelFloats, shape: shape, geometry: geometry)
        var dice = ""
        if selected.contains("evaluator_in_memory") { ops["evaluator_in_memory"] = (try timeThrowing {
            let scores = try CaseEvaluator.evaluate(prediction: predictionVolume, reference: referenceVolume,
                                                    caseName: "benchmark", options: EvaluationOptions(labels: [1, 2]),
                                                    threads: threads)
            dice = scores.map { "\($0.label): \($0.values["Dice"] ?? .nan)" }.joined(separator: ", ")
        }, "Dice \(dice)") }
        guard selected.contains("evaluator_nifti_case") || selected.contains("folder") else { return (ops, [:]) }

        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nnunet-eval-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let pred = scratch.appendingPathComponent("pred"), gt = scratch.appendingPathComponent("gt")
        for folder in [pred, gt] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        try NIfTI.write(predictionVolume, to: pred.appendingPathComponent("case_000.nii.gz"), dataType: .uint8)
        try NIfTI.write(referenceVolume, to: gt.appendingPathComponent("case_000.nii.gz"), dataType: .uint8)
        let fileBytes = try [pred, gt].map { folder in
            try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent("case_000.nii.gz").path)[.size]
                as? Int ?? -1
        }
        var niftiDice = ""
        if selected.contains("evaluator_nifti_case") { ops["evaluator_nifti_case"] = (try timeThrowing {
            let summary = try FolderEvaluation.aggregateScores(
                pairs: [(pred.appendingPathComponent("case_000.nii.gz"), gt.appendingPathComponent("case_000.nii.gz"))],
                options: EvaluationOptions(labels: [1, 2]), threads: threads)
            niftiDice = "Dice 1: \(summary.meanDice(of: 1)), 2: \(summary.meanDice(of: 2))"
        }, niftiDice + " (gzip files \(fileBytes[0]) + \(fileBytes[1]) bytes)") }

        // Whole-folder scaling: the same pair as `folderCases` cases, 1 thread vs `threads` threads, interleaved.
        guard selected.contains("folder"), threads > 1 else { return (ops, [:]) }
        for i in 1..<folderCases {
            let name = String(format: "case_%03d.nii.gz", i)
            try FileManager.default.copyItem(at: pred.appendingPathComponent("case_000.nii.gz"), to: pred.appendingPathComponent(name))
            try FileManager.default.copyItem(at: gt.appendingPathComponent("case_000.nii.gz"), to: gt.appendingPathComponent(name))
        }
        var folder: [Int: [FolderRun]] = [:]
        for _ in 0..<repeats {
            for count in [1, threads] {
                let cpuStart = Self.processCPUSeconds(), start = DispatchTime.now().uptimeNanoseconds
                try FolderEvaluation.evaluateFolder(reference: gt, prediction: pred, options: EvaluationOptions(labels: [1, 2]),
                                                    threads: count)
                let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                folder[count, default: []].append(FolderRun(wall: wall, cpu: Self.processCPUSeconds() - cpuStart))
            }
        }
        return (ops, folder)
    }

    /// User + system CPU seconds of this process so far (all threads).
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// The 1-minute load average (how busy the machine was; NaN where /proc/loadavg is missing).
    static func loadAverage() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8),
              let first = text.split(separator: " ").first, let value = Double(first) else { return .nan }
        return value
    }

    /// Median wall time of `repeats` runs.
    func time(_ body: () -> Void) -> Double {
        (try? timeThrowing { body() }) ?? .nan
    }

    func timeThrowing(runs: Int? = nil, _ body: () throws -> Void) throws -> Double {
        var times: [Double] = []
        for _ in 0..<(runs ?? repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return Self.median(times)
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted(), n = sorted.count
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}

/// A minimal `.npy` reader for the benchmark inputs (little-endian uint8, C order), local to this benchmark.
enum NPYFile {
    static func readUInt8(_ url: URL) throws -> (bytes: [UInt8], shape: [Int]) {
        let data = try Data(contentsOf: url)
        guard data.count > 10, data.prefix(6) == Data([0x93] + Array("NUMPY".utf8)) else {
            throw BenchmarkError.failed("\(url.path) is not a .npy file")
        }
        let major = data[data.startIndex + 6]
        let headerLength: Int, headerStart: Int
        if major == 1 {
            headerLength = Int(data[data.startIndex + 8]) | Int(data[data.startIndex + 9]) << 8
            headerStart = 10
        } else {
            headerLength = (0..<4).reduce(0) { $0 | Int(data[data.startIndex + 8 + $1]) << (8 * $1) }
            headerStart = 12
        }
        let header = String(decoding: data[(data.startIndex + headerStart)..<(data.startIndex + headerStart + headerLength)],
                            as: UTF8.self)
        guard header.contains("'descr': '|u1'") || header.contains("'descr': '<u1'"),
              header.contains("'fortran_order': False") else {
            throw BenchmarkError.failed("\(url.path): only C-ordered uint8 .npy files are supported (header \(header))")
        }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw BenchmarkError.failed("\(url.path): no shape in the header")
        }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        let count = shape.reduce(1, *)
        let start = data.startIndex + headerStart + headerLength
        guard data.count - (headerStart + headerLength) >= count else { throw BenchmarkError.failed("\(url.path) is truncated") }
        return (Array(data[start..<(start + count)]), shape)
    }
}
