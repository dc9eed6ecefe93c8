extension Resampling {
    /// Linear resize of float16 values (skimage `resize(order=1, mode='edge', anti_aliasing=False)` of a float16
    /// array as nnU-Net v2's export runs it: the values widened to float64, interpolated, and each result rounded
    /// once from float64 to float16, as numpy assigns into v2's float16 output array).
    ///
    /// Same sampling grid and arithmetic as ``resizeLinear(_:shape:to:threads:)`` (pixel-centre aligned, Double),
    /// only the input and output types differ. Shapes are (z, y, x) or (y, x), C order.
    package static func resizeLinear(_ input: [Float16], shape: [Int], to newShape: [Int],
                                     threads: Int = ThreadSettings.defaultThreads) -> [Float16] {
        precondition(shape.count == newShape.count && input.count == shape.reduce(1, *),
                     "resizeLinear: \(input.count) values, shape \(shape), new shape \(newShape)")
        if shape == newShape { return input }
        let s = as3D(shape), t = as3D(newShape)
        let tz = LinearTable(n: s[0], m: t[0]), ty = LinearTable(n: s[1], m: t[1]), tx = LinearTable(n: s[2], m: t[2])
        var output = [Float16](repeating: 0, count: t.reduce(1, *))
        input.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                guard let source = src.baseAddress, let destination = dst.baseAddress else { return }
                let d = UnsafeSendableBox(destination)
                let plane = s[1] * s[2]
                parallelFor(t[0] * t[1], threads: threads) { range in
                    for row in range {
                        let oz = row / t[1], oy = row % t[1]
                        let low = source + tz.low[oz] * plane, high = source + tz.high[oz] * plane
                        let width = s[2]
                        let r00 = low + ty.low[oy] * width, r01 = low + ty.high[oy] * width
                        let r10 = high + ty.low[oy] * width, r11 = high + ty.high[oy] * width
                        let w00 = tz.weightLow[oz] * ty.weightLow[oy], w01 = tz.weightLow[oz] * ty.weightHigh[oy]
                        let w10 = tz.weightHigh[oz] * ty.weightLow[oy], w11 = tz.weightHigh[oz] * ty.weightHigh[oy]
                        let out = d.value + row * t[2]
                        for ox in 0..<tx.low.count {
                            let xl = tx.low[ox], xh = tx.high[ox], a = tx.weightLow[ox], b = tx.weightHigh[ox]
                            func lerp(_ r: UnsafePointer<Float16>) -> Double { a * Double(r[xl]) + b * Double(r[xh]) }
                            out[ox] = Float16(w00 * lerp(r00) + w01 * lerp(r01) + w10 * lerp(r10) + w11 * lerp(r11))
                        }
                    }
                }
            }
        }
        return output
    }

    /// nnU-Net v2's export resampling of one float16 logit channel (`resample_data_or_seg_to_shape` with order 1 and
    /// order_z 0): linear, or with a separate axis linear in-plane (each slice along the axis keeps its position)
    /// and nearest neighbour along the axis. Results are float16 as in v2.
    package static func resampleLogits(_ channel: [Float16], shape: [Int], to newShape: [Int], separateAxis: Int?,
                                       threads: Int = ThreadSettings.defaultThreads) -> [Float16] {
        if shape == newShape { return channel }
        guard let axis = separateAxis else {
            return resizeLinear(channel, shape: shape, to: newShape, threads: threads)
        }
        var inPlane = newShape
        inPlane[axis] = shape[axis]
        // In-plane linear resize in 3D with the separate axis unchanged: its weights are 1 and 0, which equals the
        // 2D resize of every slice bit for bit.
        var result = resizeLinear(channel, shape: shape, to: inPlane, threads: threads)
        if shape[axis] != newShape[axis] {
            let nearest = resampleNearest(result.map { Float($0) }, shape: inPlane, axis: axis, to: newShape[axis])
            result = nearest.map { Float16($0) }
        }
        return result
    }
}
