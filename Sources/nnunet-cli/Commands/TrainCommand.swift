import ArgumentParser
import Foundation
import NNUNetCore
import NNUNetTraining

/// `nnunet train CONFIG TRAINER TASK FOLD` (v1 `nnUNet_train`).
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train one fold of a configuration (2d, 3d_lowres, 3d_fullres, 3d_cascade_fullres).",
        aliases: ["nnUNet_train"]
    )

    @Argument(help: "The configuration to train.") var configuration: NetworkConfiguration
    @Argument(help: "Trainer class name, e.g. nnUNetTrainerV2.") var trainer: String
    @Argument(help: "Task id or name.") var task: String
    @Argument(help: "Fold 0-4 (or another number of the splits file) or 'all'.", transform: Fold.parse) var fold: Fold

    @Flag(name: .customLong("val", withSingleDash: true), help: "Only run validation (final checkpoint).")
    var validationOnly = false
    @Flag(name: .customShort("c"), help: "Continue from the latest checkpoint.") var continueTraining = false
    @Option(name: .customShort("p"), help: "Plans identifier.") var plansIdentifier = "nnUNetPlansv2.1"
    @Flag(name: .customLong("npz"), help: "Save softmax predictions in validation (needed for ensembling).")
    var saveNpz = false
    @Flag(name: .customLong("use_compressed_data"),
          help: "Accepted for v1 compatibility: the preprocessed arrays are read in place; the flag changes nothing.")
    var useCompressedData = false
    @Flag(name: .customLong("deterministic"),
          help: "Accepted for v1 compatibility: training is always bit-reproducible for a seed here.")
    var deterministic = false
    @Flag(name: .customLong("fp32"), help: "Accepted for v1 compatibility: training is always float32 here.")
    var fp32 = false
    @Flag(name: .customLong("valbest"), help: "Validate with model_best.") var validateBest = false
    @Option(name: .customLong("val_folder")) var validationFolder = "validation_raw"
    @Flag(name: .customLong("disable_saving")) var disableSaving = false
    @Flag(name: .customLong("disable_postprocessing_on_folds")) var disablePostprocessingOnFolds = false
    @Flag(name: .customLong("disable_validation_inference")) var disableValidationInference = false
    @Flag(name: .customLong("val_disable_overwrite")) var validationDisableOverwrite = false
    @Flag(name: .customLong("disable_next_stage_pred")) var disableNextStagePrediction = false
    @Option(name: .customLong("pretrained_weights", withSingleDash: true)) var pretrainedWeights: String?
    @Flag(name: .customLong("find_lr"),
          help: "Sweep the learning rate from 1e-6 to 10 over up to 1000 iterations into lr_finder.png instead of training.")
    var findLearningRate = false
    @Option(name: .customLong("epochs"), help: "Number of epochs (default 1000).") var epochs: Int?
    @Option(name: .customLong("iterations-per-epoch"), help: "Training iterations per epoch (default 250).")
    var iterationsPerEpoch: Int?
    @Option(name: .customLong("validation-iterations"), help: "Validation iterations per epoch (default 50).")
    var validationIterations: Int?
    @Option(name: .customLong("threads"),
            help: ArgumentHelp("Compute threads of this process (under mpirun: of each rank).",
                               discussion: "Default: the processors this process may use, divided by the ranks that "
                                   + "mpirun started on this machine."))
    var threads: Int?

    /// One line per given v1 flag that changes nothing here, saying why (printed before training).
    var legacyFlagNotes: [String] {
        var notes: [String] = []
        if fp32 { notes.append("--fp32: training is always float32 here; the flag changes nothing.") }
        if useCompressedData {
            notes.append("--use_compressed_data: the preprocessed arrays (.npy) are read in place, never unpacked; "
                         + "the flag changes nothing.")
        }
        if deterministic {
            notes.append("--deterministic: training is always bit-reproducible here (seed 12345; batches come in "
                          + "the same order whatever the number of loader workers); the flag changes nothing.")
        }
        return notes
    }

    func run() throws {
        // Under mpirun (or srun with PMIx) every process is one rank of a data-parallel run.
        let world = MPICommunicator.isLaunchedByMPI() ? try MPICommunicator.initialize() : nil
        let environment = ProcessInfo.processInfo.environment
        let localRanks = max(1, Int(environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "") ?? 1)
        let threadCount = threads ?? max(1, ThreadSettings.processorCount / localRanks)
        do {
            try ThreadSettings.withThreads(threadCount) {
                try run(paths: EnvironmentPaths.current(), communicator: (world?.size ?? 1) > 1 ? world : nil)
            }
            world?.finalize()
        } catch {
            if let world, world.size > 1 {
                // The other ranks may wait in a collective: end the whole job, naming the rank that failed.
                FileHandle.standardError.write(Data("Error on rank \(world.rank) of \(world.size): \(error)\n".utf8))
                world.abort(code: 1)
            }
            throw error
        }
    }

    /// Runs with explicit nnU-Net folders (tests pass their own instead of the process environment).
    func run(paths: NNUNetPaths, communicator: (any Communicator)? = nil) throws {
        let isMain = (communicator?.rank ?? 0) == 0
        if isMain { for note in legacyFlagNotes { print(note) } }
        var request = TrainingRequest(configuration: configuration, trainerName: trainer, task: task, fold: fold)
        request.plansIdentifier = plansIdentifier
        request.continueTraining = continueTraining
        request.epochs = epochs
        request.iterationsPerEpoch = iterationsPerEpoch
        request.validationIterations = validationIterations
        request.disableSaving = disableSaving
        request.validationOnly = validationOnly
        request.validateBest = validateBest
        request.runsValidation = !disableValidationInference
        request.validationFolder = validationFolder
        request.postprocessesFolds = !disablePostprocessingOnFolds
        request.overwritesValidation = !validationDisableOverwrite
        request.savesSoftmax = saveNpz
        request.pretrainedWeights = pretrainedWeights.map { URL(fileURLWithPath: $0) }
        request.predictsNextStage = !disableNextStagePrediction
        request.findsLearningRate = findLearningRate
        request.communicator = communicator
        request.verbose = isMain
        let trained = try TrainingRunner.train(request, paths: paths, registry: .standard)
        if findLearningRate {
            print("Learning-rate sweep: \(trained.outputFolder.appendingPathComponent("lr_finder.png").path)")
            return
        }
        guard isMain else { return }
        print("Finished: \(trained.outputFolder.path)")
        if request.runsValidation {
            print("Validation: \(trained.outputFolder.appendingPathComponent(validationFolder).path)/summary.json")
        }
    }
}
