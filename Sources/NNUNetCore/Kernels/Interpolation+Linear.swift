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
                parallelFor(t[0] * t[1], threads: threads) { range in
                    for row in range {
                        let oz = row / t[1], oy = row % t[1]
                        let r00 = (tz.low[oz] * s[1] + ty.low[oy]) * s[2], r01 = (tz.low[oz] * s[1] + ty.high[oy]) * s[2]
                        let r10 = (tz.high[oz] * s[1] + ty.low[oy]) * s[2], r11 = (tz.high[oz] * s[1] + ty.high[oy]) * s[2]
                        let w00 = tz.weightLow[oz] * ty.weightLow[oy], w01 = tz.weightLow[oz] * ty.weightHigh[oy]
                        let w10 = tz.weightHigh[oz] * ty.weightLow[oy], w11 = tz.weightHigh[oz] * ty.weightHigh[oy]
                        for ox in 0..<t[2] {
                            let xl = tx.low[ox], xh = tx.high[ox], a = tx.weightLow[ox], b = tx.weightHigh[ox]
                            func lerp(_ r: Int) -> Double { a * Double(p[r + xl]) + b * Double(p[r + xh]) }
                            let value = w00 * lerp(r00) + w01 * lerp(r01) + w10 * lerp(r10) + w11 * lerp(r11)
                            d.value[row * t[2] + ox] = Float(value)
                        }
                    }
                }
            }
        }
        return output
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
