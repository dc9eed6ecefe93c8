import Foundation
import NNUNetCore

/// Prepares batches on background worker threads ahead of the consumer (v1's `MultiThreadedAugmenter`).
///
/// Batch i is made by `makeBatch(i, &generator)` with a generator derived from (seed, i) only, and batches are
/// handed out in index order, so a seed gives the same sequence whatever the number of workers or their timing, and a
/// loader started at `firstIndex` k hands out batch k, k+1, ... of that same sequence.
/// At most `capacity` batches are prepared or waiting beyond the last one taken (v1: 2 per worker). An error thrown
/// while making batch i is rethrown by the ``next()`` call that would have returned batch i (the error names the case,
/// see ``TrainingError/unreadableCase(identifier:path:reason:)``); later batches are unaffected.
///
/// ``stop()`` (also run on deinit) wakes and joins the workers; ``next()`` then throws ``TrainingError/loaderStopped``.
///
/// `@unchecked Sendable`: its one stored property is an immutable reference to the lock-guarded queue state.
public final class BatchLoader: @unchecked Sendable {
    /// Makes batch `index` from its own generator.
    public typealias BatchMaker = @Sendable (_ index: Int, _ random: inout SeededGenerator) throws -> Batch

    private let state: LoaderState

    /// Starts `workers` threads.
    ///
    /// - Parameters:
    ///   - workers: number of worker threads (≥ 1).
    ///   - capacity: batches prepared ahead of the consumer (default 2 per worker).
    ///   - seed: the run's seed; batch i uses ``batchSeed(seed:index:)``.
    ///   - firstIndex: the index of the first batch handed out (a resumed run starts where its checkpoint stopped,
    ///     so it draws the batches the uninterrupted run drew).
    ///   - makeBatch: makes batch i from its own generator, on a worker thread.
    public init(workers: Int, capacity: Int? = nil, seed: UInt64, firstIndex: Int = 0,
                makeBatch: @escaping BatchMaker) {
        let workers = max(1, workers)
        state = LoaderState(capacity: max(1, capacity ?? 2 * workers), seed: seed, firstIndex: max(0, firstIndex),
                            makeBatch: makeBatch)
        // Workers make batches with the creator's default thread count (a new thread does not see task-locals).
        let threads = ThreadSettings.defaultThreads
        for index in 0..<workers {
            let state = self.state
            state.group.enter()
            let thread = Thread { ThreadSettings.$defaultThreads.withValue(threads) { state.work() } }
            thread.name = "nnunet-batch-loader-\(index)"
            thread.start()
        }
    }

    deinit { state.stop() }

    /// The next batch in index order, waiting for a worker if needed.
    public func next() throws -> Batch { try state.next() }

    /// Stops the workers (after the batches they are making) and waits for them to exit. Idempotent.
    public func stop() { state.stop() }

    /// The seed of batch `index`: a 64-bit mix of (seed, index), so batches use unrelated streams.
    public static func batchSeed(seed: UInt64, index: Int) -> UInt64 {
        func mix(_ value: UInt64) -> UInt64 {  // MurmurHash3's 64-bit finaliser
            var z = value
            z = (z ^ (z >> 33)) &* 0xFF51_AFD7_ED55_8CCD
            z = (z ^ (z >> 33)) &* 0xC4CE_B9FE_1A85_EC53
            return z ^ (z >> 33)
        }
        return mix(seed ^ mix(UInt64(truncatingIfNeeded: index) &+ 0x632B_E59B_D9B4_E019))
    }

    /// A loader whose batches hold the global sample slots `slots` (default: the whole batch of `sampler`), each
    /// drawn and augmented alone from a generator of its own, derived from (seed, batch index, slot): the samples of
    /// a slot are the same whichever rank of a data-parallel run draws them, so N ranks together draw the batches of
    /// one process. Foreground oversampling follows the slot's place in the global batch (v1's share).
    public static func make(dataset: PreprocessedDataset, sampler: PatchSampler, transforms: [any Transform],
                            slots: Range<Int>?, workers: Int, capacity: Int? = nil, seed: UInt64,
                            firstIndex: Int = 0) -> BatchLoader {
        let slots = slots ?? 0..<sampler.batchSize
        return BatchLoader(workers: workers, capacity: capacity, seed: seed, firstIndex: firstIndex) { _, random in
            let base = random.next()
            var samples: [Batch] = []
            for slot in slots {
                var generator = SeededGenerator(seed: batchSeed(seed: base, index: slot))
                var sample = try sampler.sampleSlot(slot, from: dataset, random: &generator)
                transforms.apply(&sample, random: &generator)
                samples.append(sample)
            }
            return Batch.concatenating(samples)
        }
    }

    /// A loader that samples with `sampler` from `dataset` and runs `transforms` on every batch.
    public static func make(dataset: PreprocessedDataset, sampler: PatchSampler, transforms: [any Transform],
                            workers: Int, capacity: Int? = nil, seed: UInt64, firstIndex: Int = 0) -> BatchLoader {
        BatchLoader(workers: workers, capacity: capacity, seed: seed, firstIndex: firstIndex) { _, random in
            var batch = try sampler.sampleBatch(from: dataset, random: &random)
            transforms.apply(&batch, random: &random)
            return batch
        }
    }
}

/// The queue shared by the loader and its workers (kept apart so that workers do not keep the loader alive).
///
/// `@unchecked Sendable`: the `var`s are only read and written while holding `condition`; the rest is immutable.
private final class LoaderState: @unchecked Sendable {
    let condition = NSCondition()
    let group = DispatchGroup()
    let capacity: Int
    let seed: UInt64
    let makeBatch: BatchLoader.BatchMaker
    // Guarded by `condition`:
    var nextToMake: Int
    var nextToHand: Int
    var ready: [Int: Result<Batch, any Error>] = [:]
    var stopped = false

    init(capacity: Int, seed: UInt64, firstIndex: Int, makeBatch: @escaping BatchLoader.BatchMaker) {
        self.capacity = capacity
        self.seed = seed
        nextToMake = firstIndex
        nextToHand = firstIndex
        self.makeBatch = makeBatch
    }

    func work() {
        defer { group.leave() }
        while true {
            condition.lock()
            while !stopped && nextToMake >= nextToHand + capacity { condition.wait() }
            if stopped {
                condition.unlock()
                return
            }
            let index = nextToMake
            nextToMake += 1
            condition.unlock()

            var random = SeededGenerator(seed: BatchLoader.batchSeed(seed: seed, index: index))
            let result = Result { try makeBatch(index, &random) }

            condition.lock()
            ready[index] = result
            condition.broadcast()
            condition.unlock()
        }
    }

    func next() throws -> Batch {
        condition.lock()
        defer { condition.unlock() }
        while !stopped && ready[nextToHand] == nil { condition.wait() }
        guard !stopped, let result = ready.removeValue(forKey: nextToHand) else { throw TrainingError.loaderStopped }
        nextToHand += 1
        condition.broadcast()
        return try result.get()
    }

    func stop() {
        condition.lock()
        stopped = true
        ready.removeAll()
        condition.broadcast()
        condition.unlock()
        group.wait()
    }
}
