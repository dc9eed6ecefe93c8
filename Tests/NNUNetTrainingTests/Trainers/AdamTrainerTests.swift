import Foundation
import NNUNetCore
import Testing
@testable import NNUNetTraining

@Suite("nnUNetTrainerV2_Adam through the runner")
struct AdamTrainerTests {
    @Test("nnunet train 3d_fullres nnUNetTrainerV2_Adam: 1 epoch x 2 iterations save Adam state, -c restores it")
    func trainAndContinue() throws {
        try TestSupport.withTemporaryFolder { folder in
            let paths = try TrainingRunnerTests.preparedPaths(in: folder)
            var request = TrainingRequest(configuration: .fullres, trainerName: "nnUNetTrainerV2_Adam",
                                          task: "600", fold: .index(0))
            request.epochs = 1
            request.iterationsPerEpoch = 2
            request.validationIterations = 1
            request.runsValidation = false
            request.verbose = false
            let trainer = try TrainingRunner.train(request, paths: paths)
            #expect(trainer is NNUNetTrainerV2_Adam)
            let adam = try #require(trainer.optimizer as? Adam)
            #expect(adam.amsgrad && adam.weightDecay == Float(3e-5) && adam.betas == (0.9, 0.999) && adam.eps == 1e-8)
            let checkpoint = trainer.outputFolder.appendingPathComponent("model_final_checkpoint.model")
            let (metadata, tensors) = try NetworkTrainer.readCheckpoint(checkpoint)
            #expect(metadata.trainer == "nnUNetTrainerV2_Adam" && metadata.epoch == 1)
            #expect(!tensors.keys.contains { $0.hasPrefix("optimizer.momentum_buffer.") })
            let names = try #require(trainer.network).namedParameters().map(\.name)
            let first = try #require(names.first)
            for slot in [Adam.firstMomentSlot, Adam.secondMomentSlot, Adam.maxSecondMomentSlot] {
                #expect(tensors["optimizer.\(slot).\(first)"]?.values == adam.stateBuffers[slot]?[0], "\(slot)")
            }
            #expect(tensors["optimizer.\(Adam.stepSlot).\(first)"]?.values == [2])
            #expect(adam.steps.contains(2))
            // The log names the optimizer.
            let logs = try FileManager.default.contentsOfDirectory(atPath: trainer.outputFolder.path)
                .filter { $0.hasPrefix("training_log_") }
            let text = try logs.map { try String(contentsOf: trainer.outputFolder.appendingPathComponent($0),
                                                 encoding: .utf8) }.joined()
            #expect(text.contains("optimizer Adam(betas (0.9, 0.999), eps 1e-08, weight decay 3e-05, amsgrad)"))

            // A fresh trainer loading the checkpoint holds the same Adam state.
            let loaded = try TrainingRunner.makeTrainer(request, paths: paths)
            try loaded.loadCheckpoint(from: checkpoint)
            let restored = try #require(loaded.optimizer as? Adam)
            #expect(restored.steps == adam.steps && restored.firstMoments == adam.firstMoments
                    && restored.secondMoments == adam.secondMoments && restored.maxSecondMoments == adam.maxSecondMoments)

            // -c continues for one more epoch from that state: parameters that stepped twice have stepped 4 times.
            request.continueTraining = true
            request.epochs = 2
            let continued = try TrainingRunner.train(request, paths: paths)
            let continuedAdam = try #require(continued.optimizer as? Adam)
            #expect(continued.log.epoch == 2)
            #expect(zip(adam.steps, continuedAdam.steps).allSatisfy { $0 == 0 ? $1 <= 2 : $1 == $0 + 2 })
        }
    }

    @Test("the Adam variants are registered; nnUNetTrainerV2_Adam_nnUNetTrainerlr starts at 3e-4")
    func registered() throws {
        #expect(try TrainerRegistry.standard.trainerType(named: "nnUNetTrainerV2_Adam") == NNUNetTrainerV2_Adam.self)
        let lr = try TrainerRegistry().trainerType(named: "nnUNetTrainerV2_Adam_nnUNetTrainerlr")
        #expect(lr.defaultHyperparameters.initialLearningRate == 3e-4)
        #expect(NNUNetTrainerV2_Adam.defaultHyperparameters.initialLearningRate == 1e-2)
    }
}
