import ArgumentParser
import Foundation
import NNUNetCore
import NNUNetPlanning
import NNUNetTraining

/// Options shared by the network benchmarks: a plans file, a stage, threads and the peer.
struct NetworkBenchmarkOptions: ParsableArguments {
    @Option(name: .customLong("plans"), help: "Plans JSON with v1 keys (e.g. ../shared/reference/Task004_Hippocampus/plans_3D.json).")
    var plans: String
    @Option(name: .customLong("stage"), help: "Stage of the plans (default: the last, i.e. 3d_fullres or 2d).")
    var stage: Int?
    @Option(name: .customLong("iterations"), help: "Timed iterations (median reported).") var iterations = 5
    @Option(name: .customLong("warmup"), help: "Untimed iterations first.") var warmup = 1
    @Option(name: .customLong("threads"), help: "Threads for the kernels.") var threads = 2
    @Flag(name: .customLong("without-process-tuning"),
          help: ArgumentHelp("Leave OpenBLAS's thread count and the allocator at their defaults (no "
              + "ProcessTuning.apply), as an application that does not opt in."))
    var withoutProcessTuning = false
    @Flag(name: .customLong("json"), help: "Print one JSON object.") var json = false
    @Option(name: .customLong("peer-python"), help: "Also run ../shared/peer/torch_bench.py with this Python, same run.")
    var peerPython: String?
    @Option(name: .customLong("peer-script"), help: "Path of torch_bench.py.") var peerScript = "../shared/peer/torch_bench.py"

    /// The network of the stage, and the stage.
    func network() throws -> (GenericUNet, StagePlan, Plans) {
        let loaded = try ReferencePlans.load(from: URL(fileURLWithPath: plans))
        let index = stage ?? (loaded.numStages - 1)
        guard let stagePlan = loaded.stage(index) else { throw ValidationError("The plans have no stage \(index).") }
        var generator = SeededGenerator(seed: 0)
        let network = GenericUNet(inputChannels: loaded.numModalities, baseFeatures: loaded.baseNumFeatures,
                                  classCount: loaded.numClasses + 1, poolKernels: stagePlan.poolOpKernelSizes,
                                  convKernels: stagePlan.convKernelSizes, convsPerStage: loaded.convPerStage ?? 2,
                                  generator: &generator)
        return (network, stagePlan, loaded)
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? .nan : sorted.count % 2 == 1 ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// Runs torch_bench.py for `part` (`train` or `infer`) and returns its JSON.
    func runPeer(part: String) throws -> [String: Any]? {
        guard let peerPython else { return nil }
        var arguments = [peerScript, "--plans", plans, "--parts", part, "--threads", String(threads),
                         "--iters", String(iterations), "--warmup", String(warmup)]
        if let stage { arguments += ["--stage", String(stage)] }
        return try PeerProcess.runJSON(peerPython, arguments, description: "torch_bench.py (\(part))")
    }

    func report(_ result: [String: Any]) throws {
        try BenchmarkReport.emit(result, json: json)
    }

    /// The effective rate of work of `flops` direct-convolution FLOPs done in `seconds`, next to a 2048³ sgemm on the
    /// same threads measured now: `direct_conv_gflop`, `effective_gflops`, `sgemm_gflops` and
    /// `effective_fraction_of_sgemm` (a method with fewer multiplications than direct convolution can exceed 1).
    func addEffectiveRate(flops: Double, seconds: Double, to result: inout [String: Any]) {
        ConvolutionFLOPs.addEffectiveRate(flops: flops, seconds: seconds, threads: threads, to: &result)
    }

    /// Finds a number anywhere in the peer's JSON under `key`.
    static func find(_ key: String, in object: Any?) -> Double? {
        if let dictionary = object as? [String: Any] {
            if let value = dictionary[key] as? Double { return value }
            for value in dictionary.values { if let found = find(key, in: value) { return found } }
        }
        return nil
    }
}

/// `nnunet-benchmark train-step`: full training iterations of a plan's network on random data.
struct BenchmarkTrainStepCommand: ParsableCommand, ProcessTuningChoice {
    static let configuration = CommandConfiguration(
        commandName: "train-step",
        abstract: "Time full training iterations (forward with deep supervision, Dice+CE loss, backward, clipping, "
            + "SGD) of a plans file's network on random data.")

    @OptionGroup var options: NetworkBenchmarkOptions
    @Option(name: .customLong("ranks"),
            help: ArgumentHelp("Data-parallel ranks: time the trainer's step (NNUNetTrainerV2) with the plans' global "
                + "batch split over N processes started with mpirun (--threads each), and report the gradient "
                + "allreduce's time and bytes.",
                discussion: "With --ranks 1 the same trainer step runs in this process, for a like-for-like peer."))
    var ranks: Int?
    @Option(name: .customLong("mpirun"), help: "The mpirun to start the ranks with.") var mpirun = "mpirun"
    @Option(name: .customLong("save-weights"),
            help: ArgumentHelp("With --ranks: write the weights after the last step to this safetensors file (rank 0), "
                + "e.g. to compare runs with different --ranks."))
    var saveWeights: String?
    var withoutProcessTuning: Bool { options.withoutProcessTuning }

    func run() throws {
        if let ranks {
            if ranks > 1, !MPICommunicator.isLaunchedByMPI() { return try launchRanks(ranks) }
            let world = MPICommunicator.isLaunchedByMPI() ? try MPICommunicator.initialize() : nil
            try ThreadSettings.withThreads(options.threads) { try measureTrainer(communicator: world) }
            world?.finalize()
            return
        }
        try ThreadSettings.withThreads(options.threads) { try measure() }
    }

    /// Starts this command again under `mpirun -np N` (rank 0 prints the result).
    func launchRanks(_ ranks: Int) throws {
        var arguments = ["-np", String(ranks), "--oversubscribe", "--bind-to", "none"]
        if getuid() == 0 { arguments.append("--allow-run-as-root") }
        arguments += [CommandLine.arguments[0]] + Array(CommandLine.arguments.dropFirst())
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun.contains("/") ? mpirun : "/usr/bin/env")
        process.arguments = mpirun.contains("/") ? arguments : [mpirun] + arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("mpirun -np \(ranks) exited with status \(process.terminationStatus)")
        }
    }

    /// The trainer's step (``NNUNetTrainer/trainStep(_:)``) on this rank's share of random global batches.
    func measureTrainer(communicator: MPICommunicator?) throws {
        let (_, stage, plans) = try options.network()
        let patch = stage.patchSize, batchSize = stage.batchSize
        let configuration = TrainingConfiguration(
            configuration: patch.count == 2 ? .twoD : .fullres, taskName: "Task000_Benchmark", fold: 0,
            inputChannels: plans.numModalities, classCount: plans.numClasses + 1, baseFeatures: plans.baseNumFeatures,
            poolKernels: stage.poolOpKernelSizes, convKernels: stage.convKernelSizes,
            convsPerStage: plans.convPerStage ?? 2, patchSize: patch, batchSize: batchSize,
            usesBatchDice: patch.count == 2 || plans.numStages > 1)
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("nnunet-benchmark-train-step-\(ProcessInfo.processInfo.processIdentifier)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let trainer = NNUNetTrainerV2(configuration: configuration, outputFolder: folder)
        trainer.isVerbose = false
        trainer.savesCheckpoints = false
        trainer.communicator = (communicator?.size ?? 1) > 1 ? communicator : nil
        try trainer.initialize()
        try trainer.synchronizeRanks()
        let slots = try trainer.batchShare().slots
        let voxels = patch.reduce(1, *)
        var random = SeededGenerator(seed: 1)
        let input = Tensor.randomNormal([batchSize, plans.numModalities] + patch, using: &random)
        let labels = (0..<(batchSize * voxels)).map { _ in Float(Int.random(in: 0...plans.numClasses, using: &random)) }
        let per = plans.numModalities * voxels
        let batch = TrainingBatch(
            data: Tensor(shape: [slots.count, plans.numModalities] + patch,
                         data: Array(input.data[(slots.lowerBound * per)..<(slots.upperBound * per)])),
            target: Tensor(shape: [slots.count, 1] + patch,
                           data: Array(labels[(slots.lowerBound * voxels)..<(slots.upperBound * voxels)])))
        var times: [Double] = [], reductions: [Double] = [], losses: [Double] = []
        for iteration in 0..<(options.warmup + options.iterations) {
            trainer.communicator?.barrier()
            let start = Date(), reductionBefore = trainer.gradientReductionSeconds
            losses.append(trainer.trainStep(batch).loss)
            if iteration >= options.warmup {
                times.append(Date().timeIntervalSince(start))
                reductions.append(trainer.gradientReductionSeconds - reductionBefore)
            }
        }
        // Every rank's step ends with the same allreduce: the slowest rank sets the global step.
        let world = trainer.communicator
        let slowest = world.map { w in (0..<times.count).map { i in
            w.allreduceSum((0..<w.size).map { $0 == w.rank ? times[i] : 0 }).max() ?? times[i] } } ?? times
        let ranks = world?.size ?? 1
        let localSizes = world.map { w in w.allreduceSum((0..<w.size).map { $0 == w.rank ? Double(slots.count) : 0 }) }
            ?? [Double(batchSize)]
        guard trainer.isMainRank else { return }
        if let saveWeights, let network = trainer.network {
            let tensors = network.namedParameters().map {
                (name: $0.name, tensor: Safetensors.Tensor(shape: $0.parameter.shape, values: $0.parameter.data))
            }
            try Safetensors.write(tensors, to: URL(fileURLWithPath: saveWeights))
        }
        let step = NetworkBenchmarkOptions.median(slowest), reduction = NetworkBenchmarkOptions.median(reductions)
        try options.report([
            "benchmark": "train-step", "ranks": ranks, "threads_per_rank": options.threads,
            "seconds_per_global_step": step, "global_steps": slowest,
            "allreduce_seconds_per_step": reduction, "allreduce_share": reduction / step,
            "allreduce_bytes_per_step": trainer.gradientReductionBytes,
            "global_batch_size": batchSize, "local_batch_sizes": localSizes.map { Int($0) },
            "losses": losses,
            "num_parameters": trainer.network?.parameterCount ?? 0, "patch_size": patch,
            "mpi_library": (communicator?.libraryVersion ?? "").split(separator: "\n").first.map(String.init) ?? "",
            "peak_rss_mib_rank0": BenchmarkConv3DCommand.peakRSSMiB(),
        ])
    }

    /// The measurement, with the kernels' default thread count bound to the thread option.
    func measure() throws {
        let (network, stage, plans) = try options.network()
        let batch = stage.batchSize, patch = stage.patchSize
        var random = SeededGenerator(seed: 1)
        let input = Tensor.randomNormal([batch, plans.numModalities] + patch, using: &random)
        let labels = (0..<(batch * patch.reduce(1, *))).map { _ in Float(Int.random(in: 0...plans.numClasses, using: &random)) }
        let target = Tensor(shape: [batch, 1] + patch, data: labels)
        let weights = DeepSupervisionLoss.weights(outputCount: stage.poolOpKernelSizes.count)
        let loss = DeepSupervisionLoss(DiceCrossEntropyLoss(batchDice: patch.count == 2 || plans.numStages > 1),
                                       weights: weights)
        let targets = Array(DeepSupervisionTargets.make(target, poolKernels: stage.poolOpKernelSizes)
            .prefix(loss.usedOutputCount))
        let optimizer = SGD(parameters: network.parameters(), learningRate: 0.01)
        var times: [Double] = []
        for iteration in 0..<(options.warmup + options.iterations) {
            let start = Date()
            network.zeroGradients()
            let outputs = network.forwardDeepSupervision(input, outputs: loss.usedOutputCount)
            loss(outputs: outputs, targets: targets).backward()
            _ = clipGradientNorm(network.parameters().filter { $0.grad != nil }, maxNorm: 12)
            optimizer.step()
            if iteration >= options.warmup { times.append(Date().timeIntervalSince(start)) }
        }
        var result: [String: Any] = [
            "benchmark": "train-step", "seconds_per_iteration": NetworkBenchmarkOptions.median(times),
            "iterations": times, "num_parameters": network.parameterCount,
            "peak_rss_mib": BenchmarkConv3DCommand.peakRSSMiB(), "threads": options.threads,
            "blas_threads": ProcessTuning.blasThreads, "patch_size": patch,
            "batch_size": batch,
        ]
        // Forward, input gradient and weight gradient: three times the forward's convolution work.
        options.addEffectiveRate(flops: 3 * ConvolutionFLOPs.forward(network, patch: patch, batch: batch, allHeads: true),
                                 seconds: NetworkBenchmarkOptions.median(times), to: &result)
        if let peer = try options.runPeer(part: "train"),
           let seconds = NetworkBenchmarkOptions.find("train_iter_seconds_median", in: peer) {
            result["peer_seconds_per_iteration"] = seconds
            result["peer_peak_rss_mib"] = NetworkBenchmarkOptions.find("peak_rss_mib", in: peer)
            result["ratio_ours_over_peer"] = NetworkBenchmarkOptions.median(times) / seconds
        }
        try options.report(result)
    }
}

/// `nnunet-benchmark forward`: inference of one patch (forward + softmax, no tape).
struct BenchmarkForwardCommand: ParsableCommand, ProcessTuningChoice {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Time the inference of one patch (batch 1, forward + softmax, no gradients) of a plans file's network.")

    @OptionGroup var options: NetworkBenchmarkOptions
    var withoutProcessTuning: Bool { options.withoutProcessTuning }
    @Option(name: .customLong("slab-depth"),
            help: ArgumentHelp("Also time the low-memory forward (full-resolution stage in slabs of this many rows, as "
                + "nnunet predict --low_memory), with its workspace and its largest difference from the whole forward."))
    var slabDepth: Int?

    func validate() throws {
        if let slabDepth, slabDepth < 1 { throw ValidationError("--slab-depth must be at least 1.") }
    }

    func run() throws { try ThreadSettings.withThreads(options.threads) { try measure() } }

    /// The measurement, with the kernels' default thread count bound to the thread option.
    func measure() throws {
        let (network, stage, plans) = try options.network()
        network.eval()
        var random = SeededGenerator(seed: 1)
        let input = Tensor.randomNormal([1, plans.numModalities] + stage.patchSize, using: &random)
        /// Median seconds, the resident memory the runs added at their peak (MiB) and the last output.
        func measure(_ forward: () -> Tensor) -> (times: [Double], workspace: Double, output: Tensor) {
            ResidentMemory.releaseFreeMemory()
            ResidentMemory.resetPeak()
            let before = ResidentMemory.residentMiB()
            var times: [Double] = [], output = input
            for iteration in 0..<(options.warmup + options.iterations) {
                let start = Date()
                output = withoutGradients { softmax(forward(), axis: 1) }
                if iteration >= options.warmup { times.append(Date().timeIntervalSince(start)) }
            }
            return (times, ResidentMemory.peakMiB() - before, output)
        }
        // Free heap memory is returned to the system before each measurement, so neither run's workspace is hidden
        // by memory the other left with the allocator.
        let slabs = slabDepth.map { depth in measure { network.forwardInSlabs(input, slabDepth: depth) } }
        let whole = measure { network(input) }
        let times = whole.times
        var result: [String: Any] = [
            "benchmark": "forward", "seconds": NetworkBenchmarkOptions.median(times), "iterations": times,
            "num_parameters": network.parameterCount, "peak_rss_mib": BenchmarkConv3DCommand.peakRSSMiB(),
            "threads": options.threads, "blas_threads": ProcessTuning.blasThreads, "patch_size": stage.patchSize,
        ]
        options.addEffectiveRate(flops: ConvolutionFLOPs.forward(network, patch: stage.patchSize, batch: 1,
                                                                 allHeads: false),
                                 seconds: NetworkBenchmarkOptions.median(times), to: &result)
        if let slabs, let slabDepth {
            let difference = zip(slabs.output.data, whole.output.data).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            result["workspace_mib"] = whole.workspace
            result["slab_depth"] = slabDepth
            result["slabs_seconds"] = NetworkBenchmarkOptions.median(slabs.times)
            result["slabs_iterations"] = slabs.times
            result["slabs_workspace_mib"] = slabs.workspace
            result["slabs_over_whole_seconds"] = NetworkBenchmarkOptions.median(slabs.times)
                / NetworkBenchmarkOptions.median(times)
            result["slabs_max_abs_probability_difference"] = Double(difference)
        }
        if let peer = try options.runPeer(part: "infer"),
           let seconds = NetworkBenchmarkOptions.find("infer_patch_seconds_median", in: peer) {
            result["peer_seconds"] = seconds
            result["ratio_ours_over_peer"] = NetworkBenchmarkOptions.median(times) / seconds
        }
        try options.report(result)
    }
}
