import Foundation
import NNUNetCore
import NNUNetPlanning

/// What `nnunet train CONFIG TRAINER TASK FOLD` asks for.
public struct TrainingRequest: Sendable {
    /// The configuration to train (`2d`, `3d_lowres`, `3d_fullres` or `3d_cascade_fullres`).
    public var configuration: NetworkConfiguration
    /// Registered trainer name, e.g. `nnUNetTrainerV2`.
    public var trainerName: String
    /// The task as the user typed it (`4`, `Task004`, `Task004_Hippocampus`), resolved by `TaskLocator.resolve`.
    public var task: String
    /// `0`...`4` (or any fold of the splits file, or beyond: v1's random 80:20 split) or `all`.
    public var fold: Fold
    /// Plans identifier (v1 `-p`).
    public var plansIdentifier = "nnUNetPlansv2.1"
    /// v1 `-c`: continue from the newest intact checkpoint (latest, final or best; see
    /// ``NetworkTrainer/selectCheckpointToContinue()``).
    public var continueTraining = false
    /// Overrides of the trainer's defaults (`--epochs`, `--iterations-per-epoch`, `--validation-iterations`).
    public var epochs: Int?
    /// Override of ``TrainingHyperparameters/iterationsPerEpoch`` (`--iterations-per-epoch`).
    public var iterationsPerEpoch: Int?
    /// Override of ``TrainingHyperparameters/validationIterationsPerEpoch`` (`--validation-iterations`).
    public var validationIterations: Int?
    /// v1 `--disable_saving`.
    public var disableSaving = false
    /// Seed of all randomness of the run.
    public var seed: UInt64 = 12345
    /// Whether per-epoch lines and the progress bar are printed.
    public var verbose = true
    /// v1 `-val`: skip training, validate the final (or, with `validateBest`, the best) checkpoint.
    public var validationOnly = false
    /// With ``validationOnly``: validate `model_best` instead of `model_final_checkpoint` (v1 `--valbest`).
    public var validateBest = false
    /// v1 `--disable_validation_inference`, `--val_folder`, `--disable_postprocessing_on_folds`,
    /// `--val_disable_overwrite`.
    public var runsValidation = true
    /// Name of the validation output folder inside the fold folder (v1 `--val_folder`).
    public var validationFolder = "validation_raw"
    /// Whether postprocessing is determined on the fold's validation (off: v1 `--disable_postprocessing_on_folds`).
    public var postprocessesFolds = true
    /// Whether existing validation predictions are redone (off: v1 `--val_disable_overwrite`).
    public var overwritesValidation = true
    /// v1 `--npz`: validation also keeps `CASE.npz` (float16 softmax) + `CASE.pkl`, which ensembling and
    /// find-best-configuration read.
    public var savesSoftmax = false
    /// v1 `-pretrained_weights FILE`: initialise the network from this checkpoint (ours or v1's) before training.
    public var pretrainedWeights: URL?
    /// 3d_lowres only: after validation, predict the fold's validation cases for the cascade into
    /// `pred_next_stage/` (off: v1 `--disable_next_stage_pred`). Fold `all` never does.
    public var predictsNextStage = true
    /// The ranks of a data-parallel run (`MPICommunicator` under `mpirun`); nil trains in this process alone.
    /// Rank 0 writes the files; every rank must be able to read the preprocessed data and the fold folder (one
    /// machine, or a shared file system).
    public var communicator: (any Communicator)?
    /// v1 `--find_lr`: sweep the learning rate (``NetworkTrainer/findLearningRate(iterations:initial:final:beta:)``)
    /// into `lr_finder.png` instead of training; no checkpoint, no validation.
    public var findsLearningRate = false

    /// Creates a request with v1's defaults for everything else.
    public init(configuration: NetworkConfiguration, trainerName: String, task: String, fold: Fold) {
        self.configuration = configuration
        self.trainerName = trainerName
        self.task = task
        self.fold = fold
    }
}

/// The library's training entry point, shared by the CLI and by programs that register their own trainers (on a
/// ``TrainerRegistry`` they pass as `registry`; the default, ``TrainerRegistry/standard``, has the built-in ones).
///
/// Resolves the task, reads the plans (hand edits honoured), builds the configuration, the splits
/// (`splits_final.pkl`/`.json`, created as v1 when missing) and the trainer, optionally resumes, and trains into
/// `RESULTS_FOLDER/nnUNet/CONFIG/TaskXXX_NAME/TRAINER__PLANS/fold_k`.
public enum TrainingRunner {
    /// Sets up a trainer for the request without training (useful to inspect or to run validation only).
    ///
    /// `registry` is where the request's trainer name is looked up: ``TrainerRegistry/standard`` (the built-in
    /// trainers) unless the program passes one with its own trainers.
    public static func makeTrainer(_ request: TrainingRequest, paths: NNUNetPaths,
                                   registry: TrainerRegistry = .standard) throws -> NNUNetTrainer {
        let trainerType = try registry.trainerType(named: request.trainerName)
        let isCascadeTrainer = trainerType is NNUNetTrainerV2CascadeFullRes.Type
        if request.configuration.isCascade, !isCascadeTrainer {
            throw TrainingError.missingData("3d_cascade_fullres needs a cascade trainer (nnUNetTrainerV2CascadeFullRes "
                                            + "or a subclass of it), not '\(request.trainerName)'")
        }
        if isCascadeTrainer, !request.configuration.isCascade {
            throw TrainingError.missingData("'\(request.trainerName)' trains the 3d_cascade_fullres configuration only, "
                                            + "not \(request.configuration)")
        }
        let fold = request.fold.index
        let taskName = try TaskLocator.resolve(request.task, paths: paths)
        let taskFolder = try paths.preprocessedData().appendingPathComponent(taskName, isDirectory: true)
        let plansURL = TrainingConfiguration.plansFile(configuration: request.configuration,
                                                       plansIdentifier: request.plansIdentifier, taskFolder: taskFolder)
        guard FileManager.default.fileExists(atPath: plansURL.path) else {
            let id = TaskLocator.parse(taskName)?.id ?? 0
            throw TrainingError.missingData("the plans file '\(plansURL.path)' does not exist. Run 'nnunet "
                                            + "plan-and-preprocess -t \(id)' first")
        }
        let plans = try Plans.load(from: plansURL)
        let configuration = try TrainingConfiguration(
            plans: plans, configuration: request.configuration, taskName: taskName, fold: fold,
            plansIdentifier: request.plansIdentifier, preprocessedTaskFolder: taskFolder)

        let stageFolder = URL(fileURLWithPath: configuration.preprocessedFolder ?? "", isDirectory: true)
        let identifiers = try FileManager.default.contentsOfDirectory(atPath: stageFolder.path)
            .filter { $0.hasSuffix(".npy") }.map { String($0.dropLast(4)) }.sorted()
        guard !identifiers.isEmpty else {
            throw TrainingError.emptyPreprocessedFolder(path: stageFolder.path)
        }
        let trainerFolder = try paths.trainedModels().appendingPathComponent(request.configuration.rawValue)
            .appendingPathComponent(taskName)
            .appendingPathComponent("\(request.trainerName)__\(request.plansIdentifier)", isDirectory: true)
        var hyperparameters = trainerType.defaultHyperparameters
        if let epochs = request.epochs { hyperparameters.maxEpochs = epochs }
        if let iterations = request.iterationsPerEpoch { hyperparameters.iterationsPerEpoch = iterations }
        if let iterations = request.validationIterations { hyperparameters.validationIterationsPerEpoch = iterations }
        let trainer = trainerType.init(configuration: configuration,
                                       outputFolder: trainerFolder.appendingPathComponent(configuration.foldFolderName),
                                       hyperparameters: hyperparameters, seed: request.seed)
        trainer.communicator = request.communicator
        // Rank 0 creates a missing splits file before the other ranks read it.
        var splits: [CrossValidationFold] = []
        if trainer.isMainRank {
            splits = try trainer.makeSplits(caseIdentifiers: identifiers, preprocessedTaskFolder: taskFolder)
        }
        request.communicator?.barrier()
        if !trainer.isMainRank {
            splits = try trainer.makeSplits(caseIdentifiers: identifiers, preprocessedTaskFolder: taskFolder)
        }
        let split = CrossValidationSplits.fold(fold, in: splits, caseIdentifiers: identifiers)
        trainer.trainingCases = split.train
        trainer.validationCases = split.val
        trainer.savesCheckpoints = !request.disableSaving
        trainer.isVerbose = request.verbose
        trainer.plansFile = plansURL
        if let fold, fold >= splits.count {
            trainer.warnings.append("fold \(fold) is beyond the \(splits.count) folds of the splits file: using a "
                                    + "random 80:20 split of the cases (seeded with \(12345 + fold))")
        }
        return trainer
    }

    /// Trains as requested and returns the trainer (its output folder holds the checkpoints and logs); the trainer
    /// class comes from `registry` (see ``makeTrainer(_:paths:registry:)``).
    ///
    /// The fold folder's `FolderLock` is held for the whole call (training, validation, next-stage predictions), so
    /// a second run on the same fold, in this process or another, fails at once with
    /// `CoreError.folderLocked(path:holder:)` naming this one; stray temporary files of killed runs are removed
    /// once the lock is taken.
    @discardableResult
    public static func train(_ request: TrainingRequest, paths: NNUNetPaths, registry: TrainerRegistry = .standard)
        throws -> NNUNetTrainer {
        let trainer = try makeTrainer(request, paths: paths, registry: registry)
        if let communicator = request.communicator, communicator.size > 1 {
            return try trainDistributed(trainer, request: request, communicator: communicator)
        }
        try trainer.lockOutputFolder(purpose: "nnunet train \(request.configuration) \(request.trainerName) "
                                     + "\(request.task) \(request.fold)")
        defer { trainer.unlockOutputFolder() }
        if let taskFolder = trainer.plansFile?.deletingLastPathComponent() {
            // Trainers write the splits file into the preprocessed task folder (without holding its lock): remove what
            // a killed trainer left there (only temporaries of dead processes).
            TemporaryFile.sweepShared(taskFolder, depth: 0)
        }
        try trainer.initialize()
        try writeFoldStart(trainer)
        if request.continueTraining { try continueFromCheckpoint(trainer, request: request) }
        if let file = request.pretrainedWeights, !request.continueTraining, !request.validationOnly {
            guard let network = trainer.network as? GenericUNet else {
                throw TrainingError.missingData("-pretrained_weights needs a GenericUNet network")
            }
            let report = try PretrainedWeights.load(file, into: network)
            trainer.logFile?.print("Loaded \(report.loaded.count) pretrained parameters from \(file.path)"
                                   + (report.kept.isEmpty ? "" : "; kept the initialisation of \(report.kept.joined(separator: ", "))"))
        }
        if request.findsLearningRate {
            try trainer.findLearningRate()
            return trainer
        }
        if request.validationOnly {
            let name = request.validateBest ? "model_best.model" : "model_final_checkpoint.model"
            let checkpoint = trainer.outputFolder.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: checkpoint.path) else {
                throw TrainingError.missingData("'\(checkpoint.path)' does not exist: train the fold before -val")
            }
            try trainer.loadCheckpoint(from: checkpoint)
        } else {
            if trainer.savesCheckpoints { try trainer.writeDebugInformation() }
            try trainer.runTraining()
        }
        if request.runsValidation || request.validationOnly, let plansFile = trainer.plansFile {
            try validate(trainer, plansFile: plansFile, request: request)
        }
        if request.configuration == .lowres, request.predictsNextStage, let plansFile = trainer.plansFile {
            if trainer.configuration.fold == nil {
                trainer.logFile?.print("Fold 'all' writes no \(PreviousStageSegmentations.folderName)/ for the cascade: "
                                       + "it would segment its own training cases. Train folds 0-4 to run the cascade.")
            } else {
                let plans = try Plans.load(from: plansFile)
                let nextStage = plansFile.deletingLastPathComponent()
                    .appendingPathComponent("\(plans.dataIdentifier)_stage\(plans.numStages - 1)", isDirectory: true)
                let store = PreviousStageSegmentations(folder: trainer.outputFolder.deletingLastPathComponent()
                    .appendingPathComponent(PreviousStageSegmentations.folderName, isDirectory: true))
                try trainer.predictNextStage(nextStageFolder: nextStage, into: store)
            }
        }
        return trainer
    }

    /// ``train(_:paths:registry:)`` for one rank of a data-parallel run: rank 0 holds the fold's lock and writes every
    /// file; all ranks train together (continuing from the checkpoint rank 0 selects) and split the final validation.
    static func trainDistributed(_ trainer: NNUNetTrainer, request: TrainingRequest,
                                 communicator: any Communicator) throws -> NNUNetTrainer {
        if request.findsLearningRate || request.validationOnly || request.pretrainedWeights != nil {
            throw CoreError.distributed("--find_lr, -val and -pretrained_weights run in one process: start them "
                                        + "without mpirun")
        }
        _ = try trainer.batchShare()
        if trainer.isMainRank {
            try trainer.lockOutputFolder(purpose: "nnunet train \(request.configuration) \(request.trainerName) "
                                         + "\(request.task) \(request.fold) (rank 0 of \(communicator.size))")
        }
        defer { trainer.unlockOutputFolder() }
        try trainer.initialize()
        if trainer.isMainRank { try writeFoldStart(trainer) }
        if request.continueTraining { try continueFromCheckpoint(trainer, request: request) }
        if trainer.isMainRank, trainer.savesCheckpoints { try trainer.writeDebugInformation() }
        try trainer.runTraining()
        if request.runsValidation, let plansFile = trainer.plansFile {
            try validate(trainer, plansFile: plansFile, request: request)
        }
        if request.configuration == .lowres, request.predictsNextStage, trainer.isMainRank {
            trainer.logFile?.print("The 3d_lowres predictions for the cascade (\(PreviousStageSegmentations.folderName)/) "
                                   + "are not made by a data-parallel run: run 'nnunet train 3d_lowres ... -val' "
                                   + "without mpirun to make them")
        }
        communicator.barrier()
        return trainer
    }

    /// Logs the trainer's warnings and copies the plans file into the trainer folder (`plans.json`).
    static func writeFoldStart(_ trainer: NNUNetTrainer) throws {
        for warning in trainer.warnings { trainer.logFile?.print("WARNING: \(warning)") }
        if let plansFile = trainer.plansFile {
            let copy = trainer.outputFolder.deletingLastPathComponent().appendingPathComponent("plans.json")
            try AtomicFile.copy(plansFile, to: copy)
        }
    }

    /// `-c`: loads the newest intact checkpoint (damaged ones are moved aside, by rank 0 before the other ranks of a
    /// data-parallel run read the one it selected); the checkpoint's schedule continues, except for values given
    /// explicitly in the request.
    static func continueFromCheckpoint(_ trainer: NNUNetTrainer, request: TrainingRequest) throws {
        var selection = CheckpointSelection()
        if trainer.isMainRank { selection = try trainer.selectCheckpointToContinue() }
        if let communicator = trainer.communicator, communicator.size > 1 {
            communicator.barrier()
            if !trainer.isMainRank { selection = trainer.inspectCheckpoints() }
        }
        guard let checkpoint = selection.checkpoint else {
            let damaged = selection.damaged.isEmpty ? "" : " (" + selection.explanation + ")"
            throw TrainingError.corruptCheckpoint(path: trainer.outputFolder.path, reason: "-c was given but there is "
                                                  + "no intact model_latest, model_final_checkpoint or model_best to "
                                                  + "continue from\(damaged); run without -c to start the fold")
        }
        trainer.logFile?.print(selection.explanation)
        try trainer.loadCheckpoint(from: checkpoint)
        if let epochs = request.epochs { trainer.hyperparameters.maxEpochs = epochs }
        if let iterations = request.iterationsPerEpoch { trainer.hyperparameters.iterationsPerEpoch = iterations }
        if let iterations = request.validationIterations {
            trainer.hyperparameters.validationIterationsPerEpoch = iterations
        }
    }

    /// The final validation as the request asks for it (folder, postprocessing, overwriting, `--npz`).
    static func validate(_ trainer: NNUNetTrainer, plansFile: URL, request: TrainingRequest) throws {
        let taskFolder = plansFile.deletingLastPathComponent()
        try trainer.runFinalValidation(plans: try Plans.load(from: plansFile),
                                       groundTruthSource: taskFolder.appendingPathComponent("gt_segmentations"),
                                       folderName: request.validationFolder,
                                       determinesPostprocessing: request.postprocessesFolds,
                                       overwrites: request.overwritesValidation, savesSoftmax: request.savesSoftmax)
    }
}
