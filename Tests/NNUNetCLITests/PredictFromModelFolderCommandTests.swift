import ArgumentParser
import Foundation
import NNUNetCore
import Testing
@testable import nnunet_cli

@Suite("predict-from-model-folder (nnUNetv2_predict_from_modelfolder)")
struct PredictFromModelFolderCommandTests {
    @Test("v2's flag spellings parse")
    func v2Flags() throws {
        let command = try #require(try NNUNetCommand.parseAsRoot([
            "nnUNetv2_predict_from_modelfolder", "-i", "in", "-o", "out", "-m", "model", "-f", "0", "all", "-chk",
            "checkpoint_best.pth", "-step_size", "0.75", "--disable_tta", "--save_probabilities",
            "--continue_prediction", "-num_parts", "3", "-part_id", "2", "-npp", "2", "-nps", "2", "-device", "cpu",
            "--disable_progress_bar",
        ]) as? PredictFromModelFolderCommand)
        #expect(command.input == "in" && command.output == "out" && command.model == "model")
        #expect(command.folds == [.index(0), .all] && command.checkpoint == "checkpoint_best.pth")
        #expect(command.stepSize == 0.75 && command.disableTTA && command.saveProbabilities)
        #expect(command.continuePrediction && command.numParts == 3 && command.partID == 2)
        let defaults = try #require(try NNUNetCommand.parseAsRoot([
            "predict-from-model-folder", "-i", "in", "-o", "out", "-m", "model", "--c",
        ]) as? PredictFromModelFolderCommand)
        #expect(defaults.folds.isEmpty && defaults.checkpoint == "checkpoint_final.pth" && defaults.stepSize == 0.5)
        #expect(!defaults.disableTTA && !defaults.saveProbabilities && defaults.continuePrediction)
    }

    @Test("a bad step size and a bad part are refused before anything runs")
    func refusals() throws {
        let cascade = try #require(try NNUNetCommand.parseAsRoot([
            "predict-from-model-folder", "-i", "in", "-o", "out", "-m", "m", "-prev_stage_predictions", "lowres",
        ]) as? PredictFromModelFolderCommand)
        #expect(cascade.previousStage == "lowres")
        for arguments in [["-step_size", "1.5"],
                          ["-num_parts", "2", "-part_id", "2"]] {
            #expect(throws: (any Error).self) {
                _ = try NNUNetCommand.parseAsRoot(["predict-from-model-folder", "-i", "in", "-o", "out", "-m", "m"]
                                                  + arguments)
            }
        }
    }

    @Test("apply-postprocessing (nnUNetv2_apply_postprocessing) on v2's outputs: the pickle's steps, v2's result")
    func applyPostprocessing() throws {
        let root = TestSupport.fixtures.appendingPathComponent("v2_models")
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("apply-pp-\(UUID())")
        defer { try? FileManager.default.removeItem(at: output) }
        var command = try #require(try NNUNetCommand.parseAsRoot([
            "nnUNetv2_apply_postprocessing", "-i", root.appendingPathComponent("ct/pred_notta").path, "-o", output.path,
            "-pp_pkl_file", root.appendingPathComponent("postprocessing/postprocessing_crafted_largest_component.pkl").path,
            "-np", "2",
        ]) as? ApplyPostprocessingCommand)
        try command.run()
        for name in ["spheres_ts000.nii.gz", "spheres_ts001.nii.gz"] {
            let ours = try NIfTI.read(output.appendingPathComponent(name))
            let theirs = try NIfTI.read(root.appendingPathComponent("postprocessing/pred_notta_pp_crafted/\(name)"))
            #expect(ours.data == theirs.data && ours.geometry == theirs.geometry)
        }
        // Without dataset.json in the input folder and no -dataset_json, the file ending is unknown: refused.
        var bare = try #require(try NNUNetCommand.parseAsRoot([
            "apply-postprocessing", "-i", root.appendingPathComponent("images").path, "-o", output.path + "-2",
            "-pp_pkl_file", root.appendingPathComponent("postprocessing/postprocessing.pkl").path,
        ]) as? ApplyPostprocessingCommand)
        #expect(throws: (any Error).self) { try bare.run() }
        #expect(!FileManager.default.fileExists(atPath: output.path + "-2"))
    }
}
