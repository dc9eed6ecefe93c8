extension Resampling {
    /// Linear resize (skimage `resize(order=1, mode='edge', anti_aliasing=False)`: pixel-centre aligned; the
    /// result stays within the input's range, so no clipping is needed). Used to bring class probabilities back to
    /// the cropped geometry at export (v1 `save_segmentation_nifti_from_softmax`, order 1).
    ///
    /// - Parameters: `shape`/`newShape` are (z, y, x) or (y, x); C order.
    public static func resizeLinear(_ input: [Float], shape: [Int], to newShape: [Int],
                                    threads: Int = ThreadSettings.defaultThreads) -> [Float] {
        precondition(shape.count == newShape.count && input.count == shape.reduce(1, *),
                     "resizeLinear: \(input.count) values, shape \(shape), new shape \(newShape)")
        if shape == newShape { return input }
        let s = as3D(shape), t = as3D(newShape)
        let tz = LinearTable(n: s[0], m: t[0]), ty = LinearTable(n: s[1], m: t[1]), tx = LinearTable(n: s[2], m: t[2])
        var output = [Float](repeating: 0, count: t.reduce(1, *))
        input.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                let d = UnsafeSendableBox(dst.baseAddress!), p = src.baseAddress!
                let plane = s[1] * s[2]
                parallelFor(t[0] * t[1], threads: threads) { range in
                    for row in range {
                        let oz = row / t[1], oy = row % t[1]
                        linearRow(low: p + tz.low[oz] * plane, high: p + tz.high[oz] * plane,
                                  weightLow: tz.weightLow[oz], weightHigh: tz.weightHigh[oz], oy: oy, width: s[2],
                                  ty: ty, tx: tx, into: d.value + row * t[2])
                    }
                }
            }
        }
        return output
    }

    /// One output row (index `oy` of the in-plane output) of a linear resize, blending the input planes `low` and
    /// `high` (each `ty.count`-input-rows × `width`, C order) with weights `weightLow`/`weightHigh` along the first
    /// axis, then bilinearly in-plane. The arithmetic (Double, this order) is what every linear resize here uses, so
    /// whole-volume and slice-by-slice resampling agree bit for bit.
    @inline(__always)
    static func linearRow(low: UnsafePointer<Float>, high: UnsafePointer<Float>, weightLow: Double, weightHigh: Double,
                          oy: Int, width: Int, ty: LinearTable, tx: LinearTable, into out: UnsafeMutablePointer<Float>) {
        let r00 = low + ty.low[oy] * width, r01 = low + ty.high[oy] * width
        let r10 = high + ty.low[oy] * width, r11 = high + ty.high[oy] * width
        let w00 = weightLow * ty.weightLow[oy], w01 = weightLow * ty.weightHigh[oy]
        let w10 = weightHigh * ty.weightLow[oy], w11 = weightHigh * ty.weightHigh[oy]
        for ox in 0..<tx.low.count {
            let xl = tx.low[ox], xh = tx.high[ox], a = tx.weightLow[ox], b = tx.weightHigh[ox]
            func lerp(_ r: UnsafePointer<Float>) -> Double { a * Double(r[xl]) + b * Double(r[xh]) }
            out[ox] = Float(w00 * lerp(r00) + w01 * lerp(r01) + w10 * lerp(r10) + w11 * lerp(r11))
        }
    }

    /// v1's export resampling of one probability channel: linear (order 1), or with a separate axis: linear in-plane,
    /// then nearest along that axis (order_z 0).
    public static func resampleProbabilities(_ channel: [Float], shape: [Int], to newShape: [Int], separateAxis: Int?,
                                             threads: Int = ThreadSettings.defaultThreads) -> [Float] {
        if shape == newShape { return channel }
        guard let axis = separateAxis else { return resizeLinear(channel, shape: shape, to: newShape, threads: threads) }
        var inPlane = newShape
        inPlane[axis] = shape[axis]
        var result = channel
        if inPlane != shape {
            // Resize every slice along `axis` in-plane.
            let sliceShape = shape.enumerated().filter { $0.offset != axis }.map(\.element)
            let newSlice = inPlane.enumerated().filter { $0.offset != axis }.map(\.element)
            var out = [Float](repeating: 0, count: inPlane.reduce(1, *))
            for i in 0..<shape[axis] {
                let slice = Self.slice(result, shape: shape, axis: axis, index: i)
                let resized = resizeLinear(slice, shape: sliceShape, to: newSlice, threads: threads)
                Self.setSlice(&out, shape: inPlane, axis: axis, index: i, values: resized)
            }
            result = out
        }
        if shape[axis] != newShape[axis] {
            result = resampleNearest(result, shape: inPlane, axis: axis, to: newShape[axis])
        }
        return result
    }

    static func slice(_ values: [Float], shape: [Int], axis: Int, index: Int) -> [Float] {
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        var out = [Float](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            let from = (o * shape[axis] + index) * inner
            for i in 0..<inner { out[o * inner + i] = values[from + i] }
        }
        return out
    }

    static func setSlice(_ values: inout [Float], shape: [Int], axis: Int, index: Int, values slice: [Float]) {
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        for o in 0..<outer {
            let to = (o * shape[axis] + index) * inner
            for i in 0..<inner { values[to + i] = slice[o * inner + i] }
        }
    }
}
