import ArgumentParser
import Foundation
import NNUNetTraining
import Testing
@testable import nnunet_cli

@Suite("nnunet train: v1 flags that change nothing say so")
struct TrainLegacyFlagTests {
    @Test("--fp32 and --deterministic are accepted and each gets one line; without them, none")
    func notes() throws {
        let given = try #require(try NNUNetCommand.parseAsRoot([
            "train", "3d_fullres", "nnUNetTrainerV2", "4", "0", "--fp32", "--deterministic",
        ]) as? TrainCommand)
        #expect(given.legacyFlagNotes.count == 2)
        #expect(given.legacyFlagNotes[0] == "--fp32: training is always float32 here; the flag changes nothing.")
        #expect(given.legacyFlagNotes[1].hasPrefix("--deterministic: training is always bit-reproducible here"))
        let plain = try #require(try NNUNetCommand.parseAsRoot(["train", "3d_fullres", "nnUNetTrainerV2", "4", "0"])
            as? TrainCommand)
        #expect(plain.legacyFlagNotes.isEmpty)
        let compressed = try #require(try NNUNetCommand.parseAsRoot([
            "train", "3d_fullres", "nnUNetTrainerV2", "4", "0", "--use_compressed_data",
        ]) as? TrainCommand)
        #expect(compressed.legacyFlagNotes.count == 1)
        #expect(compressed.legacyFlagNotes[0].hasPrefix("--use_compressed_data: "))
    }

    @Test("predict: --all_in_gpu and --disable_mixed_precision are accepted and each gets one line")
    func predictNotes() throws {
        let arguments = ["predict", "-i", "in", "-o", "out", "-t", "4", "-m", "3d_fullres"]
        let given = try #require(try NNUNetCommand.parseAsRoot(arguments + [
            "--all_in_gpu", "True", "--disable_mixed_precision",
        ]) as? PredictCommand)
        #expect(given.legacyFlagNotes == [
            "--all_in_gpu True: prediction runs on the CPU here; the option changes nothing.",
            "--disable_mixed_precision: prediction is always float32 here; the flag changes nothing.",
        ])
        let plain = try #require(try NNUNetCommand.parseAsRoot(arguments) as? PredictCommand)
        #expect(plain.legacyFlagNotes.isEmpty)
    }
}

@Suite("nnunet train with a trainer variant", .serialized)
struct TrainVariantCommandTests {
    @Test("nnunet train 3d_fullres nnUNetTrainerV2_Adam: trains, and its checkpoint holds Adam's state")
    func adam() throws {
        try FaultCommandTests.withRoot { root in
            let paths = try FaultCommandTests.prepare(in: root)
            let command = try #require(try NNUNetCommand.parseAsRoot([
                "train", "3d_fullres", "nnUNetTrainerV2_Adam", "650", "0", "--epochs", "1", "--iterations-per-epoch",
                "2", "--validation-iterations", "1", "--disable_validation_inference",
            ]) as? TrainCommand)
            try command.run(paths: paths)
            let fold = try paths.trainedModels().appendingPathComponent(
                "3d_fullres/\(FaultCommandTests.task)/nnUNetTrainerV2_Adam__nnUNetPlansv2.1/fold_0")
            let (metadata, tensors) = try NetworkTrainer.readCheckpoint(
                fold.appendingPathComponent("model_final_checkpoint.model"))
            #expect(metadata.trainer == "nnUNetTrainerV2_Adam" && metadata.epoch == 1)
            #expect(tensors.keys.contains { $0.hasPrefix("optimizer.adam.exp_avg.") })
            #expect(!tensors.keys.contains { $0.hasPrefix("optimizer.momentum_buffer.") })
        }
    }
}
