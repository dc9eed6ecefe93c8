import ArgumentParser
import Foundation
import NNUNetCore
import NNUNetTraining

/// `nnunet-benchmark predict`: whole-case prediction with a trained model folder (ours or nnU-Net v1's), next to
/// nnU-Net v1's own `nnUNet_predict` on the same folder in the same run.
struct BenchmarkPredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Time 'nnunet predict' per case on a model folder, and nnU-Net v1's nnUNet_predict on it in the same run.",
        discussion: """
            Default: the genuine v1 model in ../shared/reference/v1_model (Task901, 3d_fullres, fold 0) on its three \
            test images. With --peer-bin (the bin folder of a venv with nnunet 1.7.1, e.g. .peer-venv/bin) v1's \
            nnUNet_predict runs on the same folder with the same threads; its prediction_time.txt (model loading, \
            preprocessing, sliding window, export) is compared with our time for the same work, and the two \
            segmentations are compared voxel by voxel. The JSON also reports the effective rate: the direct-convolution \
            FLOPs of every sliding-window tile (mirrored copies and folds included) over our whole time, as a \
            fraction of a 2048³ sgemm on the same threads.
            """)

    @Option(name: .customLong("results"), help: "A RESULTS_FOLDER holding nnUNet/CONFIG/TASK/TRAINER__PLANS.")
    var results = "../shared/reference/v1_model/results"
    @Option(name: .customLong("input"), help: "Folder of CASE_0000.nii.gz inputs.")
    var input = "../shared/reference/v1_model/imagesTs"
    @Option(name: .customShort("t"), help: "Task id or name.") var task = "901"
    @Option(name: .customShort("m"), help: "Configuration.", transform: NetworkConfiguration.init(validating:))
    var model = NetworkConfiguration.fullres
    @Option(name: .customLong("tr", withSingleDash: true), help: "Trainer.") var trainer = "nnUNetTrainerV2"
    @Option(name: .customShort("p"), help: "Plans identifier.") var plansIdentifier = "nnUNetPlansv2.1"
    @Option(name: .customShort("f"), parsing: .upToNextOption, help: "Folds.", transform: Fold.init(validating:))
    var folds: [Fold] = [.index(0)]
    @Flag(name: .customLong("disable_tta"), help: "No mirroring (both sides).") var disableTTA = false
    @Option(name: .customLong("threads"), help: "Threads (ours, and torch/OpenMP for the peer).") var threads = 2
    @Option(name: .customLong("peer-bin"), help: "bin folder of a venv with nnunet 1.7.1 (runs nnUNet_predict).")
    var peerBin: String?
    @Flag(name: .customLong("json"), help: "Print one JSON object.") var json = false

    func run() throws { try ThreadSettings.withThreads(threads) { try measure() } }

    /// The measurement, with the kernels' default thread count bound to the thread option.
    func measure() throws {
        let paths = NNUNetPaths(rawDataBase: nil, preprocessed: nil, results: URL(fileURLWithPath: results))
        let taskName = try TaskLocator.resolve(task, paths: paths)
        let trainerFolder = try paths.trainedModels().appendingPathComponent(model.rawValue)
            .appendingPathComponent(taskName)
            .appendingPathComponent("\(trainer)__\(plansIdentifier)")
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("nnunet-bench-predict-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let ours = work.appendingPathComponent("ours"), theirs = work.appendingPathComponent("v1")
        try FileManager.default.createDirectory(at: ours, withIntermediateDirectories: true)

        let start = Date()
        let trained = try TrainedModel(trainerFolder: trainerFolder, folds: folds)
        trained.usesMirroring = !disableTTA
        trained.threads = threads
        let loadSeconds = Date().timeIntervalSince(start)
        let cases = try RawTask.casesInInferenceFolder(URL(fileURLWithPath: input), modalities: trained.plans.numModalities)
        var perCase: [String: Double] = [:]
        var flops = 0.0, tiles = 0
        guard let (_, configuration, network) = trained.folds.first else { throw BenchmarkError.failed("no fold") }
        for item in cases {
            let caseStart = Date()
            let prediction = try trained.predictCase(imageFiles: item.imageFiles, identifier: item.identifier,
                                                     keepingProbabilities: false)
            try NIfTI.write(prediction.labels, to: ours.appendingPathComponent(item.identifier + ".nii.gz"),
                            dataType: .uint8)
            perCase[item.identifier] = Date().timeIntervalSince(caseStart)
            let work = ConvolutionFLOPs.slidingWindow(
                network, patch: configuration.patchSize, shape: prediction.properties.sizeAfterResampling,
                stepSize: trained.stepSize, mirroring: trained.usesMirroring, folds: trained.folds.count)
            flops += work.flops
            tiles += work.tiles
            if !json { print(String(format: "ours %@: %.2f s", item.identifier, perCase[item.identifier]!)) }
        }
        let total = Date().timeIntervalSince(start)
        var result: [String: Any] = [
            "benchmark": "predict", "cases": cases.count, "tta": !disableTTA, "threads": threads,
            "model_load_seconds": loadSeconds, "seconds_per_case": perCase, "total_seconds": total,
            "mean_seconds_per_case": total / Double(max(cases.count, 1)),
            "peak_rss_mib": BenchmarkConv3DCommand.peakRSSMiB(), "tiles": tiles,
        ]
        // The whole time (loading, preprocessing and export included) against the network's convolutions.
        ConvolutionFLOPs.addEffectiveRate(flops: flops, seconds: total, threads: threads, to: &result)
        if let peerBin {
            let peer = try runPeer(bin: peerBin, output: theirs)
            result["peer_process_wall_seconds"] = peer.wall
            result["peer_prediction_time_seconds"] = peer.predictionTime
            result["peer_mean_seconds_per_case"] = peer.predictionTime / Double(max(cases.count, 1))
            result["ratio_ours_over_peer"] = total / peer.predictionTime
            var differing: [String: Int] = [:]
            for item in cases {
                let name = item.identifier + ".nii.gz"
                differing[item.identifier] = try BenchmarkReport.differingVoxels(ours.appendingPathComponent(name),
                                                                                 theirs.appendingPathComponent(name))
            }
            result["voxels_differing_from_peer"] = differing
        }
        try BenchmarkReport.emit(result, json: json)
    }

    /// Runs v1's nnUNet_predict with the same folders and threads; returns its wall time and prediction_time.txt.
    func runPeer(bin: String, output: URL) throws -> (wall: Double, predictionTime: Double) {
        let executable = URL(fileURLWithPath: bin).appendingPathComponent("nnUNet_predict")
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw ValidationError("'\(executable.path)' is not there; install the peer with 'bash ../shared/peer/setup.sh'.")
        }
        let process = Process()
        process.executableURL = executable
        var arguments = ["-i", input, "-o", output.path, "-t", task, "-m", model.rawValue, "-tr", trainer,
                         "-p", plansIdentifier, "-f"] + folds.map(\.rawValue)
        if disableTTA { arguments.append("--disable_tta") }
        process.arguments = arguments
        process.environment = PeerProcess.v1Environment(threads: threads, results: URL(fileURLWithPath: results))
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let start = Date()
        try process.run()
        process.waitUntilExit()
        let wall = Date().timeIntervalSince(start)
        guard process.terminationStatus == 0,
              let text = try? String(contentsOf: output.appendingPathComponent("prediction_time.txt"), encoding: .utf8),
              let seconds = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw BenchmarkError.failed("nnUNet_predict failed (status \(process.terminationStatus)); run it by hand with "
                                        + "RESULTS_FOLDER=\(results) to see why.")
        }
        return (wall, seconds)
    }
}
