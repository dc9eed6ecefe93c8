import Foundation
import NNUNetCore

/// The whole of v1's `nnUNet_plan_and_preprocess` for one task: crop → fingerprint → 3D plans (+ preprocessing) →
/// 2D plans (+ preprocessing).
///
/// Folders: reads `nnUNet_raw_data/TaskXXX_NAME`, writes `nnUNet_cropped_data/TaskXXX_NAME` and
/// `nnUNet_preprocessed/TaskXXX_NAME` (`dataset_properties.json`, `dataset.json`, plans JSONs, `gt_segmentations/`,
/// stage folders). Every file is written atomically, and a plans file only after its stage folders are complete, so
/// a rerun after an interruption redoes what is missing and never mistakes partial work for finished work.
public enum PlanAndPreprocess {
    /// What to run.
    public struct Options: Sendable {
        /// The 3D planner (nil: skip, v1 `-pl3d None`).
        public var planner3D: PlannerConfiguration? = .default3D
        /// The 2D planner (nil: skip).
        public var planner2D: PlannerConfiguration? = .default2D
        /// false: plans only (v1 `-no_pp`).
        public var preprocess = true
        /// v1 `-tl`: workers for stage 0 of a two-stage (cascade) plan.
        public var threadsLowres = 8
        /// v1 `-tf`: workers for cropping, fingerprinting and all other stages.
        public var threadsFullres = 8
        /// The defaults of `nnUNet_plan_and_preprocess`: both planners, preprocessing on, 8 workers each.
        public init() {}
    }

    /// One plans file that was written.
    public struct PlannedConfiguration: Sendable {
        /// The planner that produced the plans.
        public var planner: PlannerConfiguration
        /// The plans as written.
        public var plans: Plans
        /// The plans file, e.g. `nnUNet_preprocessed/TaskXXX_NAME/nnUNetPlansv2.1_plans_3D.json`.
        public var file: URL
    }

    /// Events reported while running (for progress display).
    public enum Event: Sendable {
        /// A step starts (cropping, fingerprint, planning with a planner); the text is for display.
        case step(String)
        /// One case of `step` is finished: `done` of `total`, the last being `identifier`.
        case caseDone(step: String, done: Int, total: Int, identifier: String)
    }

    /// Runs everything for one task.
    ///
    /// Holds NNUNetCore's `FolderLock` of the cropped and of the preprocessed task folder for the whole run, so a
    /// second run on the task fails at once with `CoreError.folderLocked(path:holder:)`; stray temporary files of
    /// killed runs are removed from both folders once the locks are taken. Label values that dataset.json does not declare are
    /// an error (``PlanningError/undeclaredLabels(caseIdentifier:path:values:declared:)``) whether or not the
    /// dataset was verified first: v1 checks them only with `--verify_dataset_integrity`.
    ///
    /// - Parameters:
    ///   - taskName: `TaskXXX_NAME`.
    ///   - paths: the three roots (raw base and preprocessed are needed).
    ///   - options: the planners, the thread counts and whether to preprocess.
    ///   - report: called with progress events, possibly from worker threads.
    /// - Returns: the plans written.
    @discardableResult
    public static func run(taskName: String, paths: NNUNetPaths, options: Options = Options(),
                           report: (@Sendable (Event) -> Void)? = nil) throws -> [PlannedConfiguration] {
        let raw = try paths.rawData().appendingPathComponent(taskName, isDirectory: true)
        let cropped = try paths.croppedData().appendingPathComponent(taskName, isDirectory: true)
        let preprocessed = try paths.preprocessedData().appendingPathComponent(taskName, isDirectory: true)
        guard FileManager.default.fileExists(atPath: raw.appendingPathComponent("dataset.json").path) else {
            throw PlanningError.missingIntermediate(path: raw.appendingPathComponent("dataset.json").path,
                                                    hint: "Convert or create the raw task first.")
        }
        let purpose = "nnunet plan-and-preprocess \(taskName)"
        let croppedLock = try FolderLock.acquire(cropped, purpose: purpose)
        defer { croppedLock.release() }
        let preprocessedLock = try FolderLock.acquire(preprocessed, purpose: purpose)
        defer { preprocessedLock.release() }
        let removed = TemporaryFile.sweep(cropped, startedBefore: croppedLock.acquiredAt)
            + TemporaryFile.sweep(preprocessed, startedBefore: preprocessedLock.acquiredAt)
        if !removed.isEmpty {
            report?(.step("Removed \(removed.count) temporary file(s) left by an interrupted run"))
        }
        func caseProgress(_ step: String) -> CaseProgress {
            { done, total, id in report?(.caseDone(step: step, done: done, total: total, identifier: id)) }
        }
        report?(.step("Cropping \(taskName)"))
        try Cropper.createFolder(cropped)
        try Cropper.cropTask(taskFolder: raw, outputFolder: cropped, threads: options.threadsFullres,
                             progress: caseProgress("crop"))
        report?(.step("Fingerprint"))
        let properties = try DatasetAnalyzer.analyze(croppedFolder: cropped, threads: options.threadsFullres)
        try Cropper.createFolder(preprocessed)
        try AtomicFile.copy(cropped.appendingPathComponent("dataset_properties.json"),
                            to: preprocessed.appendingPathComponent("dataset_properties.json"))
        try AtomicFile.copy(raw.appendingPathComponent("dataset.json"),
                            to: preprocessed.appendingPathComponent("dataset.json"))
        let croppedFiles = properties.caseIdentifiers.map { cropped.appendingPathComponent($0 + ".npy").path }
        var results: [PlannedConfiguration] = []
        for planner in [options.planner3D, options.planner2D].compactMap({ $0 }) {
            report?(.step("Planning with \(planner.name)"))
            let plans = try ExperimentPlanner.plan(properties: properties, configuration: planner,
                                                   croppedFiles: croppedFiles, preprocessedFolder: preprocessed.path)
            try recordMaskFlags(plans.useMaskForNorm, croppedFolder: cropped, identifiers: properties.caseIdentifiers)
            let file = preprocessed.appendingPathComponent(planner.plansFileName)
            if options.preprocess {
                try copyGroundTruth(from: cropped, to: preprocessed)
                let preprocessor = try Preprocessor(plans: plans, source: file.path)
                try preprocessor.run(croppedFolder: cropped, taskFolder: preprocessed, threads: { stage in
                    plans.numStages > 1 && stage == 0 && planner.dimensionality == .threeD
                        ? options.threadsLowres : options.threadsFullres
                }, progress: { folder in caseProgress(folder) })
            }
            // The plans file is written last: a run interrupted during preprocessing leaves no plans that would
            // point a trainer at incomplete stage folders.
            try plans.write(to: file)
            results.append(PlannedConfiguration(planner: planner, plans: plans, file: file))
        }
        return results
    }

    /// v1 writes `use_nonzero_mask_for_norm` into every cropped case's properties during planning.
    static func recordMaskFlags(_ flags: [Int: Bool], croppedFolder: URL, identifiers: [String]) throws {
        for id in identifiers {
            let url = croppedFolder.appendingPathComponent(id + ".json")
            var props = try CroppedCaseProperties.load(from: url)
            if props.useNonzeroMaskForNorm != flags {
                props.useNonzeroMaskForNorm = flags
                try JSONFile.write(props, to: url)
            }
        }
    }

    /// Copies `gt_segmentations/` from the cropped to the preprocessed task folder (file by file, atomically).
    static func copyGroundTruth(from cropped: URL, to preprocessed: URL) throws {
        let source = cropped.appendingPathComponent("gt_segmentations", isDirectory: true)
        let target = preprocessed.appendingPathComponent("gt_segmentations", isDirectory: true)
        try Cropper.createFolder(target)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: source.path)) ?? [] where !name.hasPrefix(".") {
            try AtomicFile.copy(source.appendingPathComponent(name), to: target.appendingPathComponent(name))
        }
    }

    /// A one-screen summary of the plans written (configurations, patch, batch, spacing, 3d_lowres).
    public static func summary(_ planned: [PlannedConfiguration]) -> String {
        var lines: [String] = []
        for p in planned {
            let plans = p.plans
            lines.append("\(p.file.lastPathComponent)  (\(p.planner.name), transpose_forward "
                         + "\(plans.transposeForward), normalization \(plans.normalizationSchemes.sorted { $0.key < $1.key }.map(\.value)))")
            let configurations: [NetworkConfiguration]
            if p.planner.dimensionality == .twoD { configurations = [.twoD] } else {
                configurations = plans.numStages > 1 ? [.lowres, .fullres] : [.fullres]
            }
            for (i, configuration) in configurations.enumerated() {
                guard let s = plans.stage(i) else { continue }
                let spacing = s.currentSpacing.map { String(format: "%.4g", $0) }.joined(separator: ", ")
                let name = configuration.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
                lines.append("  \(name) patch \(s.patchSize)  "
                             + "batch \(s.batchSize)  spacing [\(spacing)]  pools \(s.numPoolPerAxis)  "
                             + "median \(s.medianPatientSizeInVoxels)")
            }
            if p.planner.dimensionality == .threeD {
                lines.append("  3d_lowres: " + (plans.numStages > 1 ? "yes (cascade possible)" : "no (single stage)"))
            }
        }
        return lines.joined(separator: "\n")
    }
}
