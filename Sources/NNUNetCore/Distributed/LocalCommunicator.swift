import Foundation

/// `size` ranks inside one process, one per thread: the collectives of ``Communicator`` over shared memory. For tests
/// of data-parallel code on machines without MPI; sums are taken in rank order, so every rank gets the same bits.
///
/// ```swift
/// let ranks = LocalCommunicator.group(size: 2)
/// DispatchQueue.concurrentPerform(iterations: 2) { r in work(ranks[r]) }
/// ```
///
/// `@unchecked Sendable`: `rank`, `size` and `shared` are immutable; the shared state is guarded by its condition.
package final class LocalCommunicator: Communicator, @unchecked Sendable {
    package let rank: Int
    package let size: Int
    private let shared: Shared

    /// One communicator per rank of a new group of `size` ranks.
    package static func group(size: Int) -> [LocalCommunicator] {
        let shared = Shared(size: size)
        return (0..<size).map { LocalCommunicator(rank: $0, size: size, shared: shared) }
    }

    private init(rank: Int, size: Int, shared: Shared) {
        self.rank = rank
        self.size = size
        self.shared = shared
    }

    package func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) { sumInRankOrder(values) }

    package func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) { sumInRankOrder(values) }

    private func sumInRankOrder<T: FloatingPoint>(_ values: UnsafeMutableBufferPointer<T>) {
        let sums = exchange(Array(values)) { parts in
            var total = parts[0]
            for part in parts.dropFirst() { for i in total.indices { total[i] += part[i] } }
            return total
        }
        for i in values.indices { values[i] = sums[i] }
    }

    package func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) {
        let result = exchange(Array(bytes)) { parts in parts[root] }
        for i in 0..<bytes.count { bytes[i] = result[i] }
    }

    package func barrier() {
        _ = exchange([UInt8]()) { _ in [] }
    }

    /// Deposits `mine`, waits for every rank, combines all deposits (in rank order) and waits again before the
    /// slots are reused.
    private func exchange<T>(_ mine: [T], combine: ([[T]]) -> [T]) -> [T] {
        shared.deposit(rank: rank, mine)
        let parts = shared.waitForAll().map { $0 as! [T] }
        let result = combine(parts)
        _ = shared.waitForAll()
        return result
    }

    /// `@unchecked Sendable`: every member is read and written under `condition`.
    private final class Shared: @unchecked Sendable {
        let size: Int
        let condition = NSCondition()
        var slots: [Any]
        var arrived = 0
        var generation = 0

        init(size: Int) {
            self.size = size
            slots = Array(repeating: [UInt8](), count: size)
        }

        func deposit(rank: Int, _ value: Any) {
            condition.lock()
            slots[rank] = value
            condition.unlock()
        }

        /// A barrier; returns the slots as they were when the last rank arrived.
        func waitForAll() -> [Any] {
            condition.lock()
            defer { condition.unlock() }
            let myGeneration = generation
            arrived += 1
            if arrived == size {
                arrived = 0
                generation += 1
                condition.broadcast()
            } else {
                while generation == myGeneration { condition.wait() }
            }
            return slots
        }
    }
}
