import Foundation
import NNUNetCore
import Testing
@testable import NNUNetTraining

@Suite("Trainer hierarchy and training loop")
struct TrainerTests {
    @Test("2 epochs x 3 iterations write the fold's files; the log has one entry per epoch")
    func trainsAndWrites() throws {
        try TestSupport.withTemporaryFolder { folder in
            let trainer = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder)
            try trainer.runTraining()
            let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            for name in ["model_final_checkpoint.model", "model_final_checkpoint.model.json", "model_best.model",
                         "progress.png"] {
                #expect(files.contains(name), "\(name) in \(files)")
            }
            #expect(!files.contains("model_latest.model"), "model_latest is removed at the end, as in v1")
            #expect(files.contains { $0.hasPrefix("training_log_") && $0.hasSuffix(".txt") })
            #expect(trainer.log.epoch == 2 && trainer.log.trainLosses.count == 2 && trainer.log.validationMetrics.count == 2)
            let (metadata, tensors) = try NetworkTrainer.readCheckpoint(folder.appendingPathComponent(
                "model_final_checkpoint.model"))
            #expect(metadata.trainer == "nnUNetTrainerV2" && metadata.epoch == 2)
            #expect(tensors["conv_blocks_context.0.blocks.0.conv.weight"] != nil)
            #expect(tensors.keys.contains { $0.hasPrefix("optimizer.momentum_buffer.") })
            // The learning rate followed the poly schedule: epoch 1 of 2 → 0.01 · 0.5^0.9.
            #expect(abs(metadata.learningRate - 0.01 * pow(0.5, 0.9)) < 1e-7)
        }
    }

    @Test("a crash mid-epoch resumes from model_latest with the same counters, schedule and log")
    func resume() throws {
        try TestSupport.withTemporaryFolder { folder in
            // Crash in epoch 1 (batches 0-2 are epoch 0; batch 4 is in epoch 1).
            let crashing = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder, failAt: 4)
            #expect(throws: TrainingError.self) { try crashing.runTraining() }
            let latest = folder.appendingPathComponent("model_latest.model")
            #expect(FileManager.default.fileExists(atPath: latest.path))

            let resumed = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder)
            let checkpoint = try #require(resumed.checkpointToContinue())
            #expect(checkpoint.lastPathComponent == "model_latest.model")
            try resumed.loadCheckpoint(from: checkpoint)
            #expect(resumed.log.epoch == 1 && resumed.log.trainLosses == crashing.log.trainLosses)
            try resumed.runTraining()
            #expect(resumed.log.epoch == 2 && resumed.log.trainLosses.count == 2)
            #expect(resumed.log.trainLosses[0] == crashing.log.trainLosses[0])
            #expect(abs(Double(resumed.optimizer?.learningRate ?? 0) - 0.01 * pow(0.5, 0.9)) < 1e-7)
            // A finished run continues from the final checkpoint (nothing left to do).
            let again = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder)
            #expect(again.checkpointToContinue()?.lastPathComponent == "model_final_checkpoint.model")
        }
    }

    @Test("the same seed gives bit-identical weights")
    func deterministic() throws {
        let weights: [[Float]] = try (0..<2).map { _ in
            try TestSupport.withTemporaryFolder { folder in
                let trainer = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder, epochs: 1)
                try trainer.runTraining()
                return trainer.network?.parameters().flatMap(\.data) ?? []
            }
        }
        #expect(!weights[0].isEmpty && weights[0] == weights[1])
    }

    @Test("a corrupt checkpoint is a clear error and leaves the other checkpoints alone")
    func corruptCheckpoint() throws {
        try TestSupport.withTemporaryFolder { folder in
            let trainer = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder, epochs: 1)
            try trainer.runTraining()
            let final = folder.appendingPathComponent("model_final_checkpoint.model")
            try Data("garbage".utf8).write(to: final)
            let best = try Data(contentsOf: folder.appendingPathComponent("model_best.model"))
            let fresh = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder)
            do {
                try fresh.loadCheckpoint(from: final)
                Issue.record("no error")
            } catch let error as TrainingError {
                #expect(error.description.contains(final.path))
            }
            #expect(try Data(contentsOf: folder.appendingPathComponent("model_best.model")) == best)
        }
    }

    @Test("registry: built-in names, user trainers, and unknown names listing the registered ones")
    func registry() throws {
        final class MyTrainer: NNUNetTrainerV2 {}
        var registry = TrainerRegistry()
        #expect(try registry.trainerType(named: "nnUNetTrainerV2") == NNUNetTrainerV2.self)
        #expect(try registry.trainerType(named: "nnUNetTrainerV2_5epochs").defaultHyperparameters.maxEpochs == 5)
        registry.register(MyTrainer.self, as: "MyTrainer")
        #expect(try registry.trainerType(named: "MyTrainer") == MyTrainer.self)
        // A value: registering on a copy changes neither the original nor the standard registry.
        #expect(!TrainerRegistry.standard.names.contains("MyTrainer") && !TrainerRegistry().names.contains("MyTrainer"))
        #expect(TrainerRegistry().registering(MyTrainer.self, as: "Other").names.contains("Other"))
        do {
            _ = try registry.trainerType(named: "nnUNetTrainerV3")
            Issue.record("no error")
        } catch let error as TrainingError {
            #expect(error.description.contains("nnUNetTrainerV2_Loss_Dice") && error.description.contains("MyTrainer"))
        }
    }

    @Test("a subclass's loss is the one used (the Dice-only variant's loss lies in [-1, 0])")
    func customLoss() throws {
        try TestSupport.withTemporaryFolder { folder in
            let trainer = TrainerFixtures.trainer(NNUNetTrainerV2_Loss_Dice.self, folder: folder, epochs: 1)
            try trainer.runTraining()
            let loss = try #require(trainer.log.trainLosses.first)
            #expect(loss <= 0 && loss >= -1)
            let v2 = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder.appendingPathComponent("v2"), epochs: 1)
            try v2.runTraining()
            #expect((v2.log.trainLosses.first ?? 0) > 0, "Dice + CE starts above 0 (CE ≈ ln 3)")
        }
    }
}
