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
    @Option(name: .customShort("m"), help: "The configuration of the model.")
    var model = NetworkConfiguration.fullres
    @Option(name: .customShort("p")) var plansIdentifier = "nnUNetPlansv2.1"
    @Option(name: .customShort("f"), parsing: .upToNextOption, help: "Folds (default: all fold_* folders).",
            transform: Fold.parse)
    var folds: [Fold] = []
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
    @Option(name: .customLong("mode"), help: "How probabilities become labels at the original resolution.")
    var mode = SegmentationExporter.Mode.normal
    @Option(name: .customLong("all_in_gpu"),
            help: "Accepted for v1 compatibility: prediction runs on the CPU here; the option changes nothing.")
    var allInGPU: String?
    @Option(name: .customLong("step_size")) var stepSize = 0.5
    @Option(name: .customLong("chk", withSingleDash: true)) var checkpoint = "model_final_checkpoint"
    @Flag(name: .customLong("disable_mixed_precision"),
          help: "Accepted for v1 compatibility: prediction is always float32 here; the flag changes nothing.")
    var disableMixedPrecision = false
    @Flag(name: .customLong("low_memory"),
          help: ArgumentHelp("Evaluate the network's full-resolution stage in slabs: a fraction of the activation "
              + "memory per patch (at v1's 32 base features and a 96x160x160 patch about 0.3 instead of 1.1 GB) for "
              + "about 4 to 5 times the time. Not in v1."))
    var lowMemory = false

    func validate() throws {
        if mode != .normal, saveNpz {
            throw ValidationError("-z needs --mode normal: the fast modes take the argmax before resampling and keep "
                                  + "no probabilities (as in v1).")
        }
        guard partID >= 0, numParts >= 1, partID < numParts else {
            throw ValidationError("--part_id must be in 0..<--num_parts")
        }
        if lowresSegmentations != nil, !model.isCascade {
            throw ValidationError("-l (3d_lowres segmentations) is only used with -m 3d_cascade_fullres.")
        }
        if model.isCascade, lowresSegmentations == nil, numParts != 1 {
            throw ValidationError("Without -l, 3d_lowres is predicted first, which --part_id/--num_parts cannot "
                                  + "split; predict 3d_lowres per part yourself and pass its folder with -l.")
        }
    }

    func run() throws { try run(paths: EnvironmentPaths.current()) }

    /// One line per given v1 option that changes nothing here, saying why (printed before predicting).
    var legacyFlagNotes: [String] {
        var notes: [String] = []
        if let allInGPU {
            notes.append("--all_in_gpu \(allInGPU): prediction runs on the CPU here; the option changes nothing.")
        }
        if disableMixedPrecision {
            notes.append("--disable_mixed_precision: prediction is always float32 here; the flag changes nothing.")
        }
        return notes
    }

    /// Runs with explicit nnU-Net folders (tests pass their own instead of the process environment): resolves the
    /// model folder and hands the rest to ``FolderPredictor``, printing its progress.
    ///
    /// `-m 3d_cascade_fullres` uses the cascade trainer (`-ctr` unless `-tr` names another trainer than the default,
    /// as v1) and the 3d_lowres segmentations in `-l FOLDER`; without `-l`, 3d_lowres (trainer `-tr`) predicts them
    /// first into `OUTPUT/3d_lowres_predictions/`.
    func run(paths: NNUNetPaths) throws {
        for note in legacyFlagNotes { print(note) }
        let taskName = try TaskLocator.resolve(task, paths: paths)
        let models = try paths.trainedModels()
        func trainerFolder(_ configuration: NetworkConfiguration, _ trainerName: String) -> URL {
            models.appendingPathComponent(configuration.rawValue).appendingPathComponent(taskName)
                .appendingPathComponent("\(trainerName)__\(plansIdentifier)", isDirectory: true)
        }
        var options = try options()
        var folder = trainerFolder(model, trainer)
        if model.isCascade {
            folder = trainerFolder(model, trainer == "nnUNetTrainerV2" ? cascadeTrainer : trainer)
            options.previousStage = lowresSegmentations.map { .segmentations(URL(fileURLWithPath: $0, isDirectory: true)) }
                ?? .predict(modelFolder: trainerFolder(.lowres, trainer))
        }
        let predictor = try FolderPredictor(modelFolder: folder, options: options)
        try predictor.predict(.folder(URL(fileURLWithPath: input, isDirectory: true)),
                              into: URL(fileURLWithPath: output, isDirectory: true), progress: Self.report)
    }

    /// The flags as ``FolderPredictor`` options (without the cascade's previous stage).
    func options() throws -> FolderPredictor.Options {
        var options = FolderPredictor.Options()
        options.folds = folds.isEmpty ? nil : folds
        options.checkpoint = checkpoint
        options.usesMirroring = !disableTTA
        options.stepSize = stepSize
        options.slabDepth = lowMemory ? GenericUNet.defaultSlabDepth : nil
        options.exportMode = mode
        options.savesProbabilities = saveNpz
        options.part = .init(partID, of: numParts)
        options.overwritesExisting = overwriteExisting
        options.purpose = "nnunet predict -t \(task) -m \(model)"
        try options.validate()
        return options
    }

    /// The trained model of `trainerFolder` set up as the flags say (mirroring, step size, low-memory slabs, export
    /// mode).
    func model(_ trainerFolder: URL, mode exportMode: SegmentationExporter.Mode) throws -> TrainedModel {
        var options = try options()
        options.exportMode = exportMode
        return try FolderPredictor(modelFolder: trainerFolder, options: options).model
    }

    /// Prints one progress line per event, as v1's `nnUNet_predict` log does.
    static func report(_ event: FolderPredictor.Event) {
        func position(_ item: FolderPredictor.CaseProgress) -> String {
            "[\(item.index + 1)/\(item.count)] \(item.identifier):"
        }
        switch event {
        case let .removedTemporaryFiles(count):
            print("Removed \(count) temporary file(s) left by an interrupted run")
        case let .previousStageStarted(folder):
            print("No -l folder: predicting 3d_lowres first into \(folder.path)")
        case .previousStageFinished:
            print("3d_lowres done")
        case let .started(modelFolder, caseCount, foldCount, usesMirroring):
            print("\(caseCount) cases to predict with \(foldCount) fold(s) of \(modelFolder.lastPathComponent)"
                  + (usesMirroring ? "" : " (no mirroring)"))
        case let .caseSkipped(item, .outputExists):
            print("\(position(item)) exists, skipped (--overwrite_existing redoes it)")
        case let .caseSkipped(item, .missingModality(file)):
            print("\(position(item)) SKIPPED, missing \(file.lastPathComponent)")
        case let .caseSkipped(item, .missingPreviousStage):
            print("\(position(item)) SKIPPED, no 3d_lowres segmentation")
        case let .caseFinished(item, seconds):
            print("\(position(item)) done in " + String(format: "%.1f s", seconds))
        case let .caseFailed(item, message):
            print("\(position(item)) FAILED: \(message)")
        case let .postprocessingApplied(_, decision):
            print("Applied postprocessing.json (keep the largest component for \(decision.forWhichClasses))")
        case .postprocessingMissing:
            print("No postprocessing.json in the model folder (run 'nnunet determine-postprocessing' after the "
                  + "cross-validation): the raw predictions are final.")
        case .caseStarted, .finished:
            break
        }
    }
}
