import Foundation
import NNUNetCore
@testable import NNUNetTraining

/// Batches of a blob (label 1) with a core (label 2) at a random position, image = contrast + noise.
/// Batch n is drawn from a generator seeded by (seed, n), so the sequence does not depend on timing.
final class SyntheticBatchSource: BatchSource {
    let patch: [Int], batchSize: Int, seed: UInt64
    var produced = 0
    /// Throw when asked for this batch index (simulates a crash in the data pipeline).
    var failAt: Int?

    init(patch: [Int], batchSize: Int, seed: UInt64) {
        self.patch = patch
        self.batchSize = batchSize
        self.seed = seed
    }

    func nextBatch() throws -> TrainingBatch {
        defer { produced += 1 }
        if produced == failAt { throw TrainingError.missingData("simulated crash at batch \(produced)") }
        var random = SeededGenerator(seed: seed &* 1_000_003 &+ UInt64(produced))
        let voxels = patch.reduce(1, *)
        var data = [Float](repeating: 0, count: batchSize * voxels), target = data
        for b in 0..<batchSize {
            let center = patch.map { Double($0) * random.nextUniform(in: 0.3...0.7) }
            let radius = Double(patch.min() ?? 8) * random.nextUniform(in: 0.2...0.35)
            for i in 0..<voxels {
                var rest = i, d2 = 0.0
                for a in stride(from: patch.count - 1, through: 0, by: -1) {
                    let c = Double(rest % patch[a]) + 0.5 - center[a]
                    d2 += c * c
                    rest /= patch[a]
                }
                let label: Float = d2 < radius * radius * 0.3 ? 2 : (d2 < radius * radius ? 1 : 0)
                target[b * voxels + i] = label
                data[b * voxels + i] = label + Float(random.nextGaussian()) * 0.3
            }
        }
        return TrainingBatch(data: Tensor(shape: [batchSize, 1] + patch, data: data),
                             target: Tensor(shape: [batchSize, 1] + patch, data: target))
    }
}

enum TrainerFixtures {
    static func configuration(fold: Int? = 0) -> TrainingConfiguration {
        TrainingConfiguration(configuration: .fullres, taskName: "Task600_Tiny", fold: fold, inputChannels: 1,
                              classCount: 3, baseFeatures: 4, poolKernels: [[2, 2, 2], [2, 2, 2]],
                              convKernels: [[3, 3, 3], [3, 3, 3], [3, 3, 3]], patchSize: [16, 16, 16], batchSize: 2,
                              usesBatchDice: false)
    }

    static func hyperparameters(epochs: Int = 2) -> TrainingHyperparameters {
        var h = TrainingHyperparameters()
        h.maxEpochs = epochs
        h.iterationsPerEpoch = 3
        h.validationIterationsPerEpoch = 2
        return h
    }

    /// A trainer of `type` on synthetic batches; `failAt` makes the training source throw at that batch.
    static func trainer<T: NNUNetTrainer>(_ type: T.Type, folder: URL, epochs: Int = 2, failAt: Int? = nil) -> T {
        let trainer = type.init(configuration: configuration(), outputFolder: folder,
                                hyperparameters: hyperparameters(epochs: epochs), seed: 7)
        trainer.isVerbose = false
        trainer.batchSourceFactory = { trainer in
            let training = SyntheticBatchSource(patch: trainer.configuration.patchSize, batchSize: 2, seed: 1)
            training.failAt = failAt
            return (training, SyntheticBatchSource(patch: trainer.configuration.patchSize, batchSize: 2, seed: 2))
        }
        return trainer
    }
}
