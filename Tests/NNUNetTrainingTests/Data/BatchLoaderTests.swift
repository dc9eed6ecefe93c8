import Foundation
import Testing
import NNUNetCore
@testable import NNUNetTraining

@Suite("Background batch loader")
struct BatchLoaderTests {
    /// Three synthetic preprocessed cases in `folder`, v1's sampler for 8×10×8 patches and v1's training transforms
    /// (two deep-supervision scales).
    static func pipeline(in folder: URL, batchSize: Int, seed: UInt64) throws
        -> (dataset: PreprocessedDataset, sampler: PatchSampler, transforms: [any Transform]) {
        _ = try SyntheticPreprocessedData.write(to: folder, caseCount: 3, shape: [12, 14, 12], seed: seed)
        let parameters = AugmentationParameters.nnUNetTrainerV2(patchSize: [8, 10, 8], doesDummy2DAugmentation: false,
                                                                usesMaskForNormalization: [true])
        let sampler = PatchSampler(patchSize: parameters.basicPatchSize, finalPatchSize: [8, 10, 8],
                                   batchSize: batchSize)
        let transforms = AugmentationPipeline.training(parameters, deepSupervisionScales: [[1, 1, 1], [0.5, 0.5, 0.5]])
        return (try PreprocessedDataset(folder: folder), sampler, transforms)
    }

    @Test("same seed, different worker counts → identical batches (full v1 pipeline)")
    func determinism() throws {
        try TestSupport.withTemporaryFolder { folder in
            let (dataset, sampler, transforms) = try Self.pipeline(in: folder, batchSize: 2, seed: 3)
            func draw(workers: Int, seed: UInt64) throws -> [Batch] {
                let loader = BatchLoader.make(dataset: dataset, sampler: sampler, transforms: transforms,
                                              workers: workers, capacity: 3, seed: seed)
                defer { loader.stop() }
                return try (0..<12).map { _ in try loader.next() }
            }
            let one = try draw(workers: 1, seed: 42), three = try draw(workers: 3, seed: 42)
            let other = try draw(workers: 2, seed: 43)
            for (a, b) in zip(one, three) {
                #expect(a.data == b.data && a.segmentation == b.segmentation && a.targets == b.targets)
                #expect(a.caseIdentifiers == b.caseIdentifiers)
            }
            #expect(zip(one, other).contains { $0.data != $1.data })
            // Consecutive batches differ (independent streams per batch).
            #expect(one[0].data != one[1].data)
        }
    }

    @Test("an error in a worker surfaces in the consumer and names the case")
    func errorPropagation() throws {
        try TestSupport.withTemporaryFolder { folder in
            try TestSupport.writeCase("case_good", shape: [6, 6, 6], into: folder)
            try TestSupport.writeCase("case_broken", shape: [6, 6, 6], into: folder)
            let dataset = try PreprocessedDataset(folder: folder)
            // Truncate one array after the dataset was opened: reading it fails inside a worker.
            let broken = folder.appendingPathComponent("case_broken.npy")
            let handle = try FileHandle(forWritingTo: broken)
            try handle.truncate(atOffset: 200)
            try handle.close()
            let sampler = PatchSampler(patchSize: [4, 4, 4], finalPatchSize: [4, 4, 4], batchSize: 4)
            let loader = BatchLoader.make(dataset: dataset, sampler: sampler, transforms: [], workers: 2, seed: 1)
            defer { loader.stop() }
            var caught: TrainingError?
            for _ in 0..<20 {
                do { _ = try loader.next() } catch let error as TrainingError {
                    caught = error
                    break
                }
            }
            guard case let .unreadableCase(identifier, path, _) = caught else {
                Issue.record("expected unreadableCase, got \(String(describing: caught))")
                return
            }
            #expect(identifier == "case_broken" && path.hasSuffix("case_broken.npy"))
            #expect(caught?.description.contains("case_broken") == true)
            // The loader keeps working after an error: each later call hands out its own batch, or the error of that
            // batch (one that drew the broken case again), never loaderStopped and never a hang.
            for _ in 0..<8 {
                do {
                    let batch = try loader.next()
                    #expect(batch.caseIdentifiers.allSatisfy { $0 == "case_good" })
                } catch let error as TrainingError {
                    guard case let .unreadableCase(identifier, _, _) = error else {
                        Issue.record("expected unreadableCase after the first error, got \(error)")
                        return
                    }
                    #expect(identifier == "case_broken")
                }
            }
        }
    }

    @Test("an error fails only its own batch: the call after it returns the next batch, in order")
    func recoveryAfterError() throws {
        for workers in [1, 3] {
            let loader = BatchLoader(workers: workers, capacity: 2, seed: 1) { index, _ in
                if index == 1 || index == 2 {
                    throw TrainingError.unreadableCase(identifier: "case_\(index)", path: "case_\(index).npy",
                                                       reason: "simulated")
                }
                return Batch(data: [Float(index)], segmentation: [0], batchSize: 1, dataChannels: 1,
                             segmentationChannels: 1, spatialShape: [1, 1], caseIdentifiers: ["case_\(index)"])
            }
            defer { loader.stop() }
            #expect(try loader.next().data == [0], "workers \(workers)")
            for index in [1, 2] {
                #expect(throws: TrainingError.unreadableCase(identifier: "case_\(index)", path: "case_\(index).npy",
                                                             reason: "simulated")) { try loader.next() }
            }
            #expect(try loader.next().data == [3], "workers \(workers)")
            #expect(try loader.next().data == [4], "workers \(workers)")
        }
    }

    @Test("stop() ends the workers; next() then throws loaderStopped; the queue stays bounded")
    func shutdown() throws {
        let made = Counter()
        let loader = BatchLoader(workers: 2, capacity: 3, seed: 1) { index, _ in
            made.increment()
            return Batch(data: [Float(index)], segmentation: [0], batchSize: 1, dataChannels: 1,
                         segmentationChannels: 1, spatialShape: [1, 1], caseIdentifiers: ["c"])
        }
        #expect(try loader.next().data == [0])
        #expect(try loader.next().data == [1])
        Thread.sleep(forTimeInterval: 0.2)
        #expect(made.value <= 2 + 3)
        loader.stop()
        #expect(throws: TrainingError.loaderStopped) { try loader.next() }
        loader.stop()
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
