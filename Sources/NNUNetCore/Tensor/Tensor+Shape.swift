// Shape ops: reshape, concatenation, slicing (cropping), zero padding and one-hot encoding.

extension Tensor {
    /// The same values with a new shape of equal element count; one extent may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let unknown = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != unknown }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "reshaped: cannot reshape \(shape) to \(newShape)")
            target[unknown] = count / known
        }
        precondition(target.reduce(1, *) == count, "reshaped: cannot reshape \(shape) to \(newShape)")
        let inputShape = shape
        return Tensor.record("reshape", shape: target, data: data, inputs: [self]) { g in
            [Tensor(shape: inputShape, data: g.data)]
        }
    }

    /// A sub-box: `ranges[axis]` along each axis (axes beyond `ranges.count` are kept whole). Used for cropping.
    ///
    /// - Precondition: each range lies inside its axis.
    public func sliced(_ ranges: [Range<Int>]) -> Tensor {
        precondition(ranges.count <= rank, "sliced: \(ranges.count) ranges for shape \(shape)")
        let full = (0..<rank).map { $0 < ranges.count ? ranges[$0] : 0..<shape[$0] }
        for (axis, range) in full.enumerated() {
            precondition(range.lowerBound >= 0 && range.upperBound <= shape[axis],
                         "sliced: range \(range) outside axis \(axis) of shape \(shape)")
        }
        let outShape = full.map(\.count)
        let start = full.map(\.lowerBound)
        let inputShape = shape
        let out = Tensor.copyBox(data, shape: shape, start: start, into: outShape, at: [Int](repeating: 0, count: rank),
                                 size: outShape)
        return Tensor.record("slice", shape: outShape, data: out, inputs: [self]) { g in
            [Tensor(shape: inputShape, data: Tensor.copyBox(g.data, shape: outShape,
                                                            start: [Int](repeating: 0, count: outShape.count),
                                                            into: inputShape, at: start, size: outShape))]
        }
    }

    /// Zero padding: `padding[axis] = (before, after)` for the leading axes (missing axes get no padding).
    public func padded(_ padding: [(before: Int, after: Int)]) -> Tensor {
        precondition(padding.count <= rank, "padded: \(padding.count) paddings for shape \(shape)")
        let full = (0..<rank).map { $0 < padding.count ? padding[$0] : (before: 0, after: 0) }
        precondition(full.allSatisfy { $0.before >= 0 && $0.after >= 0 }, "padded: negative padding for \(shape)")
        let outShape = (0..<rank).map { shape[$0] + full[$0].before + full[$0].after }
        let start = full.map(\.before)
        let inputShape = shape
        let out = Tensor.copyBox(data, shape: shape, start: [Int](repeating: 0, count: rank), into: outShape,
                                 at: start, size: shape)
        return Tensor.record("pad", shape: outShape, data: out, inputs: [self]) { g in
            [Tensor(shape: inputShape, data: Tensor.copyBox(g.data, shape: outShape, start: start, into: inputShape,
                                                            at: [Int](repeating: 0, count: inputShape.count),
                                                            size: inputShape))]
        }
    }

    /// Copies a box of `src` into a new zero-filled buffer of shape `dstShape`.
    static func copyBox(_ src: [Float], shape: [Int], start: [Int], into dstShape: [Int], at dstStart: [Int],
                        size: [Int]) -> [Float] {
        var out = [Float](repeating: 0, count: dstShape.reduce(1, *))
        src.withUnsafeBufferPointer { ps in
            out.withUnsafeMutableBufferPointer { po in
                guard let bs = ps.baseAddress, let bo = po.baseAddress else { return }
                Kernels.copyBox(from: bs, srcShape: shape, srcStart: start, to: bo, dstShape: dstShape,
                                dstStart: dstStart, size: size)
            }
        }
        return out
    }

    /// One-hot encoding of integer labels along `axis`: labels of shape `[N, 1, spatial...]` (nnU-Net's target
    /// layout) become `[N, classCount, spatial...]` with 1 at the label's channel. Not differentiable.
    ///
    /// - Precondition: `labels.shape[axis] == 1` and every label is an integer in `0..<classCount`.
    public static func oneHot(_ labels: Tensor, classCount: Int, axis: Int = 1) -> Tensor {
        let a = labels.normalizedAxis(axis, op: "oneHot")
        precondition(labels.shape[a] == 1, "oneHot: labels of shape \(labels.shape) must have extent 1 at axis \(a)")
        let outer = labels.shape[..<a].reduce(1, *), inner = labels.shape[(a + 1)...].reduce(1, *)
        var out = [Float](repeating: 0, count: outer * classCount * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                let value = labels.data[o * inner + i]
                let label = Int(value)
                precondition(Float(label) == value && label >= 0 && label < classCount,
                             "oneHot: label \(value) is not an integer in 0..<\(classCount)")
                out[(o * classCount + label) * inner + i] = 1
            }
        }
        var outShape = labels.shape
        outShape[a] = classCount
        return Tensor(shape: outShape, data: out)
    }
}

/// Concatenates tensors along `axis` (default 1: channels, e.g. nnU-Net's `cat([upsampled, skip], dim=1)`).
///
/// Shapes must agree on every other axis. Differentiable: each input receives its slice of the gradient.
public func concat(_ tensors: [Tensor], axis: Int = 1) -> Tensor {
    precondition(!tensors.isEmpty, "concat: no tensors")
    let first = tensors[0]
    let a = first.normalizedAxis(axis, op: "concat")
    for t in tensors.dropFirst() {
        precondition(t.rank == first.rank && (0..<first.rank).allSatisfy { $0 == a || t.shape[$0] == first.shape[$0] },
                     "concat: shapes \(first.shape) and \(t.shape) differ outside axis \(a)")
    }
    var outShape = first.shape
    outShape[a] = tensors.reduce(0) { $0 + $1.shape[a] }
    var out = [Float](repeating: 0, count: outShape.reduce(1, *))
    var offsets: [Int] = []
    var offset = 0
    out.withUnsafeMutableBufferPointer { po in
        guard let bo = po.baseAddress else { return }
        for t in tensors {
            offsets.append(offset)
            var dstStart = [Int](repeating: 0, count: first.rank)
            dstStart[a] = offset
            t.data.withUnsafeBufferPointer { ps in
                guard let bs = ps.baseAddress else { return }
                Kernels.copyBox(from: bs, srcShape: t.shape, srcStart: [Int](repeating: 0, count: t.rank), to: bo,
                                dstShape: outShape, dstStart: dstStart, size: t.shape)
            }
            offset += t.shape[a]
        }
    }
    let shapes = tensors.map(\.shape)
    return Tensor.record("concat", shape: outShape, data: out, inputs: tensors) { g in
        zip(shapes, offsets).map { shape, offset in
            var start = [Int](repeating: 0, count: shape.count)
            start[a] = offset
            return Tensor(shape: shape, data: Tensor.copyBox(g.data, shape: outShape, start: start, into: shape,
                                                             at: [Int](repeating: 0, count: shape.count),
                                                             size: shape))
        }
    }
}
