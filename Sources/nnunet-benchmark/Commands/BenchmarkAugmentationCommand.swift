import ArgumentParser
import Foundation
import NNUNetCore
import NNUNetTraining

/// `nnunet-benchmark augmentation`: batches per second of the v1 training pipeline (sampling + full augmentation).
struct BenchmarkAugmentationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "augmentation",
        abstract: "Measure batches per second of nnU-Net v1's training data pipeline (sampling and augmentation).",
        discussion: """
            nnunet-benchmark augmentation --plans plans_3D.json --synthetic --threads 1 --json
            Without --preprocessed (or with --synthetic) a seeded synthetic stage folder of the plan's median shape \
            is written first (to --synthetic-folder if given, else a temporary folder). With --peer-python, \
            Examples/peer/augmentation_bench.py runs batchgenerators' pipeline on the same folder and plan, \
            single-threaded, interleaved with ours, and the JSON gets its figure and the ratio.
            """)

    @Option(help: "Plans JSON with v1 keys (plans_3D.json or plans_2D.json).") var plans: String
    @Option(help: "Stage folder with CASE.npy + CASE.json (default: generate synthetic data).") var preprocessed: String?
    @Option(help: "Plan stage (default: the last stage).") var stage: Int?
    @Option(help: "Loader worker threads (default 1: one core).") var threads = 1
    @Option(help: "Timed batches per round (default 40).") var batches = 40
    @Option(help: "Untimed batches first (default 4).") var warmup = 4
    @Option(help: "Rounds, ours and the peer's interleaved (default 1); medians are reported.") var rounds = 1
    @Option(help: "Seed of the loader (default 1).") var seed: UInt64 = 1
    @Flag(help: "Use synthetic data even if --preprocessed is given.") var synthetic = false
    @Option(help: "Where to write the synthetic stage folder (kept).") var syntheticFolder: String?
    @Option(help: "Number of synthetic cases (default 8).") var syntheticCases = 8
    @Option(help: "Python of the peer environment, to measure batchgenerators in the same run.") var peerPython: String?
    @Option(help: "The peer script (default Examples/peer/augmentation_bench.py).")
    var peerScript = "Examples/peer/augmentation_bench.py"
    @Flag(help: "Print one JSON line.") var json = false

    func validate() throws {
        guard threads >= 1, batches >= 1, rounds >= 1 else {
            throw ValidationError("Please give --threads, --batches and --rounds of at least 1.")
        }
    }

    func run() throws {
        let plansData = try Data(contentsOf: URL(fileURLWithPath: plans))
        let plan = try JSONDecoder().decode(PlansSubset.self, from: plansData)
        let stageKey = String(stage ?? (plan.plansPerStage.keys.compactMap(Int.init).max() ?? 0))
        guard let stagePlan = plan.plansPerStage[stageKey] else {
            throw ValidationError("Please choose a stage in \(plan.plansPerStage.keys.sorted()).")
        }
        var folder = preprocessed.map { URL(fileURLWithPath: $0, isDirectory: true) }
        var temporary: URL?
        if synthetic || folder == nil {
            let target = syntheticFolder.map { URL(fileURLWithPath: $0, isDirectory: true) }
                ?? FileManager.default.temporaryDirectory.appendingPathComponent("nnunet-aug-bench-\(UUID().uuidString)")
            if syntheticFolder == nil { temporary = target }
            _ = try SyntheticPreprocessedData.write(
                to: target, caseCount: syntheticCases, shape: stagePlan.medianPatientSizeInVoxels,
                modalities: plan.numModalities, classes: plan.numClasses + 1, seed: seed)
            folder = target
        }
        defer { if let temporary { try? FileManager.default.removeItem(at: temporary) } }
        guard let folder else { return }

        let dataset = try PreprocessedDataset(folder: folder)
        let usesMask = (0..<plan.numModalities).map { plan.useMaskForNorm[String($0)] ?? false }
        let parameters = AugmentationParameters.nnUNetTrainerV2(
            patchSize: stagePlan.patchSize, doesDummy2DAugmentation: stagePlan.doDummy2DDataAug ?? false,
            usesMaskForNormalization: usesMask)
        let scales = DownsampleSegmentationForDeepSupervisionTransform.scales(
            poolKernelSizes: stagePlan.poolOpKernelSizes ?? [])
        let sampler = PatchSampler(patchSize: parameters.basicPatchSize, finalPatchSize: parameters.patchSize,
                                   batchSize: stagePlan.batchSize)
        let transforms = AugmentationPipeline.training(parameters, deepSupervisionScales: scales)

        var ours: [Double] = [], oursCPU: [Double] = [], peer: [Double] = [], peerCPU: [Double] = []
        for round in 0..<rounds {
            let loader = BatchLoader.make(dataset: dataset, sampler: sampler, transforms: transforms, slots: nil,
                                          workers: threads, seed: seed &+ UInt64(round))
            for _ in 0..<warmup { _ = try loader.next() }
            let start = DispatchTime.now().uptimeNanoseconds, startCPU = ProcessMemory.cpuSeconds()
            for _ in 0..<batches { _ = try loader.next() }
            ours.append(Double(batches) / (Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9))
            // Workers may run ahead by the queue's capacity; CPU time over the same span is close to the work done.
            oursCPU.append(Double(batches) / (ProcessMemory.cpuSeconds() - startCPU))
            loader.stop()
            if let peerPython {
                let figures = try runPeer(python: peerPython, folder: folder, stage: stageKey)
                peer.append(figures.wall)
                peerCPU.append(figures.cpu)
            }
        }
        let median = { (values: [Double]) in values.sorted()[values.count / 2] }
        var result: [String: Any] = [
            "benchmark": "augmentation", "plans": plans, "stage": Int(stageKey) ?? 0, "threads": threads,
            "batch_size": stagePlan.batchSize, "patch_size": stagePlan.patchSize,
            "basic_patch_size": parameters.basicPatchSize, "case_shape": dataset.cases[0].spatialShape,
            "synthetic": temporary != nil || synthetic || preprocessed == nil, "batches": batches,
            "batches_per_second": median(ours), "batches_per_second_per_thread": median(ours) / Double(threads),
            "batches_per_second_rounds": ours, "peak_rss_mib": ProcessMemory.peakResidentMiB(),
            "cpu_batches_per_second": median(oursCPU),
        ]
        if !peer.isEmpty {
            result["peer_batches_per_second"] = median(peer)
            result["peer_rounds"] = peer
            result["peer"] = "batchgenerators get_moreDA_augmentation, 1 thread"
            result["peer_cpu_batches_per_second"] = median(peerCPU)
            result["speedup_per_core"] = median(ours) / Double(threads) / median(peer)
            result["speedup_cpu_time"] = median(oursCPU) / median(peerCPU)
        }
        let text = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        if json {
            print(String(decoding: text, as: UTF8.self))
        } else {
            print(String(format: "%.2f batches/s (%d thread(s))", median(ours), threads)
                + (peer.isEmpty ? "" : String(format: ", batchgenerators %.2f batches/s", median(peer))))
        }
    }

    /// Runs the peer script on the same folder and plan and returns its batches per second.
    private func runPeer(python: String, folder: URL, stage: String) throws -> (wall: Double, cpu: Double) {
        let object = try PeerProcess.runJSON(
            python, [peerScript, "--plans", plans, "--preprocessed", folder.path, "--stage", stage,
                     "--batches", String(batches), "--warmup", String(warmup)],
            description: "augmentation benchmark '\(peerScript)'")
        guard let value = object["batches_per_second"] as? Double,
              let cpu = object["cpu_batches_per_second"] as? Double else {
            throw BenchmarkError.failed("The peer script '\(peerScript)' printed no batches_per_second / "
                                        + "cpu_batches_per_second.")
        }
        return (value, cpu)
    }
}

/// The plan fields the benchmark needs (v1 keys); the full `Plans` type lives in NNUNetPlanning.
private struct PlansSubset: Decodable {
    struct Stage: Decodable {
        let patchSize: [Int]
        let batchSize: Int
        let doDummy2DDataAug: Bool?
        let medianPatientSizeInVoxels: [Int]
        let poolOpKernelSizes: [[Int]]?
        enum CodingKeys: String, CodingKey {
            case patchSize = "patch_size", batchSize = "batch_size", doDummy2DDataAug = "do_dummy_2D_data_aug"
            case medianPatientSizeInVoxels = "median_patient_size_in_voxels"
            case poolOpKernelSizes = "pool_op_kernel_sizes"
        }
    }
    let numModalities: Int
    let numClasses: Int
    let useMaskForNorm: [String: Bool]
    let plansPerStage: [String: Stage]
    enum CodingKeys: String, CodingKey {
        case numModalities = "num_modalities", numClasses = "num_classes", useMaskForNorm = "use_mask_for_norm"
        case plansPerStage = "plans_per_stage"
    }
}

/// Peak resident memory (Linux `VmHWM`, MiB; 0 where unavailable) and CPU time of this process.
private enum ProcessMemory {
    /// User + system CPU seconds of all threads so far.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6
    }

    static func peakResidentMiB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kib = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kib / 1024
    }
}
