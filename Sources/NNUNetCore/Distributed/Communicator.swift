import Foundation

/// The collective operations data-parallel training needs: the ranks of one job sum buffers (gradients, loss terms,
/// confusion counts) and rank 0 sends its state to the others.
///
/// Every rank must call the same collectives in the same order with buffers of the same length; a call returns when
/// all ranks have made it. Two implementations come with the package: ``MPICommunicator`` (Open MPI, one rank per
/// process, on one or many machines) and a group of in-process ranks on threads that the tests use.
///
/// Collectives do not throw: the MPI implementation aborts the whole job on a communication error (Open MPI's
/// `MPI_ERRORS_ARE_FATAL`), so no rank is left waiting in a collective.
public protocol Communicator: AnyObject, Sendable {
    /// This rank, `0..<size`.
    var rank: Int { get }
    /// The number of ranks (the MPI world size).
    var size: Int { get }
    /// Replaces `values` on every rank by the element-wise sum of all ranks' `values`.
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>)
    /// Replaces `values` on every rank by the element-wise sum of all ranks' `values`.
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>)
    /// Replaces `bytes` on every rank by rank `root`'s `bytes` (all ranks pass the same count).
    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int)
    /// Returns when every rank has called it.
    func barrier()
}

extension Communicator {
    /// Whether this is rank 0, the rank that writes files.
    public var isMain: Bool { rank == 0 }

    /// The element-wise sum over ranks of `values`.
    public func allreduceSum(_ values: [Float]) -> [Float] {
        var result = values
        result.withUnsafeMutableBufferPointer { allreduceSum($0) }
        return result
    }

    /// The element-wise sum over ranks of `values`.
    public func allreduceSum(_ values: [Double]) -> [Double] {
        var result = values
        result.withUnsafeMutableBufferPointer { allreduceSum($0) }
        return result
    }

    /// Rank `root`'s `values` on every rank (every rank passes the same count).
    public func broadcast(_ values: [Float], root: Int = 0) -> [Float] {
        var result = values
        result.withUnsafeMutableBytes { broadcast($0, root: root) }
        return result
    }
}

/// How a global batch of `globalBatchSize` samples is split over ranks: v1's rule for distributing the batch
/// (`nnUNetTrainerV2_DDP`, `--dbs`): each rank takes ceil(B / N) samples, the last ones what is left (9 over 2 ranks:
/// 5 + 4). Rank r holds the global sample slots ``slots``; slot j of the global batch is forced onto foreground by the
/// same rule as in one process, so the global oversampling share stays v1's.
public struct BatchShare: Sendable, Equatable {
    /// The batch size of the plans (the global batch).
    public let globalBatchSize: Int
    /// This rank.
    public let rank: Int
    /// Number of ranks.
    public let size: Int

    /// The share of `rank` of `size` ranks.
    /// - Throws: `CoreError.invalidArgument` when a rank would get no sample (more ranks than the global batch).
    public init(globalBatchSize: Int, rank: Int = 0, size: Int = 1) throws {
        guard globalBatchSize >= 1, size >= 1, (0..<size).contains(rank) else {
            throw CoreError.distributed("a batch of \(globalBatchSize) cannot be shared as rank \(rank) of \(size)")
        }
        let perRank = (globalBatchSize + size - 1) / size
        guard (size - 1) * perRank < globalBatchSize else {
            throw CoreError.distributed(
                "the plans' batch size \(globalBatchSize) cannot be split over \(size) ranks: with \(perRank) per rank "
                + "(v1's rule, ceil(batch / ranks)) rank \(size - 1) would get no sample; use "
                + Self.validRankCounts(globalBatchSize: globalBatchSize).map(String.init).joined(separator: ", ")
                + " ranks")
        }
        self.globalBatchSize = globalBatchSize
        self.rank = rank
        self.size = size
    }

    /// The numbers of ranks over which v1's rule gives every rank a sample of a batch of `globalBatchSize`
    /// (9 → 1, 2, 3, 5, 9: with 4 ranks, 3 + 3 + 3 would leave the fourth without one).
    public static func validRankCounts(globalBatchSize: Int) -> [Int] {
        (1...max(1, globalBatchSize)).filter { n in (n - 1) * ((globalBatchSize + n - 1) / n) < globalBatchSize }
    }

    /// The global sample slots of this rank.
    public var slots: Range<Int> {
        let perRank = (globalBatchSize + size - 1) / size
        return min(globalBatchSize, rank * perRank)..<min(globalBatchSize, (rank + 1) * perRank)
    }

    /// The number of samples of this rank.
    public var localBatchSize: Int { slots.count }

    /// This rank's fraction of the global batch (its weight in a mean over the global batch).
    public var fraction: Double { Double(localBatchSize) / Double(globalBatchSize) }
}
