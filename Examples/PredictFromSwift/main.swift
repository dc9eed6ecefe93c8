// Example: segment a folder of images from your own Swift program, without the command line: what
// `nnunet predict` does, as one library call (FolderPredictor).
//
//   swift run -c release PredictFromSwift MODEL_FOLDER INPUT_FOLDER OUTPUT_FOLDER [V1_PREDICTIONS_FOLDER]
//   swift run -c release PredictFromSwift      # the nnU-Net v1 CT model in Tests/Fixtures/v1_ct_model
//
// MODEL_FOLDER is a trainer folder, RESULTS_FOLDER/nnUNet/CONFIG/TaskXXX_NAME/TRAINER__PLANS, trained by
// `nnunet train` or by nnU-Net v1 (plans.pkl + model_final_checkpoint.model/.model.pkl): both load the same way.
// INPUT_FOLDER holds CASE_0000.nii.gz (CASE_0001.nii.gz, ... for more modalities). With V1_PREDICTIONS_FOLDER (what
// v1's nnUNet_predict wrote for the same inputs) it counts the voxels whose labels differ from v1's.
import Foundation
import NNUNetCore
import NNUNetTraining

// An application opts in to the process-wide settings the package never makes by itself: OpenBLAS on one thread
// (the package splits the work over threads itself) and an allocator that keeps large buffers for reuse.
ProcessTuning.apply()

let arguments = Array(CommandLine.arguments.dropFirst())
let fixture = URL(fileURLWithPath: "Tests/Fixtures/v1_ct_model")
let modelFolder = arguments.count > 0 ? URL(fileURLWithPath: arguments[0]) : fixture.appendingPathComponent(
    "results/nnUNet/3d_fullres/Task902_CTSpheres/nnUNetTrainerV2__nnUNetPlansv2.1")
let inputFolder = URL(fileURLWithPath: arguments.count > 1 ? arguments[1] : fixture.appendingPathComponent("imagesTs").path)
let outputFolder = URL(fileURLWithPath: arguments.count > 2 ? arguments[2] : "predict_from_swift_example")
let v1Predictions = arguments.count > 3 ? URL(fileURLWithPath: arguments[3])
    : arguments.isEmpty ? fixture.appendingPathComponent("pred_tta") : nil

do {
    // The whole prediction: load every fold_* folder (or options.folds = [.index(0)]), predict each case with v1's
    // defaults (mirroring, step 0.5), skip existing outputs, apply the model's postprocessing.json if it has one.
    var options = FolderPredictor.Options()
    options.overwritesExisting = true
    let predictor = try FolderPredictor(modelFolder: modelFolder, options: options)
    let summary = try predictor.predict(.folder(inputFolder), into: outputFolder) { event in
        if case let .caseFinished(item, seconds) = event {
            print("[\(item.index + 1)/\(item.count)] \(item.identifier): " + String(format: "%.1f s", seconds))
        }
    }
    print("\(summary.predicted.count) segmentation(s) written to \(outputFolder.path) with "
          + "\(predictor.model.folds.count) fold(s) of \(modelFolder.lastPathComponent)")

    if let v1Predictions {
        for identifier in summary.predicted {
            let ours = try NIfTI.read(outputFolder.appendingPathComponent(identifier + ".nii.gz"))
            let theirs = try NIfTI.read(v1Predictions.appendingPathComponent(identifier + ".nii.gz"))
            let differing = zip(ours.data, theirs.data).filter { $0 != $1 }.count
            print("\(identifier): \(differing) of \(ours.data.count) voxels differ from v1's labels")
        }
    }
} catch {
    // Errors name the file and what to do about it.
    print("error: \(error)")
    exit(1)
}
