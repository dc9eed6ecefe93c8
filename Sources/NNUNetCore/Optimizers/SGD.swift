/// Stochastic gradient descent with momentum, Nesterov and weight decay, exactly as PyTorch's `torch.optim.SGD`
/// (dampening 0), nnU-Net's optimizer (lr 1e-2, momentum 0.99, nesterov, weight decay 3e-5).
///
/// Per parameter p with gradient g (parameters whose gradient is nil are skipped entirely, as in torch):
/// ```
/// d   = g + weightDecay · p
/// buf = d                      (first step)      buf = momentum · buf + d   (later steps)
/// d   = d + momentum · buf     (nesterov)        d = buf                    (otherwise)
/// p  ← p − learningRate · d
/// ```
public final class SGD: Optimizer {
    /// The parameters in the order given (the order of ``Module/parameters()``).
    public let parameters: [Tensor]
    /// Step size; the trainer sets it from ``PolyLearningRate`` at the start of each epoch.
    public var learningRate: Float
    /// Momentum factor μ (nnU-Net: 0.99).
    public let momentum: Float
    /// L2 weight decay added to the gradient (nnU-Net: 3e-5).
    public let weightDecay: Float
    /// Whether to use Nesterov momentum (nnU-Net: true).
    public let nesterov: Bool
    /// Momentum buffers in parameter order; nil until a parameter's first step. Saved in checkpoints.
    public var momentumBuffers: [[Float]?]

    /// Creates the optimizer over `parameters` with empty momentum buffers; Nesterov requires `momentum > 0`.
    public init(parameters: [Tensor], learningRate: Float, momentum: Float = 0.99, weightDecay: Float = 3e-5,
                nesterov: Bool = true) {
        precondition(!nesterov || momentum > 0, "SGD: Nesterov momentum requires momentum > 0")
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        momentumBuffers = [[Float]?](repeating: nil, count: parameters.count)
    }

    /// Applies one update to every parameter that has a gradient.
    public func step() {
        for (index, p) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            precondition(g.shape == p.shape, "SGD.step: gradient \(g.shape) for parameter \(p.shape)")
            let lr = learningRate, mu = momentum, wd = weightDecay
            var buffer = momentumBuffers[index] ?? []
            let isFirst = buffer.isEmpty
            if mu != 0 && isFirst { buffer = [Float](repeating: 0, count: p.count) }
            p.data.withUnsafeMutableBufferPointer { pp in
                g.data.withUnsafeBufferPointer { pg in
                    buffer.withUnsafeMutableBufferPointer { pb in
                        for i in 0..<pp.count {
                            var d = pg[i]
                            if wd != 0 { d += wd * pp[i] }
                            if mu != 0 {
                                pb[i] = isFirst ? d : mu * pb[i] + d
                                d = nesterov ? d + mu * pb[i] : pb[i]
                            }
                            pp[i] -= lr * d
                        }
                    }
                }
            }
            if mu != 0 { momentumBuffers[index] = buffer }
        }
    }

    /// Clears the gradients of all parameters.
    public func zeroGradients() { for p in parameters { p.grad = nil } }

    /// The checkpoint slot of ``momentumBuffers`` (tensors `optimizer.momentum_buffer.<parameter>`, as in earlier
    /// versions and in checkpoints converted from v1).
    public static let momentumSlot = "momentum_buffer"

    /// ``momentumBuffers`` under ``momentumSlot``.
    public var stateBuffers: [String: [[Float]?]] { [Self.momentumSlot: momentumBuffers] }

    /// Restores ``momentumBuffers`` (a missing slot means no momentum yet).
    /// - Throws: ``OptimizerStateError`` when a buffer does not fit its parameter.
    public func restoreStateBuffers(_ buffers: [String: [[Float]?]]) throws {
        let checked = try validated(buffers, slots: [Self.momentumSlot]) { _, index in parameters[index].count }
        momentumBuffers = checked[Self.momentumSlot] ?? momentumBuffers
    }
}

extension SGD: CustomStringConvertible {
    /// The settings, for the training log: `SGD(momentum 0.99, nesterov, weight decay 3e-05)`.
    public var description: String {
        "SGD(momentum \(momentum)\(nesterov ? ", nesterov" : ""), weight decay \(weightDecay))"
    }
}
