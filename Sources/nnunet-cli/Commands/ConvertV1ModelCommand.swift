import ArgumentParser
import Foundation
import NNUNetTraining

/// `nnunet convert-v1-model`: rewrites an nnU-Net v1 trainer folder in this package's formats.
struct ConvertV1ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert-v1-model",
        abstract: "Convert an nnU-Net v1 model folder (plans.pkl, torch checkpoints) into plans.json + safetensors.",
        discussion: """
            'nnunet predict' runs v1 model folders as they are; convert them only to keep no pickles or torch files. \
            INPUT is a v1 trainer folder, e.g. RESULTS_FOLDER/nnUNet/3d_fullres/Task004_Hippocampus/\
            nnUNetTrainerV2__nnUNetPlansv2.1. Every fold's checkpoints (model_final_checkpoint, model_best, ...) are \
            converted, with SGD momentum, epoch and loss curves; postprocessing.json, summaries, logs and plots are \
            copied. The input folder is only read. To use the converted model with 'nnunet predict', give OUTPUT the \
            same CONFIG/TaskXXX/TRAINER__PLANS path under another RESULTS_FOLDER.
            """
    )

    @Option(name: .customShort("i"), help: "The v1 trainer folder (TRAINER__PLANS).") var input: String
    @Option(name: .customShort("o"), help: "Output trainer folder (created).") var output: String

    func run() throws {
        let source = URL(fileURLWithPath: input, isDirectory: true).standardizedFileURL
        let destination = URL(fileURLWithPath: output, isDirectory: true).standardizedFileURL
        guard source.path != destination.path else {
            throw ValidationError("-o must differ from -i: the converted checkpoints have the v1 file names "
                                  + "(NAME.model) and would overwrite the originals.")
        }
        let start = Date()
        let report = try V1ModelConversion.convert(trainerFolder: source, to: destination) { print("converting \($0)") }
        let folds = report.folds.map(\.folderName).joined(separator: ", ")
        print("Converted \(report.checkpoints.count) checkpoint(s) in \(folds) and "
              + "copied \(report.copiedFiles.count) file(s) into \(destination.path) in "
              + String(format: "%.1f s", Date().timeIntervalSince(start)))
    }
}
