import Foundation

/// The data-parallel context of the step being computed: which ranks share the global batch.
///
/// The trainer binds it around its loss computation (a task-local value, never process-wide). A loss that sums over
/// the batch axis, like batch Dice, calls ``Tensor/summedOverRanks()`` on those sums, so that it sees the global
/// batch's sums; everything else of a loss is computed on the rank's own samples and weighted by its share.
public enum DataParallel {
    /// The ranks of the current step; nil in a single-process run.
    @TaskLocal public static var communicator: (any Communicator)?
}

extension Tensor {
    /// The element-wise sum of this tensor over the ranks of ``DataParallel/communicator`` (itself when there is none
    /// or one rank); differentiable.
    ///
    /// Every rank must call it at the same point of its computation. Its gradient is the sum over ranks of the
    /// gradients that reach the result (the adjoint of a sum over ranks), so that with rank losses weighted by their
    /// share of the batch, the gradients summed over ranks equal those of one process on the whole batch.
    public func summedOverRanks() -> Tensor {
        guard let communicator = DataParallel.communicator, communicator.size > 1 else { return self }
        return allreduced(communicator)
    }

    /// The element-wise sum over the ranks of `communicator`; differentiable (see ``summedOverRanks()``).
    public func allreduced(_ communicator: any Communicator) -> Tensor {
        let summed = communicator.allreduceSum(data)
        return Tensor.record("allreduce", shape: shape, data: summed, inputs: [self]) { g in
            [Tensor(shape: g.shape, data: communicator.allreduceSum(g.data))]
        }
    }
}
