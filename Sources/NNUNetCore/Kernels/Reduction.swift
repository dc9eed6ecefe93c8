extension Kernels {
    /// Sums `x` (C order, `shape`) over the axes where `keep[axis]` is false; the result has extent 1 there.
    ///
    /// Accumulates in Float64 so that sums over whole volumes (millions of voxels) keep float32 accuracy. The work is
    /// split over the leading kept axes when there are several output rows.
    static func sum(_ x: [Float], shape: [Int], reduce: [Bool]) -> [Float] {
        let rank = shape.count
        let outShape = (0..<rank).map { reduce[$0] ? 1 : shape[$0] }
        let outCount = outShape.reduce(1, *)
        if x.isEmpty { return [Float](repeating: 0, count: outCount) }
        // Merge into a canonical form: iterate the input; the output offset uses strides that are 0 on reduced axes.
        let outStrides = Tensor.strides(of: outShape)
        let inner = rank == 0 ? 1 : shape[rank - 1]
        let innerReduced = rank == 0 ? true : reduce[rank - 1]
        if outCount == 1 && x.count >= parallelThreshold {
            return [Float(totalSum(x))]
        }
        var acc = [Double](repeating: 0, count: outCount)
        let rows = x.count / max(inner, 1)
        x.withUnsafeBufferPointer { px in
            acc.withUnsafeMutableBufferPointer { pacc in
                guard let bx = px.baseAddress, let bacc = pacc.baseAddress else { return }
                for row in 0..<rows {
                    var rest = row, offset = 0
                    var axis = rank - 2
                    while axis >= 0 {
                        let i = rest % shape[axis]
                        rest /= shape[axis]
                        if !reduce[axis] { offset += i * outStrides[axis] }
                        axis -= 1
                    }
                    let src = bx + row * inner
                    if innerReduced {
                        var s0 = 0.0, s1 = 0.0
                        var i = 0
                        while i + 1 < inner { s0 += Double(src[i]); s1 += Double(src[i + 1]); i += 2 }
                        if i < inner { s0 += Double(src[i]) }
                        bacc[offset] += s0 + s1
                    } else {
                        let dst = bacc + offset
                        for i in 0..<inner { dst[i] += Double(src[i]) }
                    }
                }
            }
        }
        return acc.map { Float($0) }
    }

    /// Broadcasts `x` of `shape` to `outShape` (copies).
    static func broadcast(_ x: [Float], shape: [Int], to outShape: [Int]) -> [Float] {
        if shape == outShape { return x }
        if x.count == 1 { return [Float](repeating: x[0], count: outShape.reduce(1, *)) }
        let zero = [Float](repeating: 0, count: 1)
        return binary(x, shape, zero, [], outShape: outShape, .add)
    }

    /// Sum of all elements in Float64, split over threads in fixed chunks (combined in chunk order).
    static func totalSum(_ x: [Float]) -> Double {
        let chunks = max(1, min(ThreadSettings.defaultThreads, x.count / 65_536))
        var partial = [Double](repeating: 0, count: chunks)
        x.withUnsafeBufferPointer { px in
            partial.withUnsafeMutableBufferPointer { pp in
                guard let bx = px.baseAddress, let bp = pp.baseAddress else { return }
                let output = UnsafeSendableBox(bp)
                parallelFor(chunks, threads: chunks) { range in
                    for chunk in range {
                        let start = chunk * x.count / chunks, end = (chunk + 1) * x.count / chunks
                        var s0 = 0.0, s1 = 0.0
                        var i = start
                        while i + 1 < end { s0 += Double(bx[i]); s1 += Double(bx[i + 1]); i += 2 }
                        if i < end { s0 += Double(bx[i]) }
                        output.value[chunk] = s0 + s1
                    }
                }
            }
        }
        return partial.reduce(0, +)
    }
}
