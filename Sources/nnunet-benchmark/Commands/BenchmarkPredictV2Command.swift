import ArgumentParser
import Foundation
import NNUNetCore
import NNUNetTraining

/// `nnunet-benchmark predict-v2`: whole-case prediction with an nnU-Net v2 model folder, next to nnU-Net v2's own
/// `nnUNetv2_predict_from_modelfolder` on the same folder in the same run.
struct BenchmarkPredictV2Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict-v2",
        abstract: "Time predict-from-model-folder per case on a v2 model folder, and nnU-Net v2's own predictor on it.",
        discussion: """
            Default: the genuine v2 model in ../shared/reference/v2_model (Dataset901, 3d_fullres, fold 0) on its \
            three test images. Ours runs in this process (model loading, preprocessing, sliding window, export, as \
            V2FolderPrediction does it). With --peer-bin (the bin folder of a venv with nnunetv2 2.8.1) the peer's \
            nnUNetv2_predict_from_modelfolder runs next, on the same images with -device cpu -npp 1 -nps 1: its \
            process wall time (including Python's start and imports) and its own timing of the prediction, with \
            the peak memory of its main process and of its largest worker; the segmentations are compared voxel by \
            voxel. nnU-Net v2 sets torch to every CPU core on -device cpu; --threads sets ours (use the core count \
            for a like-for-like figure).
            """)

    @Option(name: .customShort("m"), help: "The v2 model folder (TRAINER__PLANS__CONFIGURATION).")
    var model = "../shared/reference/v2_model/results/Dataset901_Spheres/nnUNetTrainer__nnUNetPlans__3d_fullres"
    @Option(name: .customLong("input"), help: "Folder of CASE_0000.nii.gz inputs.")
    var input = "../shared/reference/v2_model/imagesTs"
    @Option(name: .customShort("f"), parsing: .upToNextOption, help: "Folds.", transform: Fold.init(validating:))
    var folds: [Fold] = [.index(0)]
    @Flag(name: .customLong("disable_tta"), help: "No mirroring (both sides).") var disableTTA = false
    @Option(name: .customLong("threads"), help: "Threads for ours (the peer uses every core).")
    var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(name: .customLong("peer-bin"),
            help: "bin folder of a venv with nnunetv2 2.8.1 (runs nnUNetv2_predict_from_modelfolder).")
    var peerBin: String?
    @Flag(name: .customLong("json"), help: "Print one JSON object.") var json = false

    func run() throws { try ThreadSettings.withThreads(threads) { try measure() } }

    func measure() throws {
        let work = FileManager.default.temporaryDirectory
            .appendingPathComponent("nnunet-bench-predict-v2-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let ours = work.appendingPathComponent("ours"), theirs = work.appendingPathComponent("v2")

        let start = Date()
        let trained = try V2TrainedModel(modelFolder: URL(fileURLWithPath: model, isDirectory: true), folds: folds)
        trained.usesMirroring = !disableTTA
        trained.threads = threads
        let loadSeconds = Date().timeIntervalSince(start)
        var run = V2FolderPrediction(inputFolder: URL(fileURLWithPath: input, isDirectory: true), outputFolder: ours)
        var perCase: [String: Double] = [:]
        var caseStart = Date()
        run.progress = { line in
            // "[i/n] CASE: done in ..." closes a case.
            if let name = line.split(separator: " ").dropFirst().first.map({ String($0.dropLast()) }) {
                perCase[name] = Date().timeIntervalSince(caseStart)
                caseStart = Date()
            }
            if !json { print("ours \(line)") }
        }
        caseStart = Date()
        let summary = try run.run(model: trained)
        let total = Date().timeIntervalSince(start)
        let count = summary.predicted.count
        var result: [String: Any] = [
            "benchmark": "predict-v2", "cases": count, "tta": !disableTTA, "threads": threads,
            "configuration": trained.configuration.name,
            "network": trained.configuration.architecture.networkClass,
            "model_load_seconds": loadSeconds, "seconds_per_case": perCase, "total_seconds": total,
            "mean_seconds_per_case": total / Double(max(count, 1)),
            "peak_rss_mib": BenchmarkConv3DCommand.peakRSSMiB(),
        ]
        if let peerBin {
            let peer = try runPeer(bin: peerBin, output: theirs)
            result["peer_process_wall_seconds"] = peer.wall
            result["peer_prediction_seconds"] = peer.prediction
            result["peer_mean_seconds_per_case"] = peer.prediction / Double(max(count, 1))
            result["peer_peak_rss_mib_main"] = peer.peakMain
            result["peer_peak_rss_mib_largest_worker"] = peer.peakWorker
            result["ratio_ours_over_peer"] = total / peer.prediction
            var differing: [String: Int] = [:]
            for identifier in summary.predicted {
                let name = identifier + trained.dataset.fileEnding
                differing[identifier] = try BenchmarkReport.differingVoxels(ours.appendingPathComponent(name),
                                                                            theirs.appendingPathComponent(name))
            }
            result["voxels_differing_from_peer"] = differing
        }
        try BenchmarkReport.emit(result, json: json)
    }

    /// Runs v2's predictor in the peer's python, which times the prediction itself and reports its peak memory.
    func runPeer(bin: String, output: URL) throws
        -> (wall: Double, prediction: Double, peakMain: Double, peakWorker: Double) {
        let python = URL(fileURLWithPath: bin).appendingPathComponent("python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw ValidationError("'\(python)' is not there; make a venv with ../shared/peer/requirements-v2.txt.")
        }
        var arguments = ["-i", input, "-o", output.path, "-m", model, "-device", "cpu", "-npp", "1", "-nps", "1",
                         "--disable_progress_bar", "-f"] + folds.map { $0.index.map(String.init) ?? "all" }
        if disableTTA { arguments.append("--disable_tta") }
        // The entry point as its console script calls it; the import is outside the timed part.
        let script = """
            import json, resource, sys, time
            from nnunetv2.inference.predict_from_raw_data import predict_entry_point_modelfolder
            sys.argv = ["nnUNetv2_predict_from_modelfolder"] + sys.argv[1:]
            start = time.time()
            predict_entry_point_modelfolder()
            seconds = time.time() - start
            main = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(json.dumps({"seconds": seconds, "peak_main_mib": main, "peak_worker_mib": worker}))
            """
        var environment = ProcessInfo.processInfo.environment
        environment["nnUNet_compile"] = "f"
        for name in ["nnUNet_raw", "nnUNet_preprocessed", "nnUNet_results"] where environment[name] == nil {
            environment[name] = work(name)
        }
        let start = Date()
        let report = try PeerProcess.runJSON(python, ["-c", script] + arguments, environment: environment,
                                             description: "nnUNetv2_predict_from_modelfolder")
        let wall = Date().timeIntervalSince(start)
        guard let seconds = report["seconds"] as? Double, let main = report["peak_main_mib"] as? Double,
              let worker = report["peak_worker_mib"] as? Double else {
            throw BenchmarkError.failed("the v2 peer's report lacks its timing: \(report)")
        }
        return (wall, seconds, main, worker)
    }

    /// A placeholder folder for the environment variables v2 warns about when unset (prediction does not use them).
    func work(_ name: String) -> String { FileManager.default.temporaryDirectory.appendingPathComponent(name).path }
}
