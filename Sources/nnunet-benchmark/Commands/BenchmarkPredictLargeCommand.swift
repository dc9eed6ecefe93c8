import ArgumentParser
import Foundation
import NNUNetCore
import NNUNetPlanning
import NNUNetTraining

/// `nnunet-benchmark predict-large`: time and peak memory of predicting one large generated CT case with a 3d_fullres
/// model planned for it, with and without test-time mirroring, through `TrainedModel.predictCase` as `nnunet predict`
/// runs it.
struct BenchmarkPredictLargeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict-large",
        abstract: "Time and peak memory of predicting a large generated CT case (default 512 x 512 x 300).",
        discussion: """
            Writes an int16 CT-like case (SyntheticCTVolume), plans a v1 3d_fullres stage for a dataset of such \
            cases (ExperimentPlanner, 8 GB reference), writes a model folder whose network has freshly He-initialised \
            weights (seed 0: the timing and memory of a trained model, not its segmentation), loads it with \
            TrainedModel and predicts the case, then writes the labels as nnunet predict does. Peak memory is Linux \
            VmHWM, reset per phase through /proc/self/clear_refs, after returning the heap's free memory to the system \
            (malloc_trim) as a fresh nnunet predict process would start. --low-memory evaluates the network's \
            full-resolution stage in slabs (nnunet predict --low_memory). The bound reported is 4 x the float32 size of the \
            input volume plus the model (parameters; also given with the measured workspace of one patch forward). \
            Example:
              nnunet-benchmark predict-large --threads 2 --base-features 8 --skip-tta --json
            """)

    @Option(name: .customLong("shape"), parsing: .upToNextOption, help: "Case shape z y x in voxels.")
    var shape: [Int] = [300, 512, 512]
    @Option(name: .customLong("spacing"), parsing: .upToNextOption, help: "Case spacing z y x in mm.")
    var spacing: [Double] = [1.5, 0.8, 0.8]
    @Option(name: .customLong("target-spacing"), parsing: .upToNextOption,
            help: "Spacing of the planned dataset (the 3d_fullres target; default: the case's, so no resampling).")
    var targetSpacing: [Double] = []
    @Option(name: .customLong("classes"), help: "Foreground classes (2: e.g. organ and lesion, K = 3).")
    var classes = 2
    @Option(name: .customLong("base-features"),
            help: "Features of the first U-Net stage (v1: 32; fewer for shorter runs, the patch stays as planned).")
    var baseFeatures = 32
    @Option(name: .customLong("step-size"), help: "Sliding-window step as a fraction of the patch (v1: 0.5).")
    var stepSize = 0.5
    @Flag(name: .customLong("skip-tta"), help: "Only the run without mirroring.") var skipTTA = false
    @Flag(name: .customLong("skip-no-tta"), help: "Only the run with mirroring (8 flips).") var skipNoTTA = false
    @Flag(name: .customLong("low-memory"),
          help: "Evaluate the full-resolution stage in slabs (nnunet predict --low_memory).") var lowMemory = false
    @Option(name: .customLong("threads"), help: "Threads.") var threads = 2
    @Option(name: .customLong("work"), help: "Work folder (default: a temporary folder, removed afterwards).")
    var work: String?
    @Flag(name: .customLong("json"), help: "Print one JSON object.") var json = false

    func validate() throws {
        guard shape.count == 3, spacing.count == 3, targetSpacing.isEmpty || targetSpacing.count == 3 else {
            throw ValidationError("Please give --shape, --spacing and --target-spacing as three numbers (z y x).")
        }
        guard classes >= 1, baseFeatures >= 1, threads >= 1, stepSize > 0, stepSize <= 1 else {
            throw ValidationError("Please give --classes, --base-features and --threads >= 1 and 0 < --step-size <= 1.")
        }
    }

    func run() throws { try ThreadSettings.withThreads(threads) { try measure() } }

    /// The measurement, with the kernels' default thread count bound to the thread option.
    func measure() throws {
        let folder = work.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("nnunet-bench-predict-large-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { if work == nil { try? FileManager.default.removeItem(at: folder) } }
        // Progress goes to standard error (unbuffered), the result to standard output.
        let log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

        // The case: int16 NIfTI, as CT comes.
        var start = Date()
        let imageFile = folder.appendingPathComponent("largect_0000.nii.gz")
        do {
            let (image, _) = SyntheticCTVolume.make(shape: shape, spacing: spacing, seed: 1)
            try NIfTI.write(image, to: imageFile, dataType: .int16)
        }
        log(String(format: "case %@ written in %.1f s", "\(shape)", Date().timeIntervalSince(start)))

        // The model: v1's 3d_fullres plan for a dataset of such cases, fresh weights.
        let plans = try Self.plans(shape: shape, spacing: targetSpacing.isEmpty ? spacing : targetSpacing,
                                   classes: classes, baseFeatures: baseFeatures)
        let configuration = try TrainingConfiguration(plans: plans, configuration: .fullres,
                                                      taskName: "Task990_LargeCT", fold: 0,
                                                      plansIdentifier: "nnUNetPlansv2.1", preprocessedTaskFolder: nil)
        let trainerFolder = folder.appendingPathComponent("nnUNetTrainerV2__nnUNetPlansv2.1")
        try TrainedModel.writeModelFolder(plans: plans, configuration: configuration,
                                          network: configuration.makeInferenceNetwork(), trainerFolder: trainerFolder)
        let model = try TrainedModel(trainerFolder: trainerFolder, folds: [.index(0)])
        model.threads = threads
        model.stepSize = stepSize
        model.slabDepth = lowMemory ? GenericUNet.defaultSlabDepth : nil
        guard let network = model.folds.first?.network else { throw BenchmarkError.failed("the model has no fold") }
        let parameterBytes = Double(network.parameterCount * 4)

        // One patch forward: its time and its memory beyond the loaded model (the network's workspace). Free heap
        // memory left by writing the case and the model goes back to the system first (as in a fresh `nnunet
        // predict` process), so that it neither hides nor inflates what is measured.
        ResidentMemory.releaseFreeMemory()
        ResidentMemory.resetPeak()
        let beforeForward = ResidentMemory.residentMiB()
        start = Date()
        network.eval()
        _ = withoutGradients {
            let patch = Tensor(shape: [1, plans.numModalities] + configuration.patchSize,
                               data: [Float](repeating: 0, count: plans.numModalities * configuration.patchSize.reduce(1, *)))
            return model.slabDepth.map { network.forwardInSlabs(patch, slabDepth: $0) } ?? network(patch)
        }
        let forwardSeconds = Date().timeIntervalSince(start)
        let forwardWorkspaceMiB = ResidentMemory.peakMiB() - beforeForward
        log(String(format: "patch %@ forward %.2f s, workspace %.0f MiB", "\(configuration.patchSize)", forwardSeconds,
                   forwardWorkspaceMiB))

        let inputMiB = Double(shape.reduce(1, *) * 4) / 1_048_576
        let modelMiB = parameterBytes / 1_048_576
        var result: [String: Any] = [
            "benchmark": "predict-large", "threads": threads, "case_shape": shape, "case_spacing": spacing,
            "case_voxels": shape.reduce(1, *), "input_float32_mib": inputMiB,
            "input_file_mib": Double((try? FileManager.default.attributesOfItem(atPath: imageFile.path)[.size] as? Int)
                                        ?? 0) / 1_048_576,
            "classes_with_background": configuration.classCount, "patch_size": configuration.patchSize,
            "pool_kernels": configuration.poolKernels, "base_features": plans.baseNumFeatures,
            "target_spacing": plans.stage(plans.numStages - 1)?.currentSpacing ?? [], "step_size": stepSize,
            "parameters": network.parameterCount, "model_parameters_mib": modelMiB,
            "patch_forward_seconds": forwardSeconds, "patch_forward_workspace_mib": forwardWorkspaceMiB,
            "bound_mib": 4 * inputMiB + modelMiB,
            "bound_with_forward_workspace_mib": 4 * inputMiB + modelMiB + forwardWorkspaceMiB,
            "weights": "He-initialised (seed 0), untrained",
            "low_memory": lowMemory, "slab_depth": model.slabDepth ?? 0,
        ]
        var runs: [(String, Bool)] = []
        if !skipNoTTA { runs.append(("no_tta", false)) }
        if !skipTTA { runs.append(("tta", true)) }
        for (name, mirroring) in runs {
            model.usesMirroring = mirroring
            let report = try measure(model: model, imageFile: imageFile,
                                     output: folder.appendingPathComponent("largect_\(name).nii.gz"), log: log)
            result[name] = report
            log("\(name): \(report)")
        }
        try BenchmarkReport.emit(result, json: json)
    }

    /// Predicts and writes the case once; seconds and VmHWM per phase and for the whole run.
    func measure(model: TrainedModel, imageFile: URL, output: URL, log: (String) -> Void) throws -> [String: Any] {
        var phases: [[String: Any]] = []
        var current: (name: String, start: Date, startMiB: Double)?
        func begin(_ name: String) {
            if let current {
                phases.append(["phase": current.name, "seconds": Date().timeIntervalSince(current.start),
                               "start_rss_mib": current.startMiB, "peak_rss_mib": ResidentMemory.peakMiB()])
            }
            ResidentMemory.resetPeak()
            current = (name, Date(), ResidentMemory.residentMiB())
        }
        ResidentMemory.releaseFreeMemory()
        let before = ResidentMemory.residentMiB()
        let start = Date()
        model.phaseObserver = { begin($0.rawValue) }
        defer { model.phaseObserver = nil }
        let prediction = try model.predictCase(imageFiles: [imageFile], identifier: "largect", keepingProbabilities: false)
        let predictSeconds = Date().timeIntervalSince(start)
        begin("write")
        try NIfTI.write(prediction.labels, to: output, dataType: .uint8)
        begin("done")
        let seconds = Date().timeIntervalSince(start)
        let peak = phases.compactMap { $0["peak_rss_mib"] as? Double }.max() ?? 0
        var report: [String: Any] = [
            "seconds": seconds, "predict_case_seconds": predictSeconds, "rss_before_mib": before,
            "peak_rss_mib": peak, "phases": phases,
            "preprocessed_shape": prediction.properties.sizeAfterResampling,
            "foreground_voxels": prediction.labels.data.reduce(0) { $0 + ($1 > 0 ? 1 : 0) },
        ]
        if let export = phases.first(where: { $0["phase"] as? String == "export" }),
           let exportPeak = export["peak_rss_mib"] as? Double, let exportStart = export["start_rss_mib"] as? Double {
            report["export_phase_extra_mib"] = exportPeak - exportStart
        }
        // Export runs inside the sliding-window phase (slabs are exported as they are finished), where the peak is.
        // RSS cannot isolate it there (and after a run the allocator reuses freed memory), so count the exporter's
        // own buffers on this case's geometry, fed slabs of the sliding window's size.
        let (streaming, finishing) = exportBuffers(model: model, properties: prediction.properties)
        report["export_streaming_buffers_mib"] = streaming
        report["export_finish_buffers_mib"] = finishing
        report["export_share_of_peak"] = streaming / max(peak, 1)
        return report
    }

    /// The exporter's buffers while it takes this case's slabs (labels, carried slice, per-slice buffers; the
    /// largest value over the slabs), and at `finish()` (plus the float label volume it returns, built after the
    /// sliding window, when input and aggregate are gone), in MiB.
    func exportBuffers(model: TrainedModel, properties: PreprocessedCaseProperties)
        -> (streaming: Double, finishing: Double) {
        guard let configuration = model.folds.first?.configuration else { return (0, 0) }
        let shape = properties.sizeAfterResampling, classes = configuration.classCount
        let padded = zip(shape, configuration.patchSize).map { max($0, $1) }
        let steps = SlidingWindow.steps(imageSize: padded, patchSize: configuration.patchSize,
                                        stepSize: model.stepSize)[0] + [padded[0]]
        let rows = min(shape[0], zip(steps, steps.dropFirst()).map { $1 - $0 }.max() ?? shape[0])
        let plane = shape[1] * shape[2]
        var slab = [Float](repeating: 1 / Float(classes), count: classes * rows * plane)
        var exporter = ProbabilitySlabExporter(
            classCount: classes, shape: shape, properties: properties,
            transposeForward: model.plans.transposeForward, transposeBackward: model.plans.transposeBackward,
            threads: model.threads)
        // Per output slice: the running maximum, one resampled class and the slice's labels.
        let target = properties.cropping.sizeAfterCropping
        let sliceBytes = (4 + 4 + 1) * target.dropFirst().reduce(1, *)
        var largest = exporter.bufferBytes
        var start = 0
        while start < shape[0] {
            let end = min(shape[0], start + rows)
            if end - start < rows { slab = Array(slab.prefix(classes * (end - start) * plane)) }
            exporter.consume(slab, rows: start..<end)
            largest = max(largest, exporter.bufferBytes)
            start = end
        }
        let voxels = properties.cropping.originalSizeOfRawData.reduce(1, *)
        let streaming = Double(largest + sliceBytes) / 1_048_576
        return (streaming, streaming + Double(4 * voxels) / 1_048_576)
    }

    /// v1's plans (ExperimentPlanner3D_v21) for 20 cases of `shape` at `spacing`, CT, `classes` foreground labels.
    static func plans(shape: [Int], spacing: [Double], classes: Int, baseFeatures: Int) throws -> Plans {
        let identifiers = (0..<20).map { String(format: "largect_%03d", $0) }
        var intensity = IntensityStatistics()
        (intensity.mean, intensity.sd, intensity.median) = (100, 40, 110)
        (intensity.percentile00_5, intensity.percentile99_5, intensity.mn, intensity.mx) = (-20, 200, -80, 900)
        let properties = DatasetProperties(
            allSizes: Array(repeating: shape, count: identifiers.count),
            allSpacings: Array(repeating: spacing, count: identifiers.count), allClasses: Array(1...classes),
            modalities: [0: "CT"],
            intensityProperties: [0: ModalityIntensityProperties(pooled: intensity, localProps: [:])],
            sizeReductions: Dictionary(uniqueKeysWithValues: identifiers.map { ($0, 1.0) }),
            caseIdentifiers: identifiers)
        var plans = try ExperimentPlanner.plan(properties: properties, configuration: .default3D, croppedFiles: [],
                                               preprocessedFolder: "")
        plans.baseNumFeatures = baseFeatures
        return plans
    }
}
