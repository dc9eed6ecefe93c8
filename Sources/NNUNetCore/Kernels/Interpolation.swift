import Foundation

/// Resampling kernels with scikit-image `resize` semantics, shared by preprocessing and augmentation.
///
/// Layout: every array is one channel in C order; `shape` is (z, y, x) for a volume or (y, x) for an image (a 2D
/// image is handled as a 1 x Y x X volume). The output grid is pixel-centre aligned: output index `j` along an axis of
/// input length `n` and output length `m` samples the input at `c = (j + 0.5) * n / m - 0.5` (scipy `zoom` with
/// `grid_mode=True`, which is what `skimage.transform.resize` calls since 0.19).
///
/// - Order 3 (``resizeCubic(_:shape:to:clipSlicesAlong:threads:)``): cubic B-spline with spline prefiltering, `edge`
///   boundary (scipy pads 12 edge voxels before prefiltering, so do we), output clipped to the input's range. Computed
///   separably (one pass per axis) in Double, which equals scipy's tensor-product evaluation up to rounding; the
///   results between passes stay Double and only the last pass rounds to Float, as v1 rounds scipy's float64 result
///   once (a Float between passes changes the last bit of about one in ten voxels).
/// - Order 1 for label maps (``resizeSegmentation(_:shape:to:threads:)``): batchgenerators 0.25.5's rule, each
///   label's indicator interpolated linearly, the label with the largest value wins, exact ties go to the
///   nearest-neighbour label (else the smallest tied label). The per-voxel sums are formed in scipy's order so that
///   exact ties are reproduced.
/// - Order 0 (``resizeNearest(_:shape:to:)``, ``resampleNearest(_:shape:axis:to:)``): nearest neighbour,
///   `floor(c + 0.5)` after clamping `c` to the input.
///
/// Port of v1 `preprocessing/preprocessing.py` `resample_data_or_seg` (see ``resampleLikeNNUNet(_:shape:to:isSegmentation:separateAxis:threads:)``).
public enum Resampling {
    /// The B-spline prefilter pole for order 3 (sqrt(3) - 2) and scipy's edge prepadding.
    static let pole = 3.0.squareRoot() - 2.0
    static let padding = 12

    // MARK: - Order 3

    /// Resizes one channel with an order-3 B-spline (skimage `resize(order=3, mode='edge', anti_aliasing=False)`).
    ///
    /// - Parameters:
    ///   - input: values, C order, `shape.reduce(1, *)` of them.
    ///   - shape: (z, y, x) or (y, x).
    ///   - newShape: output shape, same rank.
    ///   - clipSlicesAlong: nil clips the output to the input's min/max (skimage `clip=True`); an axis clips each
    ///     slice along that axis to the range of the corresponding input slice (used by the separate-z path, whose
    ///     in-plane resize is 2D per slice; the axis must keep its length).
    ///   - threads: worker threads.
    /// - Returns: the resized channel in C order.
    public static func resizeCubic(_ input: [Float], shape: [Int], to newShape: [Int], clipSlicesAlong: Int? = nil,
                                   threads: Int = ThreadSettings.defaultThreads) -> [Float] {
        precondition(shape.count == newShape.count && (2...3).contains(shape.count),
                     "resizeCubic: shape \(shape) and new shape \(newShape) must both be 2D or 3D")
        precondition(input.count == shape.reduce(1, *), "resizeCubic: \(input.count) values for shape \(shape)")
        if shape == newShape { return input }
        // Passes run from the last axis to the first; between passes the values stay Double.
        let axes = (0..<shape.count).reversed().filter { shape[$0] != newShape[$0] }
        var current = input, wide: [Double] = [], currentShape = shape
        for (k, axis) in axes.enumerated() {
            let outer = currentShape[..<axis].reduce(1, *), inner = currentShape[(axis + 1)...].reduce(1, *)
            let n = currentShape[axis], m = newShape[axis], isLast = k == axes.count - 1
            switch (k == 0, isLast) {
            case (true, true): current = splinePass(input, outer: outer, n: n, inner: inner, m: m, threads: threads)
            case (true, false): wide = splinePass(input, outer: outer, n: n, inner: inner, m: m, threads: threads)
            case (false, true): current = splinePass(wide, outer: outer, n: n, inner: inner, m: m, threads: threads)
            case (false, false): wide = splinePass(wide, outer: outer, n: n, inner: inner, m: m, threads: threads)
            }
            currentShape[axis] = m
        }
        clip(&current, newShape: newShape, like: input, shape: shape, alongAxis: clipSlicesAlong)
        return current
    }

    /// One separable pass along the middle axis of an (outer, n, inner) array: edge-pad, prefilter, interpolate.
    /// Source and result are Float or Double (the arithmetic is Double either way).
    static func splinePass<Source: BinaryFloatingPoint, Result: BinaryFloatingPoint>(
        _ source: [Source], outer: Int, n: Int, inner: Int, m: Int, threads: Int) -> [Result] {
        let length = n + 2 * padding
        let zoom = Double(n) / Double(m)
        // Per output index: first tap (in padded coordinates) and the four weights (scipy's formulas).
        var starts = [Int](repeating: 0, count: m)
        var weights = [Double](repeating: 0, count: 4 * m)
        for j in 0..<m {
            let c = min(max((Double(j) + 0.5) * zoom - 0.5 + Double(padding), 0), Double(length - 1))
            let f = c.rounded(.down)
            starts[j] = Int(f) - 1
            let y = c - f, z = 1 - y
            let w1 = (y * y * (y - 2) * 3 + 4) / 6, w2 = (z * z * (z - 2) * 3 + 4) / 6, w0 = z * z * z / 6
            weights[4 * j] = w0; weights[4 * j + 1] = w1; weights[4 * j + 2] = w2
            weights[4 * j + 3] = 1 - w0 - w1 - w2
        }
        let block = inner == 1 ? 1 : min(inner, 64)
        let blocksPerOuter = (inner + block - 1) / block
        var output = [Result](repeating: 0, count: outer * m * inner)
        source.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                let s = src.baseAddress!, d = UnsafeSendableBox(dst.baseAddress!)
                starts.withUnsafeBufferPointer { st in
                    weights.withUnsafeBufferPointer { wt in
                        parallelFor(outer * blocksPerOuter, threads: threads) { range in
                            let buffer = UnsafeMutablePointer<Double>.allocate(capacity: length * block)
                            defer { buffer.deallocate() }
                            for unit in range {
                                let o = unit / blocksPerOuter, i0 = (unit % blocksPerOuter) * block
                                let width = min(block, inner - i0)
                                let base = s + o * n * inner + i0
                                // Fill with edge padding, times the filter gain 6 = (1 - z)(1 - 1/z).
                                for r in 0..<length {
                                    let sr = min(max(r - padding, 0), n - 1)
                                    let from = base + sr * inner, to = buffer + r * width
                                    for i in 0..<width { to[i] = 6 * Double(from[i]) }
                                }
                                prefilter(buffer, length: length, width: width)
                                let out = d.value + o * m * inner + i0
                                for j in 0..<m {
                                    let b = buffer + st[j] * width
                                    let w0 = wt[4 * j], w1 = wt[4 * j + 1], w2 = wt[4 * j + 2], w3 = wt[4 * j + 3]
                                    let target = out + j * inner
                                    for i in 0..<width {
                                        target[i] = Result(w0 * b[i] + w1 * b[width + i] + w2 * b[2 * width + i]
                                                           + w3 * b[3 * width + i])
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// In-place cubic B-spline prefilter of `width` interleaved lines of `length` samples (causal then anticausal
    /// recursion; mirror initialisation, truncated as scipy does at 1e-15).
    static func prefilter(_ c: UnsafeMutablePointer<Double>, length: Int, width: Int) {
        let z = pole
        if length == 1 { return }
        // Causal initial value: sum_k z^k c[k] (truncated; the 12 padded edge samples make the boundary rule moot).
        let terms = min(length, 30)
        for i in 0..<width {
            var sum = c[i], zi = z
            for k in 1..<terms {
                sum += zi * c[k * width + i]
                zi *= z
            }
            c[i] = sum
        }
        for r in 1..<length {
            let row = c + r * width, previous = c + (r - 1) * width
            for i in 0..<width { row[i] += z * previous[i] }
        }
        let last = c + (length - 1) * width, beforeLast = c + (length - 2) * width
        for i in 0..<width { last[i] = z / (z * z - 1) * (z * beforeLast[i] + last[i]) }
        var r = length - 2
        while r >= 0 {
            let row = c + r * width, next = c + (r + 1) * width
            for i in 0..<width { row[i] = z * (next[i] - row[i]) }
            r -= 1
        }
    }

    /// Clamps `values` (shape `newShape`) to the range of `input` (whole array or per slice along an axis).
    static func clip(_ values: inout [Float], newShape: [Int], like input: [Float], shape: [Int], alongAxis: Int?) {
        guard let axis = alongAxis else {
            guard let lo = input.min(), let hi = input.max() else { return }
            for i in values.indices { values[i] = min(max(values[i], lo), hi) }
            return
        }
        precondition(shape[axis] == newShape[axis], "clip per slice needs an unchanged axis \(axis)")
        let outer = shape[..<axis].reduce(1, *), n = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *), newInner = newShape[(axis + 1)...].reduce(1, *)
        var lo = [Float](repeating: .infinity, count: n), hi = [Float](repeating: -.infinity, count: n)
        for o in 0..<outer {
            for s in 0..<n {
                let base = (o * n + s) * inner
                for i in 0..<inner { lo[s] = min(lo[s], input[base + i]); hi[s] = max(hi[s], input[base + i]) }
            }
        }
        let newOuter = newShape[..<axis].reduce(1, *)
        for o in 0..<newOuter {
            for s in 0..<n {
                let base = (o * n + s) * newInner
                for i in 0..<newInner { values[base + i] = min(max(values[base + i], lo[s]), hi[s]) }
            }
        }
    }

    // MARK: - Order 1 (label maps) and order 0

    /// Per-axis sampling table for orders 0 and 1 (scipy `zoom`, `grid_mode=True`, mode `nearest`).
    struct LinearTable {
        var low: [Int], high: [Int], weightLow: [Double], weightHigh: [Double], nearest: [Int]
        init(n: Int, m: Int) {
            low = []; high = []; weightLow = []; weightHigh = []; nearest = []
            let zoom = Double(n) / Double(m)
            for j in 0..<m {
                let c = min(max((Double(j) + 0.5) * zoom - 0.5, 0), Double(n - 1))
                let f = c.rounded(.down)
                let lo = Int(f)
                let w0 = 1 - (c - f)
                low.append(lo)
                high.append(lo + 1 < n ? lo + 1 : (n > 1 ? n - 2 : 0))
                weightLow.append(w0)
                weightHigh.append(1 - w0)
                nearest.append(min(Int((c + 0.5).rounded(.down)), n - 1))
            }
        }
    }

    static func as3D(_ shape: [Int]) -> [Int] { shape.count == 3 ? shape : [1] + shape }

    /// Resizes a label map with order 1 (batchgenerators 0.25.5 `resize_segmentation`, `seg_tiebreak='nearest'`).
    ///
    /// - Parameters:
    ///   - input: label values (integers stored as Float, e.g. -1, 0, 1, 2), C order.
    ///   - shape: the input's shape, (z, y, x) or (y, x).
    ///   - newShape: the output's shape, of the same rank.
    ///   - threads: worker threads.
    /// - Returns: label values of the resized map (only values present in the input occur).
    public static func resizeSegmentation(_ input: [Float], shape: [Int], to newShape: [Int],
                                          threads: Int = ThreadSettings.defaultThreads) -> [Float] {
        precondition(shape.count == newShape.count && input.count == shape.reduce(1, *),
                     "resizeSegmentation: \(input.count) values, shape \(shape), new shape \(newShape)")
        if shape == newShape { return input }
        let labels = uniqueValues(input)
        let outCount = newShape.reduce(1, *)
        if labels.count <= 1 { return [Float](repeating: labels.first ?? 0, count: outCount) }
        let s = as3D(shape), t = as3D(newShape)
        let tz = LinearTable(n: s[0], m: t[0]), ty = LinearTable(n: s[1], m: t[1]), tx = LinearTable(n: s[2], m: t[2])
        // Label indices (ascending label order) of the input.
        var index = [Int: UInt8]()
        for (k, label) in labels.enumerated() { index[Int(label)] = UInt8(k) }
        let indexed = input.map { index[Int($0)] ?? 0 }
        var output = [Float](repeating: 0, count: outCount)
        let k = labels.count
        indexed.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                let d = UnsafeSendableBox(dst.baseAddress!), p = src.baseAddress!
                parallelFor(t[0] * t[1], threads: threads) { range in
                    var scores = [Double](repeating: 0, count: k)
                    for row in range {
                        let oz = row / t[1], oy = row % t[1]
                        let zs = [tz.low[oz], tz.high[oz]], zw = [tz.weightLow[oz], tz.weightHigh[oz]]
                        let ys = [ty.low[oy], ty.high[oy]], yw = [ty.weightLow[oy], ty.weightHigh[oy]]
                        let nnRow = (tz.nearest[oz] * s[1] + ty.nearest[oy]) * s[2]
                        for ox in 0..<t[2] {
                            for q in 0..<k { scores[q] = 0 }
                            let xs = (tx.low[ox], tx.high[ox]), xw = (tx.weightLow[ox], tx.weightHigh[ox])
                            for a in 0..<2 {
                                for b in 0..<2 {
                                    let w = zw[a] * yw[b]
                                    let rowBase = (zs[a] * s[1] + ys[b]) * s[2]
                                    scores[Int(p[rowBase + xs.0])] += w * xw.0
                                    scores[Int(p[rowBase + xs.1])] += w * xw.1
                                }
                            }
                            var best = 0
                            for q in 1..<k where scores[q] > scores[best] { best = q }
                            let nearest = Int(p[nnRow + tx.nearest[ox]])
                            if scores[nearest] > 0 && scores[nearest] == scores[best] { best = nearest }
                            d.value[row * t[2] + ox] = labels[best]
                        }
                    }
                }
            }
        }
        return output
    }

    /// The distinct values of a label map, ascending (`np.unique`); fast for the few labels of a segmentation.
    public static func uniqueValues(_ values: [Float]) -> [Float] {
        var seen: [Float] = []
        var last = Float.nan
        for v in values where v != last {
            last = v
            if !seen.contains(v) {
                seen.append(v)
                if seen.count > 64 { return Array(Set(values)).sorted() }
            }
        }
        return seen.sorted()
    }

    /// Nearest-neighbour resize (skimage `resize(order=0, mode='edge')`).
    public static func resizeNearest(_ input: [Float], shape: [Int], to newShape: [Int]) -> [Float] {
        precondition(shape.count == newShape.count && input.count == shape.reduce(1, *),
                     "resizeNearest: \(input.count) values, shape \(shape), new shape \(newShape)")
        let s = as3D(shape), t = as3D(newShape)
        let nz = LinearTable(n: s[0], m: t[0]).nearest, ny = LinearTable(n: s[1], m: t[1]).nearest
        let nx = LinearTable(n: s[2], m: t[2]).nearest
        var output = [Float](repeating: 0, count: t.reduce(1, *))
        var o = 0
        for z in 0..<t[0] {
            for y in 0..<t[1] {
                let base = (nz[z] * s[1] + ny[y]) * s[2]
                for x in 0..<t[2] { output[o] = input[base + nx[x]]; o += 1 }
            }
        }
        return output
    }

    /// Nearest-neighbour resampling along one axis of a 3D array (v1's separate-z step: `map_coordinates(order=0,
    /// mode='nearest')` with pixel-centre coordinates); the other axes keep their length.
    public static func resampleNearest(_ input: [Float], shape: [Int], axis: Int, to newLength: Int) -> [Float] {
        precondition(shape.count == 3 && input.count == shape.reduce(1, *), "resampleNearest: 3D input expected")
        var newShape = shape
        newShape[axis] = newLength
        let table = LinearTable(n: shape[axis], m: newLength).nearest
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        var output = [Float](repeating: 0, count: newShape.reduce(1, *))
        for o in 0..<outer {
            for j in 0..<newLength {
                let from = (o * shape[axis] + table[j]) * inner, to = (o * newLength + j) * inner
                for i in 0..<inner { output[to + i] = input[from + i] }
            }
        }
        return output
    }

    // MARK: - v1's policy

    /// Resamples one channel the way v1's `resample_data_or_seg` does (order 3 for data, order 1 for label maps).
    ///
    /// - Parameters:
    ///   - channel: one channel's values, C order.
    ///   - shape: its shape, (z, y, x).
    ///   - newShape: the shape to resample to.
    ///   - isSegmentation: whether the values are labels (order 1 per label, as `resize_segmentation`) rather than
    ///     intensities (order 3).
    ///   - separateAxis: nil resizes in 3D; an axis resizes each slice along it in-plane, then resamples along the
    ///     axis with nearest neighbour (order 0).
    ///   - threads: worker threads.
    /// - Returns: the channel at `newShape` (the input itself if the shape does not change).
    public static func resampleLikeNNUNet(_ channel: [Float], shape: [Int], to newShape: [Int], isSegmentation: Bool,
                                          separateAxis: Int?, threads: Int = ThreadSettings.defaultThreads)
        -> [Float] {
        if shape == newShape { return channel }
        guard let axis = separateAxis else {
            return isSegmentation ? resizeSegmentation(channel, shape: shape, to: newShape, threads: threads)
                : resizeCubic(channel, shape: shape, to: newShape, threads: threads)
        }
        var inPlane = newShape
        inPlane[axis] = shape[axis]
        var result = channel
        if inPlane != shape {
            result = isSegmentation ? resizeSegmentation(channel, shape: shape, to: inPlane, threads: threads)
                : resizeCubic(channel, shape: shape, to: inPlane, clipSlicesAlong: axis, threads: threads)
        }
        if shape[axis] != newShape[axis] {
            result = resampleNearest(result, shape: inPlane, axis: axis, to: newShape[axis])
        }
        return result
    }
}
