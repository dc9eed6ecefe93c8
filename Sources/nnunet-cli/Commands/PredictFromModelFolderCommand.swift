import ArgumentParser
import Foundation
import NNUNetCore
import NNUNetTraining

/// `nnunet predict-from-model-folder` (v2 `nnUNetv2_predict_from_modelfolder`): an nnU-Net **v2** results folder
/// predicted without Python.
struct PredictFromModelFolderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict-from-model-folder",
        abstract: "Segment a folder of images with a trained nnU-Net v2 model folder.",
        discussion: """
            Spelled like v2's nnUNetv2_predict_from_modelfolder, e.g.
              nnunet predict-from-model-folder -i imagesTs -o pred -m \
            nnUNet_results/Dataset901_Spheres/nnUNetTrainer__nnUNetPlans__3d_fullres -f 0 --save_probabilities
            Runs PlainConvUNet (v2's default planner) and ResidualEncoderUNet (the ResEnc M/L/XL planners) models
            on NIfTI images, on the CPU. A 3d_cascade_fullres folder also needs -prev_stage_predictions: the
            folder where the 3d_lowres model's predictions of the same cases were written.
            """,
        aliases: ["nnUNetv2_predict_from_modelfolder"]
    )

    @Option(name: .customShort("i"), help: "Input folder with CASE_XXXX.nii.gz files (one per channel).")
    var input: String
    @Option(name: .customShort("o"), help: "Output folder (created if needed).") var output: String
    @Option(name: .customShort("m"), help: "The v2 model folder (TRAINER__PLANS__CONFIGURATION).") var model: String
    @Option(name: .customShort("f"), parsing: .upToNextOption,
            help: "Folds to use (numbers or 'all'). Default: every fold_N folder holding the checkpoint.",
            transform: Fold.parse)
    var folds: [Fold] = []
    @Option(name: .customLong("chk", withSingleDash: true), help: "Checkpoint file name in each fold folder.")
    var checkpoint = "checkpoint_final.pth"
    @Option(name: .customLong("step_size", withSingleDash: true),
            help: "Sliding-window step as a fraction of the patch size, in (0, 1]. Default: 0.5.")
    var stepSize = 0.5
    @Flag(name: .customLong("disable_tta"), help: "Do not mirror (faster, slightly less accurate).")
    var disableTTA = false
    @Flag(name: .customLong("save_probabilities"), help: "Also write CASE.npz (probabilities) and CASE.pkl.")
    var saveProbabilities = false
    @Flag(name: [.customLong("continue_prediction"), .customLong("c")],
          help: "Skip cases whose outputs exist (continue an interrupted run).")
    var continuePrediction = false
    @Option(name: .customLong("num_parts", withSingleDash: true), help: "Split the cases into this many parts.")
    var numParts = 1
    @Option(name: .customLong("part_id", withSingleDash: true), help: "The part to predict here, 0 ..< -num_parts.")
    var partID = 0
    @Option(name: .customLong("prev_stage_predictions", withSingleDash: true),
            help: "For a cascade stage (3d_cascade_fullres): the folder with the previous stage's CASE.nii.gz.")
    var previousStage: String?
    @Option(name: .customLong("npp", withSingleDash: true), help: "Accepted for v2 compatibility; unused.")
    var processesPreprocessing = 3
    @Option(name: .customLong("nps", withSingleDash: true), help: "Accepted for v2 compatibility; unused.")
    var processesExport = 3
    @Option(name: .customLong("device", withSingleDash: true), help: "Accepted for v2 compatibility: the CPU is used.")
    var device = "cpu"
    @Flag(name: .customLong("verbose"), help: "Accepted for v2 compatibility; unused.") var verbose = false
    @Flag(name: .customLong("disable_progress_bar"), help: "Accepted for v2 compatibility; unused.")
    var disableProgressBar = false
    @Flag(name: .customLong("not_on_device"), help: "Accepted for v2 compatibility; unused.") var notOnDevice = false

    func validate() throws {
        guard stepSize > 0, stepSize <= 1 else { throw ValidationError("Please give a -step_size in (0, 1].") }
        guard numParts >= 1, partID >= 0, partID < numParts else {
            throw ValidationError("Please give a -part_id in 0 ..< -num_parts.")
        }
    }

    func run() throws {
        let start = Date()
        let trained = try V2TrainedModel(modelFolder: URL(fileURLWithPath: model, isDirectory: true),
                                         folds: folds.isEmpty ? nil : folds, checkpoint: checkpoint)
        trained.usesMirroring = !disableTTA
        trained.stepSize = stepSize
        let outputFolder = URL(fileURLWithPath: output, isDirectory: true)
        let lock = try FolderLock.acquire(outputFolder, purpose: "nnunet predict-from-model-folder -m \(model)")
        defer { lock.release() }
        var run = V2FolderPrediction(inputFolder: URL(fileURLWithPath: input, isDirectory: true),
                                     outputFolder: outputFolder)
        run.saveProbabilities = saveProbabilities
        run.overwrite = !continuePrediction
        run.partCount = numParts
        run.partID = partID
        run.previousStageFolder = previousStage.map { URL(fileURLWithPath: $0, isDirectory: true) }
        run.progress = { print($0) }
        print("\(trained.configuration.name) of \(trained.trainerName) with \(trained.folds.count) fold(s)"
              + (trained.mirrorAxes == nil ? " (no mirroring)" : ", mirroring axes \(trained.mirrorAxes ?? [])"))
        let summary = try run.run(model: trained)
        print("Predicted \(summary.predicted.count) case(s)"
              + (summary.skipped.isEmpty ? "" : ", skipped \(summary.skipped.count) existing")
              + String(format: " in %.1f s", Date().timeIntervalSince(start)))
    }
}
