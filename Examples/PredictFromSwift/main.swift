// Example: segment images from your own Swift program, without the command line. One `TrainedModel` is loaded once
// (plans + the weights of every fold) and then predicts any number of volumes.
//
//   swift run -c release PredictFromSwift MODEL_FOLDER OUTPUT_FOLDER IMAGE_0000.nii.gz [IMAGE2_0000.nii.gz ...]
//   swift run -c release PredictFromSwift            # the nnU-Net v1 model in ../shared/reference/v1_model
//
// MODEL_FOLDER is a trainer folder, RESULTS_FOLDER/nnUNet/CONFIG/TaskXXX_NAME/TRAINER__PLANS, trained by
// `nnunet train` or by nnU-Net v1 (plans.pkl + model_final_checkpoint.model/.model.pkl): both load the same way.
// For a model with several modalities, pass the first file of each case (CASE_0000.nii.gz); the others
// (CASE_0001.nii.gz, ...) are found next to it.
import Foundation
import NNUNetCore
import NNUNetTraining

let arguments = Array(CommandLine.arguments.dropFirst())
let reference = URL(fileURLWithPath: "../shared/reference/v1_model")
let modelFolder = arguments.first.map { URL(fileURLWithPath: $0) } ?? reference.appendingPathComponent(
    "results/nnUNet/3d_fullres/Task901_Spheres/nnUNetTrainerV2__nnUNetPlansv2.1")
let outputFolder = URL(fileURLWithPath: arguments.count > 1 ? arguments[1] : "predict_from_swift_example")
let images = arguments.count > 2 ? arguments.dropFirst(2).map { URL(fileURLWithPath: $0) }
    : [reference.appendingPathComponent("imagesTs/spheres_ts002_0000.nii.gz")]

do {
    let model = try TrainedModel(trainerFolder: modelFolder)          // every fold_* folder; or folds: ["0"]
    model.usesMirroring = true                                         // v1's test-time augmentation (default)
    model.stepSize = 0.5
    print("Loaded \(model.folds.count) fold(s) of \(modelFolder.lastPathComponent) from \(model.plansFile.lastPathComponent)")
    try FileManager.default.createDirectory(at: outputFolder, withIntermediateDirectories: true)
    for first in images {
        let name = first.lastPathComponent
        guard name.hasSuffix("_0000.nii.gz") else {
            print("skipping \(name): inputs are named CASE_0000.nii.gz")
            continue
        }
        let identifier = String(name.dropLast("_0000.nii.gz".count))
        let files = (0..<model.plans.numModalities).map {
            first.deletingLastPathComponent().appendingPathComponent(identifier + String(format: "_%04d.nii.gz", $0))
        }
        let start = Date()
        // The label map comes back in the input's exact grid and geometry; keepingProbabilities also returns the
        // class probabilities (what `nnunet predict -z` saves).
        let prediction = try model.predictCase(imageFiles: files, identifier: identifier, keepingProbabilities: false)
        try NIfTI.write(prediction.labels, to: outputFolder.appendingPathComponent(identifier + ".nii.gz"),
                        dataType: .uint8)
        var counts: [Int: Int] = [:]
        for value in prediction.labels.data { counts[Int(value), default: 0] += 1 }
        print(String(format: "%@: %.1f s, voxels per label %@", identifier, Date().timeIntervalSince(start),
                     counts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")))
    }
    print("Segmentations written to \(outputFolder.path)")
} catch {
    // Errors name the file and what to do about it.
    print("error: \(error)")
    exit(1)
}
