import ArgumentParser

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

    func run() throws {
        throw CLIError.notYetAvailable(command: "predict", what: "sliding-window inference")
    }
}
