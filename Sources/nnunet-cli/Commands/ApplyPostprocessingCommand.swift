import ArgumentParser
import Foundation
import NNUNetCore
import NNUNetTraining

/// `nnunet apply-postprocessing` (v2 `nnUNetv2_apply_postprocessing`): a v2 `postprocessing.pkl` applied to a folder
/// of predictions.
struct ApplyPostprocessingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply-postprocessing",
        abstract: "Apply an nnU-Net v2 postprocessing.pkl to a folder of segmentations.",
        discussion: """
            Spelled like v2's nnUNetv2_apply_postprocessing, e.g.
              nnunet apply-postprocessing -i pred -o pred_pp -pp_pkl_file \
            $nnUNet_results/Dataset901_Spheres/nnUNetTrainer__nnUNetPlans__3d_fullres/\
            crossval_results_folds_0_1_2_3_4/postprocessing.pkl
            Every CASE<file_ending> of the input folder is written to the output folder with, for each step of the
            pickle, all but the largest connected component (26-connectivity, as v2) of the named labels removed.
            The file ending comes from -dataset_json, or the input folder's dataset.json (predict-from-model-folder
            writes one there).
            """,
        aliases: ["nnUNetv2_apply_postprocessing"]
    )

    @Option(name: .customShort("i"), help: "Folder with the segmentations.") var input: String
    @Option(name: .customShort("o"), help: "Output folder (created if needed).") var output: String
    @Option(name: .customLong("pp_pkl_file", withSingleDash: true), help: "v2's postprocessing.pkl.")
    var postprocessingFile: String
    @Option(name: .customLong("np", withSingleDash: true), help: "Threads for the connected components.")
    var processes = ThreadSettings.defaultThreads
    @Option(name: .customLong("plans_json", withSingleDash: true),
            help: "Accepted for v2 compatibility: the image reader is always NIfTI, so the plans are not needed.")
    var plansJSON: String?
    @Option(name: .customLong("dataset_json", withSingleDash: true),
            help: "dataset.json giving the file ending (default: INPUT/dataset.json).")
    var datasetJSON: String?

    func validate() throws {
        guard processes >= 1 else { throw ValidationError("Please give -np of at least 1.") }
    }

    func run() throws {
        let inputFolder = URL(fileURLWithPath: input, isDirectory: true)
        let datasetFile = datasetJSON.map { URL(fileURLWithPath: $0) }
            ?? inputFolder.appendingPathComponent("dataset.json")
        guard FileManager.default.fileExists(atPath: datasetFile.path) else {
            throw ValidationError("'\(datasetFile.path)' does not exist; give the model's dataset.json with "
                                  + "-dataset_json (it names the file ending)")
        }
        let dataset = try V2DatasetDescription(contentsOf: datasetFile)
        let postprocessing = try V2Postprocessing(contentsOf: URL(fileURLWithPath: postprocessingFile))
        print(postprocessing.steps.isEmpty ? "The postprocessing has no steps: the files are copied unchanged."
              : postprocessing.steps.map { "keep the largest component of labels \($0.labels)" }
                  .joined(separator: ", then "))
        let start = Date()
        let names = try postprocessing.apply(inputFolder: inputFolder,
                                             outputFolder: URL(fileURLWithPath: output, isDirectory: true),
                                             fileEnding: dataset.fileEnding, threads: processes) { print($0) }
        print("Postprocessed \(names.count) file(s)" + String(format: " in %.1f s", Date().timeIntervalSince(start)))
    }
}
