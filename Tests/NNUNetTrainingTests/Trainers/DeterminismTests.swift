import Foundation
import NNUNetCore
import Testing
@testable import NNUNetTraining

/// What `nnunet train --deterministic` promises (the flag changes nothing because it always holds): the same seed
/// gives a bit-identical `model_final_checkpoint`, whatever the number of loader workers.
@Suite("Bit-reproducible training through the runner")
struct DeterminismTests {
    @Test("two runs, 2 epochs x 2 iterations, 1 and 3 loader workers: bit-identical model_final_checkpoint")
    func sameSeedSameWeights() throws {
        try TestSupport.withTemporaryFolder { folder in
            let paths = try TrainingRunnerTests.preparedPaths(in: folder)
            let request = Self.request(epochs: 2)
            var checkpoints: [[String: Safetensors.Tensor]] = []
            for workers in [1, 3] {
                let trainer = try TrainingRunner.makeTrainer(request, paths: paths)
                trainer.loaderWorkers = workers
                try trainer.runTraining()
                let url = trainer.outputFolder.appendingPathComponent("model_final_checkpoint.model")
                checkpoints.append(try NetworkTrainer.readCheckpoint(url).tensors)
                try FileManager.default.removeItem(at: trainer.outputFolder)
            }
            #expect(checkpoints[0].count > 0 && checkpoints[0].keys.sorted() == checkpoints[1].keys.sorted())
            #expect(checkpoints[0].keys.contains { $0.hasPrefix("optimizer.momentum_buffer.") })
            for (name, tensor) in checkpoints[0] {
                // Bit patterns, so that even NaN or -0 differences would count.
                #expect(tensor.values.map(\.bitPattern) == checkpoints[1][name]?.values.map(\.bitPattern), "\(name)")
            }
        }
    }

    @Test("a run stopped after epoch 1 and continued with -c ends with the weights of an uninterrupted run")
    func continuedRunEqualsUninterrupted() throws {
        try TestSupport.withTemporaryFolder { folder in
            let paths = try TrainingRunnerTests.preparedPaths(in: folder)
            var request = Self.request(epochs: 3)
            let uninterrupted = try TrainingRunner.train(request, paths: paths)
            let final = uninterrupted.outputFolder.appendingPathComponent("model_final_checkpoint.model")
            let reference = try NetworkTrainer.readCheckpoint(final).tensors
            try FileManager.default.removeItem(at: uninterrupted.outputFolder)

            // Epoch 0 alone (the poly schedule's first rate does not depend on the epoch count), then -c for the rest:
            // the resumed run must draw the batches of epochs 1 and 2 that the uninterrupted run drew.
            request.epochs = 1
            _ = try TrainingRunner.train(request, paths: paths)
            request.epochs = 3
            request.continueTraining = true
            let continued = try TrainingRunner.train(request, paths: paths)
            #expect(continued.log.epoch == 3)
            #expect(continued.log.trainLosses == uninterrupted.log.trainLosses)
            let resumed = try NetworkTrainer.readCheckpoint(final).tensors
            #expect(resumed.count == reference.count && resumed.count > 0)
            let differing = reference.filter { name, tensor in
                tensor.values.map(\.bitPattern) != resumed[name]?.values.map(\.bitPattern)
            }.keys.sorted()
            #expect(differing.isEmpty, "\(differing.count) tensors differ, e.g. \(differing.prefix(3))")
        }
    }

    /// Task 600, fold 0, `epochs` × 2 iterations (+1 validation), no final validation, quiet.
    static func request(epochs: Int) -> TrainingRequest {
        var request = TrainingRequest(configuration: .fullres, trainerName: "nnUNetTrainerV2", task: "600",
                                      fold: .index(0))
        request.epochs = epochs
        request.iterationsPerEpoch = 2
        request.validationIterations = 1
        request.runsValidation = false
        request.verbose = false
        return request
    }
}
