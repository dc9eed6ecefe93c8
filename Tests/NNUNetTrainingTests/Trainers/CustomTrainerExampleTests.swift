import Foundation
import NNUNetCore
import Testing
@testable import NNUNetTraining

/// A user trainer that overrides two hooks, the optimizer and the splits, trained through ``TrainingRunner`` as
/// `nnunet train` would (the example of issue #20).
@Suite("A user trainer overriding the optimizer and the splits")
struct CustomTrainerExampleTests {
    /// Adam instead of SGD, and a fixed 2-fold split instead of `splits_final.pkl`.
    final class AdamFixedSplitTrainer: NNUNetTrainerV2 {
        override class var trainerName: String { "AdamFixedSplitTrainer" }

        override func makeOptimizer(parameters: [Tensor]) -> any Optimizer {
            Adam(parameters: parameters, learningRate: 3e-4, weightDecay: 3e-5, amsgrad: true)
        }

        /// Fold 0 validates on the last two cases (sorted), fold 1 on the first two.
        override func makeSplits(caseIdentifiers: [String], preprocessedTaskFolder: URL) throws
            -> [CrossValidationFold] {
            let cases = caseIdentifiers.sorted()
            return [CrossValidationFold(train: Array(cases.dropLast(2)), val: Array(cases.suffix(2))),
                    CrossValidationFold(train: Array(cases.dropFirst(2)), val: Array(cases.prefix(2)))]
        }
    }

    @Test("1 epoch x 2 iterations use the trainer's split and train with Adam")
    func trainsWithOverrides() throws {
        try TestSupport.withTemporaryFolder { folder in
            let paths = try TrainingRunnerTests.preparedPaths(in: folder)
            let registry = TrainerRegistry().registering(AdamFixedSplitTrainer.self, as: "AdamFixedSplitTrainer")
            var request = TrainingRequest(configuration: .fullres, trainerName: "AdamFixedSplitTrainer",
                                          task: "600", fold: .index(0))
            request.epochs = 1
            request.iterationsPerEpoch = 2
            request.validationIterations = 1
            request.runsValidation = false
            request.verbose = false
            let trainer = try TrainingRunner.train(request, paths: paths, registry: registry)
            #expect(trainer.trainingCases.count == 3 && trainer.validationCases.count == 2)
            #expect(Set(trainer.trainingCases).isDisjoint(with: trainer.validationCases))
            #expect(trainer.validationCases == trainer.validationCases.sorted()
                    && trainer.validationCases.allSatisfy { $0 > (trainer.trainingCases.max() ?? "") })
            let adam = try #require(trainer.optimizer as? Adam)
            #expect(adam.steps.max() == 2 && trainer.log.trainLosses.allSatisfy(\.isFinite))
            let (_, tensors) = try NetworkTrainer.readCheckpoint(trainer.outputFolder.appendingPathComponent(
                "model_final_checkpoint.model"))
            #expect(tensors.keys.contains { $0.hasPrefix("optimizer.adam.exp_avg.") })
        }
    }
}
