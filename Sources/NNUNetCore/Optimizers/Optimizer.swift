import Foundation

/// What a trainer needs of an optimizer: one update step, the learning rate the schedule sets, and the state a
/// checkpoint saves and a resume restores.
///
/// ``SGD`` (nnU-Net's default) and ``Adam`` conform. A trainer builds one in `makeOptimizer(parameters:)`:
///
/// ```swift
/// override func makeOptimizer(parameters: [Tensor]) -> any Optimizer {
///     Adam(parameters: parameters, learningRate: 3e-4, weightDecay: 3e-5, amsgrad: true)
/// }
/// ```
///
/// ### See Also
/// - ``SGD``
/// - ``Adam``
public protocol Optimizer: AnyObject {
    /// The parameters updated by ``step()``, in the order given (the order of ``Module/parameters()``).
    var parameters: [Tensor] { get }
    /// Step size; the trainer sets it from its schedule at the start of each epoch.
    var learningRate: Float { get set }
    /// Applies one update to every parameter that has a gradient (parameters without one are skipped, as in torch).
    func step()
    /// Clears the gradients of all parameters.
    func zeroGradients()
    /// The optimizer's per-parameter state for checkpoints: slot name → one buffer per parameter, in parameter
    /// order (nil: no state yet for that parameter). Every slot is listed even when all its buffers are nil.
    ///
    /// Checkpoints store buffer `i` of slot `s` as the tensor `optimizer.<s>.<name of parameter i>`; ``SGD``'s slot
    /// `momentum_buffer` keeps the checkpoint format of earlier versions.
    var stateBuffers: [String: [[Float]?]] { get }
    /// Replaces the state with buffers read from a checkpoint (same layout as ``stateBuffers``; a missing slot or a
    /// nil buffer means "no state yet" for that parameter).
    ///
    /// - Throws: ``OptimizerStateError`` when a buffer's length does not fit its parameter or a slot is unknown;
    ///   the state is then left unchanged.
    func restoreStateBuffers(_ buffers: [String: [[Float]?]]) throws
}

extension Optimizer {
    /// Clears the gradients of all parameters.
    public func zeroGradients() { for p in parameters { p.grad = nil } }
}

/// Optimizer state that does not fit the optimizer's parameters (a checkpoint of another network or optimizer).
public struct OptimizerStateError: Error, LocalizedError, CustomStringConvertible, Equatable {
    /// What does not fit: the slot, the parameter index, expected and found lengths.
    public var reason: String

    /// Creates the error with its reason.
    public init(_ reason: String) { self.reason = reason }

    /// The reason, as a sentence fragment for `TrainingError`-style messages.
    public var description: String { reason }
    /// Same text as ``description``.
    public var errorDescription: String? { reason }
}

extension Optimizer {
    /// Checks `buffers` against ``parameters``: every slot is one of `slots` and has one entry per parameter, and
    /// each non-nil buffer has `length(slot, parameterIndex)` values. Returns the buffers with missing slots filled
    /// with nil entries.
    func validated(_ buffers: [String: [[Float]?]], slots: [String],
                   length: (String, Int) -> Int) throws -> [String: [[Float]?]] {
        var result: [String: [[Float]?]] = [:]
        for slot in slots { result[slot] = [[Float]?](repeating: nil, count: parameters.count) }
        for (slot, perParameter) in buffers {
            guard slots.contains(slot) else {
                throw OptimizerStateError("\(type(of: self)) has no state slot '\(slot)' (it has \(slots.joined(separator: ", ")))")
            }
            guard perParameter.count == parameters.count else {
                throw OptimizerStateError("slot '\(slot)' has \(perParameter.count) buffers for \(parameters.count) parameters")
            }
            for (index, buffer) in perParameter.enumerated() {
                if let buffer, buffer.count != length(slot, index) {
                    throw OptimizerStateError("slot '\(slot)' of parameter \(index) has \(buffer.count) values, "
                                              + "expected \(length(slot, index))")
                }
            }
            result[slot] = perParameter
        }
        return result
    }
}
