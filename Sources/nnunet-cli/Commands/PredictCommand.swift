import ArgumentParser
import Foundation
import NNUNetCore
import NNUNetEvaluation
import NNUNetPlanning
import NNUNetTraining

/// `nnunet predict` (v1 `nnUNet_predict`).
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Segment a folder of images (CASE_0000.nii.gz, ...) with a trained model.",
        aliases: ["nnUNet_predict"]
    )

    @Option(name: .customShort("i"), help: "Input folder with CASE_XXXX.nii.gz files.") var input: String
    @Option(name: .customShort("o"), help: "Output folder.") var output: String
    @Option(name: .customShort("t"), help: "Task id or name.") var task: String
    @Option(name: .customLong("tr", withSingleDash: true)) var trainer = "nnUNetTrainerV2"
    @Option(name: .customLong("ctr", withSingleDash: true)) var cascadeTrainer = "nnUNetTrainerV2CascadeFullRes"
    @Option(name: .customShort("m")) var model = "3d_fullres"
    @Option(name: .customShort("p")) var plansIdentifier = "nnUNetPlansv2.1"
    @Option(name: .customShort("f"), parsing: .upToNextOption, help: "Folds (default: all fold_* folders).")
    var folds: [String] = []
    @Flag(name: [.customShort("z"), .customLong("save_npz")], help: "Also save softmax (.npz) for ensembling.")
    var saveNpz = false
    @Option(name: .customShort("l"), help: "Folder of 3d_lowres segmentations (cascade).") var lowresSegmentations:
        String?
    @Option(name: .customLong("part_id")) var partID = 0
    @Option(name: .customLong("num_parts")) var numParts = 1
    @Option(name: .customLong("num_threads_preprocessing")) var threadsPreprocessing = 6
    @Option(name: .customLong("num_threads_nifti_save")) var threadsNiftiSave = 2
    @Flag(name: .customLong("disable_tta")) var disableTTA = false
    @Flag(name: .customLong("overwrite_existing")) var overwriteExisting = false
    @Option(name: .customLong("mode")) var mode = "normal"
    @Option(name: .customLong("all_in_gpu")) var allInGPU: String?
    @Option(name: .customLong("step_size")) var stepSize = 0.5
    @Option(name: .customLong("chk", withSingleDash: true)) var checkpoint = "model_final_checkpoint"
    @Flag(name: .customLong("disable_mixed_precision")) var disableMixedPrecision = false
    @Flag(name: .customLong("low_memory"),
          help: ArgumentHelp("Evaluate the network's full-resolution stage in slabs: a fraction of the activation "
              + "memory per patch (at v1's 32 base features and a 96x160x160 patch about 0.3 instead of 1.1 GB) for "
              + "about 2 to 2.5 times the time. Not in v1."))
    var lowMemory = false

    func run() throws { try run(paths: EnvironmentPaths.current()) }

    /// Runs with explicit nnU-Net folders (tests pass their own instead of the process environment).
    ///
    /// `-m 3d_cascade_fullres` uses the cascade trainer (`-ctr` unless `-tr` names another trainer than the default,
    /// as v1) and the 3d_lowres segmentations in `-l FOLDER`; without `-l`, 3d_lowres (trainer `-tr`) predicts them
    /// first into `OUTPUT/3d_lowres_predictions/`.
    func run(paths: NNUNetPaths) throws {
        guard let exportMode = SegmentationExporter.Mode(rawValue: mode) else {
            throw ValidationError("--mode must be normal, fast or fastest, got '\(mode)'.")
        }
        if exportMode != .normal, saveNpz {
            throw ValidationError("-z needs --mode normal: the fast modes take the argmax before resampling and keep "
                                  + "no probabilities (as in v1).")
        }
        guard partID >= 0, numParts >= 1, partID < numParts else {
            throw ValidationError("--part_id must be in 0..<--num_parts")
        }
        if lowresSegmentations != nil, model != "3d_cascade_fullres" {
            throw ValidationError("-l (3d_lowres segmentations) is only used with -m 3d_cascade_fullres.")
        }
        let outputFolder = URL(fileURLWithPath: output, isDirectory: true)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: outputFolder.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw ValidationError("The output '\(output)' is a file; give a folder.")
        }
        let taskName = try TaskLocator.resolve(task, paths: paths)
        let models = try paths.trainedModels()
        // One run per output folder: a second one fails at once naming this one. Stray temporaries of killed runs
        // (here and in 3d_lowres_predictions/) are removed once the lock is held.
        let lock = try FolderLock.acquire(outputFolder, purpose: "nnunet predict -t \(task) -m \(model)")
        defer { lock.release() }
        let removed = TemporaryFile.sweep(outputFolder, startedBefore: lock.acquiredAt)
        if !removed.isEmpty { print("Removed \(removed.count) temporary file(s) left by an interrupted run") }
        func trainerFolder(_ configuration: String, _ trainerName: String) -> URL {
            models.appendingPathComponent(configuration).appendingPathComponent(taskName)
                .appendingPathComponent("\(trainerName)__\(plansIdentifier)", isDirectory: true)
        }
        guard model == "3d_cascade_fullres" else {
            try predictFolder(trainerFolder(model, trainer), into: outputFolder, lowres: nil, mode: exportMode)
            return
        }
        let lowres: URL
        if let lowresSegmentations {
            lowres = URL(fileURLWithPath: lowresSegmentations, isDirectory: true)
            guard FileManager.default.fileExists(atPath: lowres.path, isDirectory: &isDirectory), isDirectory.boolValue
            else { throw ValidationError("-l '\(lowresSegmentations)' is not a folder of 3d_lowres segmentations.") }
        } else {
            guard partID == 0, numParts == 1 else {
                throw ValidationError("Without -l, 3d_lowres is predicted first, which --part_id/--num_parts cannot "
                                      + "split; predict 3d_lowres per part yourself and pass its folder with -l.")
            }
            lowres = outputFolder.appendingPathComponent("3d_lowres_predictions", isDirectory: true)
            print("No -l folder: predicting 3d_lowres first into \(lowres.path)")
            var lowresRun = self
            lowresRun.saveNpz = false
            try lowresRun.predictFolder(trainerFolder("3d_lowres", trainer), into: lowres, lowres: nil, mode: exportMode)
            print("3d_lowres done")
        }
        let cascadeTrainerName = trainer == "nnUNetTrainerV2" ? cascadeTrainer : trainer
        try predictFolder(trainerFolder("3d_cascade_fullres", cascadeTrainerName), into: outputFolder, lowres: lowres,
                          mode: exportMode)
    }

    /// The trained model of `trainerFolder` (the chosen folds and checkpoint) set up as the flags say: mirroring,
    /// step size, low-memory slabs, export mode.
    func model(_ trainerFolder: URL, mode exportMode: SegmentationExporter.Mode) throws -> TrainedModel {
        let trained = try TrainedModel(trainerFolder: trainerFolder, folds: folds.isEmpty ? nil : folds,
                                       checkpoint: checkpoint)
        trained.usesMirroring = !disableTTA
        trained.stepSize = stepSize
        trained.slabDepth = lowMemory ? GenericUNet.defaultSlabDepth : nil
        trained.exportMode = exportMode
        return trained
    }

    /// Predicts this part of the input folder with one model into `outputFolder`, then applies the model's
    /// postprocessing and writes `prediction_time.txt` and the plans.
    func predictFolder(_ trainerFolder: URL, into outputFolder: URL, lowres: URL?,
                       mode exportMode: SegmentationExporter.Mode) throws {
        let start = Date()
        let trained = try model(trainerFolder, mode: exportMode)
        let inputFolder = URL(fileURLWithPath: input, isDirectory: true)
        let cases = try RawTask.casesInInferenceFolder(inputFolder, modalities: trained.plans.numModalities)
        guard !cases.isEmpty else {
            throw ValidationError("No CASE_XXXX.nii.gz files in '\(input)'. Inputs are named like "
                                  + "CASE_0000.nii.gz (one file per modality).")
        }
        if trained.needsPreviousStage, lowres == nil {
            throw ValidationError("'\(trainerFolder.path)' is a 3d_cascade_fullres model: predict it with "
                                  + "-m 3d_cascade_fullres (and -l FOLDER of 3d_lowres segmentations, if you have them).")
        }
        try FileManager.default.createDirectory(at: outputFolder, withIntermediateDirectories: true)
        let mine = cases.enumerated().filter { $0.offset % numParts == partID }.map(\.element)
        print("\(mine.count) cases to predict with \(trained.folds.count) fold(s) of \(trainerFolder.lastPathComponent)"
              + (disableTTA ? " (no mirroring)" : ""))
        var failures: [String] = []
        var predicted: [String] = []
        for (index, item) in mine.enumerated() {
            let target = outputFolder.appendingPathComponent(item.identifier + ".nii.gz")
            if !overwriteExisting, FileManager.default.fileExists(atPath: target.path) {
                print("[\(index + 1)/\(mine.count)] \(item.identifier): exists, skipped (--overwrite_existing redoes it)")
                continue
            }
            if let missing = item.imageFiles.first(where: { !FileManager.default.fileExists(atPath: $0.path) }) {
                failures.append("\(item.identifier): missing modality file \(missing.path)")
                print("[\(index + 1)/\(mine.count)] \(item.identifier): SKIPPED, missing \(missing.lastPathComponent)")
                continue
            }
            let previousStage = lowres?.appendingPathComponent(item.identifier + ".nii.gz")
            if let previousStage, !FileManager.default.fileExists(atPath: previousStage.path) {
                failures.append("\(item.identifier): missing 3d_lowres segmentation \(previousStage.path)")
                print("[\(index + 1)/\(mine.count)] \(item.identifier): SKIPPED, no 3d_lowres segmentation")
                continue
            }
            let caseStart = Date()
            do {
                let prediction = try trained.predictCase(imageFiles: item.imageFiles, identifier: item.identifier,
                                                         keepingProbabilities: saveNpz, previousStage: previousStage)
                if let probabilities = prediction.probabilities {
                    // v1 --save_npz: CASE.npz (float16 softmax at the cropped size) + CASE.pkl (properties).
                    try NPZ.write([("softmax", NPYArray(float16: probabilities, shape: prediction.probabilityShape))],
                                  to: outputFolder.appendingPathComponent(item.identifier + ".npz"))
                    try PickleWriter.write(prediction.properties.v1PickleValue,
                                           to: outputFolder.appendingPathComponent(item.identifier + ".pkl"))
                }
                try NIfTI.write(prediction.labels, to: target, dataType: .uint8)
                predicted.append(target.lastPathComponent)
                print("[\(index + 1)/\(mine.count)] \(item.identifier): done in "
                      + String(format: "%.1f s", Date().timeIntervalSince(caseStart)))
            } catch {
                failures.append("\(item.identifier): \(error)")
                print("[\(index + 1)/\(mine.count)] \(item.identifier): FAILED: \(error)")
            }
        }
        // The model's postprocessing (chosen by determine-postprocessing), applied in place to this run's cases.
        let postprocessing = trainerFolder.appendingPathComponent("postprocessing.json")
        let written = predicted.filter { FileManager.default.fileExists(atPath: outputFolder.appendingPathComponent($0).path) }
        if FileManager.default.fileExists(atPath: postprocessing.path), !written.isEmpty {
            let decision = try PostprocessingDecision.read(postprocessing)
            try PostprocessingApplication.apply(classSets: decision.forWhichClasses,
                                                minimumSizes: decision.minValidObjectSizes, inputFolder: outputFolder,
                                                outputFolder: outputFolder, fileNames: written)
            try AtomicFile.copy(postprocessing, to: outputFolder.appendingPathComponent("postprocessing.json"))
            print("Applied postprocessing.json (keep the largest component for \(decision.forWhichClasses))")
        } else if !FileManager.default.fileExists(atPath: postprocessing.path) {
            print("No postprocessing.json in the model folder (run 'nnunet determine-postprocessing' after the "
                  + "cross-validation): the raw predictions are final.")
        }
        try AtomicFile.copy(trained.plansFile, to: outputFolder.appendingPathComponent(trained.plansFile.lastPathComponent))
        try AtomicFile.write(String(format: "%.3f", Date().timeIntervalSince(start)),
                             to: outputFolder.appendingPathComponent("prediction_time.txt"))
        if !failures.isEmpty {
            throw CLIError.failed("\(failures.count) case(s) failed:\n  " + failures.joined(separator: "\n  "))
        }
    }
}
