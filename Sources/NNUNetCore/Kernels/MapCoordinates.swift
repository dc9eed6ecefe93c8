import Foundation

// Interpolation of a volume at arbitrary coordinates, with scipy.ndimage.map_coordinates semantics.
//
// Layout: one channel, C-order (z, y, x); 2D images are volumes with z extent 1 (their z coordinate is 0).
// A sample point is (cz, cy, cx) in voxel units of the input (voxel centres at integers).
//
// Orders:
//   0  nearest voxel: index floor(c + 0.5)
//   1  linear: weights (1 - t, t) on floor(c), floor(c) + 1
//   3  cubic B-spline on prefiltered coefficients (the spline interpolates: at integer points it returns the input)
// Boundaries:
//   constant(cval)  a point with any coordinate outside [0, n - 1] gives cval; inside, taps beyond the edge use the
//                   mirrored coefficient (scipy `mode='constant'`, prefilter with mirror boundary).
//   nearest         coordinates are clamped to the edge; for order 3 the input is first padded by 12 edge voxels per
//                   side and prefiltered with mirror boundary (scipy `_prepad_for_spline_filter`), so values just
//                   outside the image are interpolated from the padded spline, as scipy does.
// Precision: coefficients and sums in Float (scipy works in float64 and rounds to float32 at the end); differences
// are ~1e-6 relative.

/// How samples outside the input are treated (scipy's `mode`).
package enum InterpolationBoundary: Sendable, Equatable {
    /// Points outside [0, n - 1] on any axis give this value.
    case constant(Float)
    /// Coordinates are clamped to the image (edge values extend outwards).
    case nearest
}

/// An affine map from output voxel index o = (z, y, x) to input coordinate c = matrix · o + offset.
package struct AffineCoordinateMap: Sendable, Equatable {
    /// Row-major 3 x 3.
    package var matrix: [Double]
    package var offset: [Double]

    package init(matrix: [Double], offset: [Double]) {
        precondition(matrix.count == 9 && offset.count == 3, "AffineCoordinateMap needs a 3x3 matrix and 3 offsets")
        self.matrix = matrix
        self.offset = offset
    }

    /// Identity plus a shift: c = o + shift.
    package static func translation(_ shift: [Double]) -> AffineCoordinateMap {
        AffineCoordinateMap(matrix: [1, 0, 0, 0, 1, 0, 0, 0, 1], offset: shift)
    }

    /// The grid-mode zoom of skimage `resize` / scipy `zoom(grid_mode=True)`: c = (o + 0.5) · in/out − 0.5.
    package static func resize(from inputShape: [Int], to outputShape: [Int]) -> AffineCoordinateMap {
        let scale = (0..<3).map { Double(inputShape[$0]) / Double(outputShape[$0]) }
        return AffineCoordinateMap(matrix: [scale[0], 0, 0, 0, scale[1], 0, 0, 0, scale[2]],
                                   offset: scale.map { 0.5 * $0 - 0.5 })
    }

    /// The integer shift if the map is an identity with an integral offset, else nil.
    var integralTranslation: [Int]? {
        guard matrix == [1, 0, 0, 0, 1, 0, 0, 0, 1] else { return nil }
        let rounded = offset.map { $0.rounded() }
        guard rounded == offset else { return nil }
        return rounded.map { Int($0) }
    }
}

/// scipy.ndimage `map_coordinates` for one channel, order 0, 1 or 3, boundary constant or nearest.
package enum MapCoordinates {
    /// The cubic B-spline pole (sqrt(3) − 2) and the padding scipy uses before prefiltering in nearest mode.
    static let cubicPole = 3.0.squareRoot() - 2
    static let nearestPrePadding = 12

    // MARK: Public entry points

    /// Samples `input` at arbitrary points.
    ///
    /// - Parameters:
    ///   - input: C-order values of shape `shape` (z, y, x), or (y, x) for 2D.
    ///   - coordinates: one array per axis (same count as `shape`), each holding the points' coordinate on that axis.
    /// - Returns: one value per point.
    package static func map(_ input: [Float], shape: [Int], coordinates: [[Double]], order: Int,
                            boundary: InterpolationBoundary, threads: Int = 1) -> [Float] {
        precondition(coordinates.count == shape.count && (2...3).contains(shape.count),
                     "map_coordinates: \(coordinates.count) coordinate axes for shape \(shape)")
        let shape3 = shape.count == 3 ? shape : [1] + shape
        let count = coordinates[0].count
        let prepared = Prepared(input, shape: shape3, order: order, boundary: boundary)
        var output = [Float](repeating: 0, count: count)
        output.withUnsafeMutableBufferPointer { out in
            let outBox = UnsafeSendableBox(out)
            parallelFor(count, threads: threads, minimumChunk: 4096) { range in
                for i in range {
                    let z = shape.count == 3 ? coordinates[0][i] : 0
                    let y = coordinates[shape.count - 2][i], x = coordinates[shape.count - 1][i]
                    outBox.value[i] = prepared.value(z, y, x)
                }
            }
        }
        return output
    }

    /// Samples `input` on an output grid through an affine map (rotation, scaling, zoom), in parallel over z slices.
    ///
    /// An identity map with an integral shift copies voxels exactly (a pure crop, as the spline interpolates).
    /// - Parameters:
    ///   - input: pointer to C-order (z, y, x) values of `inputShape` (3 entries; use z = 1 for 2D).
    ///   - output: pointer to `outputShape` (3 entries) values, overwritten.
    package static func sample(_ input: UnsafeBufferPointer<Float>, inputShape: [Int],
                               into output: UnsafeMutableBufferPointer<Float>, outputShape: [Int],
                               map: AffineCoordinateMap, order: Int, boundary: InterpolationBoundary,
                               threads: Int = 1) {
        precondition(inputShape.count == 3 && outputShape.count == 3, "sample: shapes must have 3 entries")
        precondition(input.count == inputShape.reduce(1, *) && output.count == outputShape.reduce(1, *),
                     "sample: buffer sizes \(input.count), \(output.count) do not fit \(inputShape), \(outputShape)")
        if let shift = map.integralTranslation {
            copyShifted(input, inputShape: inputShape, into: output, outputShape: outputShape, shift: shift,
                        boundary: boundary)
            return
        }
        let prepared = Prepared(input, shape: inputShape, order: order, boundary: boundary)
        let m = map.matrix, b = map.offset
        let (oz, oy, ox) = (outputShape[0], outputShape[1], outputShape[2])
        let outBox = UnsafeSendableBox(output)
        parallelFor(oz * oy, threads: threads, minimumChunk: 8) { rows in
            for row in rows {
                let z = Double(row / oy), y = Double(row % oy)
                var cz = m[0] * z + m[1] * y + b[0]
                var cy = m[3] * z + m[4] * y + b[1]
                var cx = m[6] * z + m[7] * y + b[2]
                let base = row * ox
                for x in 0..<ox {
                    outBox.value[base + x] = prepared.value(cz, cy, cx)
                    cz += m[2]; cy += m[5]; cx += m[8]
                }
            }
        }
    }

    /// batchgenerators' segmentation rule for order 1: each label's indicator is interpolated linearly (constant
    /// boundary), labels are visited in ascending order and a voxel takes label c where its indicator is ≥ 0.5
    /// (later labels overwrite earlier ones); voxels no label reaches, including all outside the input, are 0.
    ///
    /// Port of batchgenerators 0.25 `augmentations/utils.py` `interpolate_img(is_seg=True)` with order 1; instead of
    /// one pass per label, each output voxel sums the linear weights of its (up to 8) neighbours per label.
    package static func sampleLabels(_ input: UnsafeBufferPointer<Float>, inputShape: [Int],
                                     into output: UnsafeMutableBufferPointer<Float>, outputShape: [Int],
                                     map: AffineCoordinateMap, threads: Int = 1) {
        precondition(inputShape.count == 3 && outputShape.count == 3, "sampleLabels: shapes must have 3 entries")
        precondition(input.count == inputShape.reduce(1, *) && output.count == outputShape.reduce(1, *),
                     "sampleLabels: buffer sizes do not fit \(inputShape), \(outputShape)")
        if let shift = map.integralTranslation {
            copyShifted(input, inputShape: inputShape, into: output, outputShape: outputShape, shift: shift,
                        boundary: .constant(0))
            return
        }
        let m = map.matrix, b = map.offset
        let (nz, ny, nx) = (inputShape[0], inputShape[1], inputShape[2])
        let (oz, oy, ox) = (outputShape[0], outputShape[1], outputShape[2])
        let outBox = UnsafeSendableBox(output)
        parallelFor(oz * oy, threads: threads, minimumChunk: 8) { rows in
            var labels = [Float](repeating: 0, count: 8), sums = [Double](repeating: 0, count: 8)
            for row in rows {
                let z = Double(row / oy), y = Double(row % oy)
                let base = row * ox
                for x in 0..<ox {
                    let xd = Double(x)
                    let cz = m[0] * z + m[1] * y + m[2] * xd + b[0]
                    let cy = m[3] * z + m[4] * y + m[5] * xd + b[1]
                    let cx = m[6] * z + m[7] * y + m[8] * xd + b[2]
                    guard cz >= 0, cz <= Double(nz - 1), cy >= 0, cy <= Double(ny - 1), cx >= 0,
                          cx <= Double(nx - 1) else {
                        outBox.value[base + x] = 0
                        continue
                    }
                    let (z0, z1, tz) = linearTaps(cz, nz), (y0, y1, ty) = linearTaps(cy, ny)
                    let (x0, x1, tx) = linearTaps(cx, nx)
                    var distinct = 0
                    for dz in 0..<2 {
                        let wz = dz == 0 ? 1 - tz : tz
                        if wz == 0 { continue }
                        let zi = dz == 0 ? z0 : z1
                        for dy in 0..<2 {
                            let wy = dy == 0 ? 1 - ty : ty
                            if wy == 0 { continue }
                            let rowBase = (zi * ny + (dy == 0 ? y0 : y1)) * nx
                            for dx in 0..<2 {
                                let wx = dx == 0 ? 1 - tx : tx
                                if wx == 0 { continue }
                                let label = input[rowBase + (dx == 0 ? x0 : x1)], w = wz * wy * wx
                                var k = 0
                                while k < distinct && labels[k] != label { k += 1 }
                                if k == distinct { labels[k] = label; sums[k] = 0; distinct += 1 }
                                sums[k] += w
                            }
                        }
                    }
                    var result: Float = 0, best = -Float.infinity
                    for k in 0..<distinct where sums[k] >= 0.5 && labels[k] > best {
                        best = labels[k]
                        result = labels[k]
                    }
                    outBox.value[base + x] = result
                }
            }
        }
    }

    // MARK: Prefiltering

    /// In-place cubic B-spline prefilter along every axis of length > 1, mirror boundary (scipy `spline_filter`
    /// with `mode='mirror'`), computed in Double per line.
    package static func cubicSplineFilter(_ values: inout [Float], shape: [Int]) {
        let shape3 = shape.count == 3 ? shape : [1] + shape
        for axis in 0..<3 where shape3[axis] > 1 {
            let n = shape3[axis]
            let stride = shape3[(axis + 1)...].reduce(1, *)
            let outer = shape3[..<axis].reduce(1, *)
            var line = [Double](repeating: 0, count: n)
            values.withUnsafeMutableBufferPointer { v in
                for o in 0..<outer {
                    for inner in 0..<stride {
                        let start = o * n * stride + inner
                        for i in 0..<n { line[i] = Double(v[start + i * stride]) }
                        filterLine(&line)
                        for i in 0..<n { v[start + i * stride] = Float(line[i]) }
                    }
                }
            }
        }
    }

    /// The 1D recursive filter (Unser's algorithm) with mirror-symmetric initial conditions.
    static func filterLine(_ c: inout [Double]) {
        let n = c.count
        guard n > 1 else { return }
        let z = cubicPole
        let gain = (1 - z) * (1 - 1 / z)
        for i in 0..<n { c[i] *= gain }
        // Causal initialisation for the mirror extension (exact, over the whole line).
        var zi = z
        let zn1 = pow(z, Double(n - 1))
        var sum = c[0] + zn1 * c[n - 1]
        for i in 1..<(n - 1) {
            sum += zi * (c[i] + zn1 * c[n - 1 - i])
            zi *= z
        }
        c[0] = sum / (1 - zn1 * zn1)
        for i in 1..<n { c[i] += z * c[i - 1] }
        c[n - 1] = (z / (z * z - 1)) * (z * c[n - 2] + c[n - 1])
        for i in stride(from: n - 2, through: 0, by: -1) { c[i] = z * (c[i + 1] - c[i]) }
    }

    // MARK: Internals

    /// Linear taps for a coordinate known to lie in [0, n - 1]: lower index, upper index (mirrored at the edge) and
    /// the upper weight.
    @inline(__always)
    static func linearTaps(_ c: Double, _ n: Int) -> (Int, Int, Double) {
        let i0 = Int(c.rounded(.down))
        let t = c - Double(i0)
        let i1 = i0 + 1 < n ? i0 + 1 : max(n - 2, 0)
        return (i0, i1, t)
    }

    /// A pure crop/pad: output[o] = input[o + shift], outside → cval (constant) or the clamped voxel (nearest).
    static func copyShifted(_ input: UnsafeBufferPointer<Float>, inputShape: [Int],
                            into output: UnsafeMutableBufferPointer<Float>, outputShape: [Int], shift: [Int],
                            boundary: InterpolationBoundary) {
        let (ny, nx) = (inputShape[1], inputShape[2])
        let (oy, ox) = (outputShape[1], outputShape[2])
        for z in 0..<outputShape[0] {
            for y in 0..<oy {
                let base = (z * oy + y) * ox
                for x in 0..<ox {
                    var idx = [z + shift[0], y + shift[1], x + shift[2]]
                    var inside = true
                    for d in 0..<3 where idx[d] < 0 || idx[d] >= inputShape[d] {
                        inside = false
                        idx[d] = min(max(idx[d], 0), inputShape[d] - 1)
                    }
                    if case let .constant(cval) = boundary, !inside {
                        output[base + x] = cval
                    } else {
                        output[base + x] = input[(idx[0] * ny + idx[1]) * nx + idx[2]]
                    }
                }
            }
        }
    }

    /// The input ready for sampling: the raw values (orders 0, 1) or spline coefficients (order 3, padded for the
    /// nearest boundary).
    struct Prepared {
        let values: [Float]
        let shape: [Int]  // of `values` (padded for order 3 + nearest)
        let nz: Int, ny: Int, nx: Int
        let pad: Int
        let order: Int
        let boundary: InterpolationBoundary

        init(_ input: UnsafeBufferPointer<Float>, shape: [Int], order: Int, boundary: InterpolationBoundary) {
            self.init(Array(input), shape: shape, order: order, boundary: boundary)
        }

        init(_ input: [Float], shape: [Int], order: Int, boundary: InterpolationBoundary) {
            precondition([0, 1, 3].contains(order), "map_coordinates: order \(order) is not supported (0, 1, 3)")
            self.order = order
            self.boundary = boundary
            if order == 3, boundary == .nearest {
                // Pad 12 edge voxels on every axis longer than 1 (a length-1 axis stays: all taps map to it).
                let p = MapCoordinates.nearestPrePadding
                let padded = shape.map { $0 > 1 ? $0 + 2 * p : $0 }
                let pads = shape.map { $0 > 1 ? p : 0 }
                var values = [Float](repeating: 0, count: padded.reduce(1, *))
                for z in 0..<padded[0] {
                    let sz = min(max(z - pads[0], 0), shape[0] - 1)
                    for y in 0..<padded[1] {
                        let sy = min(max(y - pads[1], 0), shape[1] - 1)
                        let src = (sz * shape[1] + sy) * shape[2], dst = (z * padded[1] + y) * padded[2]
                        for x in 0..<padded[2] {
                            values[dst + x] = input[src + min(max(x - pads[2], 0), shape[2] - 1)]
                        }
                    }
                }
                MapCoordinates.cubicSplineFilter(&values, shape: padded)
                self.values = values
                self.shape = padded
                self.pad = p
                (nz, ny, nx) = (self.shape[0], self.shape[1], self.shape[2])
            } else if order == 3 {
                var values = input
                MapCoordinates.cubicSplineFilter(&values, shape: shape)
                self.values = values
                self.shape = shape
                self.pad = 0
                (nz, ny, nx) = (self.shape[0], self.shape[1], self.shape[2])
            } else {
                self.values = input
                self.shape = shape
                self.pad = 0
                (nz, ny, nx) = (self.shape[0], self.shape[1], self.shape[2])
            }
        }

        /// The interpolated value at input coordinate (z, y, x).
        @inline(__always)
        func value(_ z: Double, _ y: Double, _ x: Double) -> Float {
            var cz = z, cy = y, cx = x
            switch boundary {
            case let .constant(cval):
                if cz < 0 || cz > Double(nz - 1) || cy < 0 || cy > Double(ny - 1) || cx < 0 || cx > Double(nx - 1) {
                    return cval
                }
            case .nearest:
                if pad > 0 {
                    if nz > 1 { cz += Double(pad) }
                    if ny > 1 { cy += Double(pad) }
                    if nx > 1 { cx += Double(pad) }
                }
                cz = min(max(cz, 0), Double(nz - 1))
                cy = min(max(cy, 0), Double(ny - 1))
                cx = min(max(cx, 0), Double(nx - 1))
            }
            return values.withUnsafeBufferPointer { v in
                switch order {
                case 0:
                    let iz = Int((cz + 0.5).rounded(.down)), iy = Int((cy + 0.5).rounded(.down))
                    let ix = Int((cx + 0.5).rounded(.down))
                    return v[(min(iz, nz - 1) * ny + min(iy, ny - 1)) * nx + min(ix, nx - 1)]
                case 1:
                    let (z0, z1, tz) = linearTaps(cz, nz), (y0, y1, ty) = linearTaps(cy, ny)
                    let (x0, x1, tx) = linearTaps(cx, nx)
                    let fz = Float(tz), fy = Float(ty), fx = Float(tx)
                    @inline(__always) func lerpX(_ zi: Int, _ yi: Int) -> Float {
                        let r = (zi * ny + yi) * nx
                        return v[r + x0] * (1 - fx) + v[r + x1] * fx
                    }
                    let a = lerpX(z0, y0) * (1 - fy) + lerpX(z0, y1) * fy
                    let b = lerpX(z1, y0) * (1 - fy) + lerpX(z1, y1) * fy
                    return a * (1 - fz) + b * fz
                default:
                    let (sz, wz) = cubicTaps(cz), (sy, wy) = cubicTaps(cy), (sx, wx) = cubicTaps(cx)
                    let xi = (mirror(sx, nx), mirror(sx + 1, nx), mirror(sx + 2, nx), mirror(sx + 3, nx))
                    var total: Float = 0
                    for a in 0..<4 {
                        let zi = mirror(sz + a, nz)
                        var plane: Float = 0
                        for b in 0..<4 {
                            let r = (zi * ny + mirror(sy + b, ny)) * nx
                            let line = v[r + xi.0] * wx.0 + v[r + xi.1] * wx.1 + v[r + xi.2] * wx.2
                                + v[r + xi.3] * wx.3
                            plane += line * weight(wy, b)
                        }
                        total += plane * weight(wz, a)
                    }
                    return total
                }
            }
        }
    }

    @inline(__always)
    static func weight(_ w: (Float, Float, Float, Float), _ i: Int) -> Float {
        switch i {
        case 0: return w.0
        case 1: return w.1
        case 2: return w.2
        default: return w.3
        }
    }

    /// The first tap index and the four cubic B-spline weights for coordinate c.
    @inline(__always)
    static func cubicTaps(_ c: Double) -> (Int, (Float, Float, Float, Float)) {
        let f = c.rounded(.down)
        let t = c - f
        let u = 1 - t
        let w0 = u * u * u / 6
        let w1 = (4 - 6 * t * t + 3 * t * t * t) / 6
        let w3 = t * t * t / 6
        let w2 = 1 - w0 - w1 - w3
        return (Int(f) - 1, (Float(w0), Float(w1), Float(w2), Float(w3)))
    }

    /// Mirror an index into [0, n − 1] (whole-sample symmetric: −1 → 1, n → n − 2).
    @inline(__always)
    static func mirror(_ i: Int, _ n: Int) -> Int {
        if n == 1 { return 0 }
        var j = i
        let period = 2 * n - 2
        j = j % period
        if j < 0 { j += period }
        return j < n ? j : period - j
    }
}
