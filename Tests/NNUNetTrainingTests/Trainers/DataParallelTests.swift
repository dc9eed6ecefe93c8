import Foundation
import NNUNetCore
import Testing
@testable import NNUNetTraining

/// Data-parallel training without MPI: ranks on threads of this process (`LocalCommunicator`) against one process
/// on the same global batches. The same trainer code runs under `mpirun` with `MPICommunicator`
/// (`DistributedCommandTests`).
@Suite("Data-parallel training (ranks on threads)")
struct DataParallelTests {
    @Test("v1's batch split: ceil(B / N) per rank, the last ranks what is left; a rank without a sample is refused")
    func batchShares() throws {
        let nine = try (0..<2).map { try BatchShare(globalBatchSize: 9, rank: $0, size: 2) }
        #expect(nine.map(\.slots) == [0..<5, 5..<9])
        #expect(nine.map(\.localBatchSize) == [5, 4])
        let two = try (0..<2).map { try BatchShare(globalBatchSize: 2, rank: $0, size: 2) }
        #expect(two.map(\.slots) == [0..<1, 1..<2])
        #expect(try BatchShare(globalBatchSize: 7, rank: 2, size: 3).slots == 6..<7)
        #expect(throws: CoreError.self) { try BatchShare(globalBatchSize: 2, rank: 0, size: 3) }
        #expect(throws: CoreError.self) { try BatchShare(globalBatchSize: 5, rank: 0, size: 4) }
        #expect(BatchShare.validRankCounts(globalBatchSize: 2) == [1, 2])
        #expect(BatchShare.validRankCounts(globalBatchSize: 5) == [1, 2, 3, 5])
        #expect(BatchShare.validRankCounts(globalBatchSize: 9) == [1, 2, 3, 5, 9])
    }

    @Test("the loaders of 2 ranks (slots 0..<2 and 2..<3) draw together the batches of one process (slots 0..<3)")
    func slotsAreRankIndependent() throws {
        try TestSupport.withTemporaryFolder { folder in
            let (dataset, sampler, transforms) = try BatchLoaderTests.pipeline(in: folder, batchSize: 3, seed: 5)
            // v1: B = 3 → round(3 · 0.67) = 2 random samples, the last is forced onto foreground.
            #expect((0..<3).map { sampler.isForcedForeground(sampleIndex: $0) } == [false, false, true])
            func draw(_ slots: Range<Int>?) throws -> [Batch] {
                let loader = BatchLoader.make(dataset: dataset, sampler: sampler, transforms: transforms,
                                              slots: slots, workers: 2, seed: 9, firstIndex: 4)
                defer { loader.stop() }
                return try (0..<4).map { _ in try loader.next() }
            }
            let one = try draw(nil), first = try draw(0..<2), second = try draw(2..<3)
            for (i, whole) in one.enumerated() {
                let joined = Batch.concatenating([first[i], second[i]])
                #expect(whole.batchSize == 3 && first[i].batchSize == 2 && second[i].batchSize == 1)
                #expect(whole.data == joined.data && whole.segmentation == joined.segmentation, "batch \(i)")
                #expect(whole.targets == joined.targets && whole.caseIdentifiers == joined.caseIdentifiers)
            }
            #expect(one[0].data != one[1].data)
        }
    }

    @Test("the sum over ranks is differentiable: its gradient is the sum over ranks of the gradients reaching it")
    func allreduceGradient() {
        let results = Self.runRanks(2) { communicator -> ([Float], [Float]) in
            let r = Float(communicator.rank)
            let x = Tensor(shape: [3], data: [1 + r, 2 * r, -1], requiresGrad: true)
            let y = DataParallel.$communicator.withValue(communicator) { x.summedOverRanks() }
            let weight: Float = r == 0 ? 0.25 : 0.75
            (weight * (y * y).sum()).backward()
            return (y.data, x.grad?.data ?? [])
        }
        // y = x₀ + x₁ = [3, 2, -2]; d/dx_r Σ_r' w_r' y² = Σ_r' w_r' 2y = 2y.
        for (y, grad) in results {
            #expect(y == [3, 2, -2])
            #expect(grad == [6, 4, -4])
        }
    }

    @Test("2 ranks give the loss of one process at every step and its weights after 3 steps (rel. 1e-5)",
          arguments: [(2, false), (3, false), (3, true)])
    func equivalence(batchSize: Int, batchDice: Bool) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nnunet-dp-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let steps = 3
        let source = SyntheticBatchSource(patch: [16, 16, 16], batchSize: batchSize, seed: 11)
        let batches = try (0..<steps).map { _ in try source.nextBatch() }
        let shared = Shared(batches)

        let single = Self.trainer(batchSize: batchSize, batchDice: batchDice,
                                  folder: root.appendingPathComponent("single"))
        try single.initialize()
        let singleLosses = batches.map { single.trainStep($0).loss }
        let singleWeights = single.network!.namedParameters()

        let ranks = Self.runRanks(2) { communicator -> (losses: [Double], weights: [[Float]], error: String?) in
            do {
                let trainer = Self.trainer(batchSize: batchSize, batchDice: batchDice,
                                           folder: root.appendingPathComponent("rank\(communicator.rank)"))
                trainer.communicator = communicator
                try trainer.initialize()
                try trainer.synchronizeRanks()
                let slots = try trainer.batchShare().slots
                let losses = shared.value.map { trainer.trainStep(Self.slice($0, slots)).loss }
                return (losses, trainer.network!.parameters().map(\.data), nil)
            } catch {
                return ([], [], "\(error)")
            }
        }
        for (rank, result) in ranks.enumerated() {
            #expect(result.error == nil)
            #expect(result.losses.count == steps)
            for (step, (a, b)) in zip(singleLosses, result.losses).enumerated() {
                #expect(abs(a - b) <= 1e-5 * max(abs(a), 1e-3), "rank \(rank), step \(step): loss \(b) vs \(a)")
            }
            var worst = 0.0, worstName = ""
            for ((name, parameter), values) in zip(singleWeights, result.weights) {
                // Relative to the tensor's largest value, at least 0.01: a convolution bias followed by instance
                // normalisation has an exact gradient of zero and holds rounding noise (~1e-10).
                let scale = max(Double(parameter.data.map { abs($0) }.max() ?? 0), 0.01)
                let difference = zip(parameter.data, values).map { Double(abs($0 - $1)) }.max() ?? 0
                if difference / scale > worst { worst = difference / scale; worstName = name }
            }
            #expect(worst <= 1e-5, "rank \(rank): '\(worstName)' differs by \(worst) of its largest value")
        }
        // The ranks hold the same weights as each other, bit for bit.
        #expect(ranks[0].weights == ranks[1].weights)
    }

    @Test("a batch smaller than the ranks is refused with v1's rule named")
    func tooManyRanks() {
        let errors = Self.runRanks(3) { communicator -> String in
            let trainer = Self.trainer(batchSize: 2, batchDice: false,
                                       folder: FileManager.default.temporaryDirectory.appendingPathComponent("x"))
            trainer.communicator = communicator
            do { _ = try trainer.batchShare(); return "" } catch { return "\(error)" }
        }
        #expect(errors.allSatisfy { $0.contains("cannot be split over 3 ranks") && $0.contains("use 1, 2 ranks") })
    }

    // MARK: Support

    /// Read-only batches shared by the rank threads (`@unchecked Sendable`: nobody writes them after creation).
    final class Shared: @unchecked Sendable {
        let value: [TrainingBatch]
        init(_ value: [TrainingBatch]) { self.value = value }
    }

    static func trainer(batchSize: Int, batchDice: Bool, folder: URL) -> NNUNetTrainerV2 {
        let configuration = TrainingConfiguration(
            configuration: .fullres, taskName: "Task600_Tiny", fold: 0, inputChannels: 1, classCount: 3,
            baseFeatures: 4, poolKernels: [[2, 2, 2], [2, 2, 2]], convKernels: [[3, 3, 3], [3, 3, 3], [3, 3, 3]],
            patchSize: [16, 16, 16], batchSize: batchSize, usesBatchDice: batchDice)
        let trainer = NNUNetTrainerV2(configuration: configuration, outputFolder: folder,
                                      hyperparameters: TrainerFixtures.hyperparameters(epochs: 2), seed: 7)
        trainer.isVerbose = false
        trainer.savesCheckpoints = false
        return trainer
    }

    /// The samples `slots` of a batch.
    static func slice(_ batch: TrainingBatch, _ slots: Range<Int>) -> TrainingBatch {
        func rows(_ tensor: Tensor) -> Tensor {
            let per = tensor.count / tensor.shape[0]
            return Tensor(shape: [slots.count] + tensor.shape.dropFirst(),
                          data: Array(tensor.data[(slots.lowerBound * per)..<(slots.upperBound * per)]))
        }
        return TrainingBatch(data: rows(batch.data), target: rows(batch.target))
    }

    /// Runs `body` on `size` threads, one rank each, and returns the results in rank order.
    static func runRanks<T: Sendable>(_ size: Int, _ body: @escaping @Sendable (LocalCommunicator) -> T) -> [T] {
        let communicators = LocalCommunicator.group(size: size)
        let results = LockedValue([T?](repeating: nil, count: size))
        let done = DispatchGroup()
        for communicator in communicators {
            done.enter()
            let thread = Thread {
                let result = ThreadSettings.withThreads(1) { body(communicator) }
                results.withLock { $0[communicator.rank] = result }
                done.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        done.wait()
        return results.withLock { $0.map { $0! } }
    }
}
