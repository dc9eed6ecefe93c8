/// Whether ops record the autograd graph. Task-local (and so thread-local for synchronous code), never global.
enum GradientMode {
    @TaskLocal static var isEnabled = true
}

/// Runs `body` without recording gradients, like PyTorch's `torch.no_grad()`: results of ops inside have no graph,
/// which saves memory and time during inference and validation.
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
    try GradientMode.$isEnabled.withValue(false) { try body() }
}

/// Whether gradients are currently recorded (false inside ``withoutGradients(_:)``).
public var isRecordingGradients: Bool { GradientMode.isEnabled }

extension Tensor {
    /// Builds the result of an op and, when recording and some input requires gradients, attaches the backward rule.
    ///
    /// This is the tape: each result remembers its inputs and rule, and ``backward()`` replays them in reverse
    /// topological order.
    static func record(_ name: String, shape: [Int], data: [Float], inputs: [Tensor],
                       backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        let result = Tensor(shape: shape, data: data)
        if GradientMode.isEnabled, inputs.contains(where: { $0.requiresGrad }) {
            result.requiresGrad = true
            result.node = GradientNode(name: name, inputs: inputs, backward: backward)
        }
        return result
    }

    /// Whether recording is on and some of `inputs` require gradients (ops use it to skip saving backward state).
    static func needsGradient(_ inputs: Tensor...) -> Bool {
        GradientMode.isEnabled && inputs.contains { $0.requiresGrad }
    }

    /// Reverse-mode differentiation from this tensor: accumulates d(self)/d(leaf) into ``grad`` of every leaf that
    /// requires gradients (gradients add up over calls, as in PyTorch; reset them with `grad = nil`).
    ///
    /// - Parameter gradient: the seed gradient; defaults to ones, which for a scalar loss gives d(loss)/d(leaf).
    /// The graph is released afterwards (PyTorch's `retain_graph=False`): call `backward()` once per forward.
    public func backward(gradient: Tensor? = nil) {
        precondition(requiresGrad, "backward: tensor of shape \(shape) does not require gradients")
        let seed = gradient ?? Tensor(repeating: 1, shape: shape)
        precondition(seed.shape == shape, "backward: gradient shape \(seed.shape) does not match tensor shape \(shape)")

        // Topological order by iterative depth-first search.
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (tensor, expanded) = stack.popLast() {
            if expanded { order.append(tensor); continue }
            if visited.contains(ObjectIdentifier(tensor)) { continue }
            visited.insert(ObjectIdentifier(tensor))
            stack.append((tensor, true))
            if let node = tensor.node {
                for input in node.inputs where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                    stack.append((input, false))
                }
            }
        }

        withoutGradients {
            var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
            // Each tensor is let go once its node has run: its consumers ran before it, so nothing of the graph needs
            // its values any more, and an intermediate that the caller does not hold is freed during the backward
            // instead of at its end.
            var pending: [Tensor?] = order
            order = []
            for index in pending.indices.reversed() {
                guard let tensor = pending[index] else { continue }
                pending[index] = nil
                let id = ObjectIdentifier(tensor)
                guard let g = grads.removeValue(forKey: id) else { continue }
                guard let node = tensor.node else {
                    // A leaf: accumulate.
                    if let existing = tensor.grad {
                        tensor.grad = Tensor(shape: tensor.shape, data: zip(existing.data, g.data).map { $0 + $1 })
                    } else {
                        tensor.grad = Tensor(shape: tensor.shape, data: g.data)
                    }
                    continue
                }
                let inputGrads = node.backward(g)
                for (input, inputGrad) in zip(node.inputs, inputGrads) {
                    guard input.requiresGrad, let inputGrad else { continue }
                    precondition(inputGrad.shape == input.shape,
                                 "backward of \(node.name): gradient shape \(inputGrad.shape) for input \(input.shape)")
                    let inputID = ObjectIdentifier(input)
                    if let existing = grads[inputID] {
                        grads[inputID] = Tensor(shape: input.shape, data: Kernels.added(existing.data, inputGrad.data))
                    } else {
                        grads[inputID] = inputGrad
                    }
                }
                tensor.node = nil  // release the graph as we go
            }
        }
    }
}
