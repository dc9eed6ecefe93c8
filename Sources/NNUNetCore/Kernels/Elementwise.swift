/// Elementwise kernels on flat C-order buffers, with numpy broadcasting.
///
/// Layout: any rank; a broadcast operand has stride 0 along the axes it is broadcast over. Large same-shape
/// operations are split over threads with `parallelFor`.
enum Kernels {
    /// Below this many elements an elementwise op runs on one thread.
    static let parallelThreshold = 1 << 16

    enum BinaryOperation { case add, subtract, multiply, divide }

    /// `a + b` for equal-length buffers.
    static func added(_ a: [Float], _ b: [Float]) -> [Float] {
        binarySameShape(a, b, .add)
    }

    /// The broadcast shape of two shapes (numpy rules, aligned on the right), or nil if they do not broadcast.
    static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let x = i - (rank - a.count) >= 0 ? a[i - (rank - a.count)] : 1
            let y = i - (rank - b.count) >= 0 ? b[i - (rank - b.count)] : 1
            if x == y || y == 1 { result[i] = x } else if x == 1 { result[i] = y } else { return nil }
        }
        return result
    }

    /// Strides of `shape` seen through `outShape` (0 along broadcast axes).
    static func broadcastStrides(_ shape: [Int], to outShape: [Int]) -> [Int] {
        let own = Tensor.strides(of: shape)
        let offset = outShape.count - shape.count
        return (0..<outShape.count).map { i in
            let j = i - offset
            return j >= 0 && shape[j] != 1 ? own[j] : 0
        }
    }

    @inline(__always)
    static func apply(_ op: BinaryOperation, count: Int, _ a: UnsafePointer<Float>, _ sa: Int,
                      _ b: UnsafePointer<Float>, _ sb: Int, _ out: UnsafeMutablePointer<Float>) {
        switch op {
        case .add: rowLoop(count, a, sa, b, sb, out) { $0 + $1 }
        case .subtract: rowLoop(count, a, sa, b, sb, out) { $0 - $1 }
        case .multiply: rowLoop(count, a, sa, b, sb, out) { $0 * $1 }
        case .divide: rowLoop(count, a, sa, b, sb, out) { $0 / $1 }
        }
    }

    @inline(__always)
    static func rowLoop(_ count: Int, _ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int,
                        _ out: UnsafeMutablePointer<Float>, _ f: (Float, Float) -> Float) {
        if sa == 1 && sb == 1 {
            for i in 0..<count { out[i] = f(a[i], b[i]) }
        } else if sa == 1 && sb == 0 {
            let y = b[0]
            for i in 0..<count { out[i] = f(a[i], y) }
        } else if sa == 0 && sb == 1 {
            let x = a[0]
            for i in 0..<count { out[i] = f(x, b[i]) }
        } else {
            for i in 0..<count { out[i] = f(a[i * sa], b[i * sb]) }
        }
    }

    static func binarySameShape(_ a: [Float], _ b: [Float], _ op: BinaryOperation) -> [Float] {
        precondition(a.count == b.count, "binary op: \(a.count) and \(b.count) elements")
        let count = a.count
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    guard let ba = pa.baseAddress, let bb = pb.baseAddress, let bo = out.baseAddress else { return }
                    let threads = count >= parallelThreshold ? ThreadSettings.defaultThreads : 1
                    parallelFor(count, threads: threads, minimumChunk: 4096) { range in
                        apply(op, count: range.count, ba + range.lowerBound, 1, bb + range.lowerBound, 1,
                              bo + range.lowerBound)
                    }
                }
            }
            initialized = count
        }
    }

    /// `op(a, b)` with broadcasting; `outShape` must be ``broadcastShape(_:_:)`` of the two shapes.
    static func binary(_ a: [Float], _ aShape: [Int], _ b: [Float], _ bShape: [Int], outShape: [Int],
                       _ op: BinaryOperation) -> [Float] {
        if aShape == bShape { return binarySameShape(a, b, op) }
        let count = outShape.reduce(1, *)
        let rank = outShape.count
        if count == 0 { return [] }
        let sa = broadcastStrides(aShape, to: outShape), sb = broadcastStrides(bShape, to: outShape)
        let inner = rank == 0 ? 1 : outShape[rank - 1]
        let innerA = rank == 0 ? 0 : sa[rank - 1], innerB = rank == 0 ? 0 : sb[rank - 1]
        let rows = count / max(inner, 1)
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    guard let ba = pa.baseAddress, let bb = pb.baseAddress, let bo = out.baseAddress else { return }
                    let threads = count >= parallelThreshold ? ThreadSettings.defaultThreads : 1
                    parallelFor(rows, threads: threads) { range in
                        for row in range {
                            // Offsets of this row in a and b from its multi-index.
                            var rest = row, offA = 0, offB = 0
                            var axis = rank - 2
                            while axis >= 0 {
                                let i = rest % outShape[axis]
                                rest /= outShape[axis]
                                offA += i * sa[axis]
                                offB += i * sb[axis]
                                axis -= 1
                            }
                            apply(op, count: inner, ba + offA, innerA, bb + offB, innerB, bo + row * inner)
                        }
                    }
                }
            }
            initialized = count
        }
    }

    /// Applies `f` to every element (single pass, threaded for large buffers).
    @inline(__always)
    static func map(_ a: [Float], _ f: (Float) -> Float) -> [Float] {
        let count = a.count
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            a.withUnsafeBufferPointer { pa in
                guard let ba = pa.baseAddress, let bo = out.baseAddress else { return }
                let threads = count >= parallelThreshold ? ThreadSettings.defaultThreads : 1
                parallelFor(count, threads: threads, minimumChunk: 4096) { range in
                    for i in range { bo[i] = f(ba[i]) }
                }
            }
            initialized = count
        }
    }

    /// Combines two equal-length buffers with `f` (threaded for large buffers).
    @inline(__always)
    static func zipMap(_ a: [Float], _ b: [Float], _ f: (Float, Float) -> Float) -> [Float] {
        precondition(a.count == b.count, "zipMap: \(a.count) and \(b.count) elements")
        let count = a.count
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    guard let ba = pa.baseAddress, let bb = pb.baseAddress, let bo = out.baseAddress else { return }
                    let threads = count >= parallelThreshold ? ThreadSettings.defaultThreads : 1
                    parallelFor(count, threads: threads, minimumChunk: 4096) { range in
                        for i in range { bo[i] = f(ba[i], bb[i]) }
                    }
                }
            }
            initialized = count
        }
    }
}

extension Kernels {
    /// Leaky ReLU in place: negative values are multiplied by `negativeSlope` (threaded for large buffers).
    static func leakyReLUInPlace(_ values: inout [Float], negativeSlope: Float) {
        let count = values.count
        values.withUnsafeMutableBufferPointer { pv in
            guard let bv = pv.baseAddress else { return }
            let box = UnsafeSendableBox(bv)
            let threads = count >= parallelThreshold ? ThreadSettings.defaultThreads : 1
            parallelFor(count, threads: threads, minimumChunk: 4096) { range in
                // A select rather than a branch, so the loop vectorises (same values: v < 0 → v · slope).
                let values = box.value
                for i in range {
                    let v = values[i]
                    values[i] = v < 0 ? v * negativeSlope : v
                }
            }
        }
    }

    /// A buffer of `count` floats that the caller fully overwrites (skips the zero fill of large outputs). Float is a
    /// trivial type, so the unwritten contents are merely unspecified values; kernels using this write every element.
    static func overwrittenBuffer(count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }
}
