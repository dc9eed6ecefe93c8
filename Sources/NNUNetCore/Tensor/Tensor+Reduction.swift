// Reductions: sum and mean over chosen axes, argmax, and the broadcast helpers the backward rules use.

extension Tensor {
    /// Sum over `axes` (all axes when nil).
    ///
    /// - Parameters:
    ///   - axes: the axes to reduce; negative values count from the end. Duplicates are ignored.
    ///   - keepDims: keep reduced axes with extent 1 (default false: they are removed).
    /// - Returns: shape of `self` without (or with extent 1 at) the reduced axes; a scalar `[]` for a full sum.
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        var reduce = [Bool](repeating: axes == nil, count: rank)
        for axis in axes ?? [] { reduce[normalizedAxis(axis, op: "sum")] = true }
        let keptShape = (0..<rank).map { reduce[$0] ? 1 : shape[$0] }
        let outShape = keepDims ? keptShape : (0..<rank).filter { !reduce[$0] }.map { shape[$0] }
        let data = Kernels.sum(self.data, shape: shape, reduce: reduce)
        let inputShape = shape
        return Tensor.record("sum", shape: outShape, data: data, inputs: [self]) { g in
            [Tensor(shape: inputShape, data: Kernels.broadcast(g.data, shape: keptShape, to: inputShape))]
        }
    }

    /// Mean over `axes` (all axes when nil); see ``sum(axes:keepDims:)``.
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        var reduce = [Bool](repeating: axes == nil, count: rank)
        for axis in axes ?? [] { reduce[normalizedAxis(axis, op: "mean")] = true }
        let n = (0..<rank).filter { reduce[$0] }.map { shape[$0] }.reduce(1, *)
        return sum(axes: axes, keepDims: keepDims) * (1 / Float(max(n, 1)))
    }

    /// The gradient of a broadcast: sums `self` down to `target` (a shape that broadcasts to `self.shape`).
    func summed(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        let offset = rank - target.count
        precondition(offset >= 0, "summed(toShape:): \(target) has more axes than \(shape)")
        var reduce = [Bool](repeating: false, count: rank)
        for axis in 0..<rank where axis < offset || (target[axis - offset] == 1 && shape[axis] != 1) {
            reduce[axis] = true
        }
        let data = Kernels.sum(self.data, shape: shape, reduce: reduce)
        return Tensor(shape: target, data: data)
    }

    /// A copy broadcast to `shape` (numpy rules); differentiable.
    public func broadcast(to outShape: [Int]) -> Tensor {
        guard Kernels.broadcastShape(shape, outShape) == outShape else {
            preconditionFailure("broadcast: shape \(shape) does not broadcast to \(outShape)")
        }
        let inputShape = shape
        return Tensor.record("broadcast", shape: outShape,
                             data: Kernels.broadcast(data, shape: shape, to: outShape), inputs: [self]) { g in
            [g.summed(toShape: inputShape)]
        }
    }

    /// Index of the largest value along `axis` (the first one on ties, like numpy), as Float values.
    ///
    /// Shape: `self.shape` without `axis` (e.g. softmax `NCDHW` → segmentation `NDHW` with `axis: 1`). Not
    /// differentiable.
    public func argmax(axis: Int = 1) -> Tensor {
        let a = normalizedAxis(axis, op: "argmax")
        let outer = shape[..<a].reduce(1, *), n = shape[a], inner = shape[(a + 1)...].reduce(1, *)
        precondition(n > 0, "argmax: axis \(axis) of shape \(shape) is empty")
        var out = [Float](repeating: 0, count: outer * inner)
        data.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { po in
                guard let bx = px.baseAddress, let bo = po.baseAddress else { return }
                parallelFor(outer * inner, threads: outer * inner >= Kernels.parallelThreshold
                            ? ThreadSettings.defaultThreads : 1) { range in
                    for index in range {
                        let o = index / inner, i = index % inner
                        let base = bx + o * n * inner + i
                        var best = base[0], bestIndex = 0
                        for c in 1..<n where base[c * inner] > best {
                            best = base[c * inner]
                            bestIndex = c
                        }
                        bo[index] = Float(bestIndex)
                    }
                }
            }
        }
        var outShape = shape
        outShape.remove(at: a)
        return Tensor(shape: outShape, data: out)
    }
}
