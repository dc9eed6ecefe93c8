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
        prepared.values.withUnsafeBufferPointer { v in
            let source = UnsafeSendableBox(v)
            parallelFor(oz * oy, threads: threads, minimumChunk: 8) { rows in
                for row in rows {
                    let z = Double(row / oy), y = Double(row % oy)
                    var cz = m[0] * z + m[1] * y + b[0]
                    var cy = m[3] * z + m[4] * y + b[1]
                    var cx = m[6] * z + m[7] * y + b[2]
                    let base = row * ox
                    for x in 0..<ox {
                        outBox.value[base + x] = prepared.value(source.value, cz, cy, cx)
                        cz += m[2]; cy += m[5]; cx += m[8]
                    }
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
                    // Common case: all eight neighbours carry the same label, whose indicator is then 1.
                    let r00 = (z0 * ny + y0) * nx, r01 = (z0 * ny + y1) * nx
                    let r10 = (z1 * ny + y0) * nx, r11 = (z1 * ny + y1) * nx
                    let first = input[r00 + x0]
                    if input[r00 + x1] == first && input[r01 + x0] == first && input[r01 + x1] == first
                        && input[r10 + x0] == first && input[r10 + x1] == first && input[r11 + x0] == first
                        && input[r11 + x1] == first {
                        outBox.value[base + x] = first
                        continue
                    }
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
    /// with `mode='mirror'`).
    ///
    /// Unser's recursive filter: gain (1 − z)(1 − 1/z), causal pass c[i] += z·c[i − 1] from the mirror-symmetric
    /// initial value Σ z^k·c[k] (truncated where z^k < 1e-12 on long lines, exact on short ones), anti-causal pass
    /// c[i] = z·(c[i + 1] − c[i]). Lines of an axis are filtered together (one contiguous plane row at a time), in
    /// Float.
    package static func cubicSplineFilter(_ values: inout [Float], shape: [Int]) {
        let shape3 = shape.count == 3 ? shape : [1] + shape
        let z = cubicPole
        let gain = (1 - z) * (1 - 1 / z)
        let axes = (0..<3).filter { shape3[$0] > 1 }
        guard !axes.isEmpty else { return }
        let totalGain = Float(pow(gain, Double(axes.count)))
        values.withUnsafeMutableBufferPointer { v in
            guard let base = v.baseAddress else { return }
            for i in 0..<v.count { base[i] *= totalGain }
            for axis in axes {
                let n = shape3[axis]
                let inner = shape3[(axis + 1)...].reduce(1, *)
                let outer = shape3[..<axis].reduce(1, *)
                if inner == 1 {
                    // Contiguous lines: transpose to (n, lines) so that the recursion runs over whole rows.
                    let lines = outer
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: n * lines)
                    defer { scratch.deallocate() }
                    for line in 0..<lines {
                        let source = base + line * n
                        for i in 0..<n { scratch[i * lines + line] = source[i] }
                    }
                    filterLines(scratch, count: n, width: lines)
                    for line in 0..<lines {
                        let destination = base + line * n
                        for i in 0..<n { destination[i] = scratch[i * lines + line] }
                    }
                } else {
                    for o in 0..<outer { filterLines(base + o * n * inner, count: n, width: inner) }
                }
            }
        }
    }

    /// Filters `width` interleaved lines: element i of line k is at `rows[i * width + k]` (gain already applied).
    static func filterLines(_ rows: UnsafeMutablePointer<Float>, count n: Int, width: Int) {
        let z = cubicPole
        let zf = Float(z)
        // Causal initial value (mirror boundary): c0 = Σ_k z^k c[k] over the whole mirrored period, which for long
        // lines is the truncated series; for short ones the exact closed form.
        let horizon = Int((log(1e-12) / log(abs(z))).rounded(.up))
        let first = rows
        if n > horizon {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: width) { sum in
                for k in 0..<width { sum[k] = 0 }
                var zk = 1.0
                for i in 0..<horizon {
                    let w = Float(zk), row = rows + i * width
                    zk *= z
                    for k in 0..<width { sum[k] += w * row[k] }
                }
                for k in 0..<width { first[k] = sum[k] }
            }
        } else {
            let zn1 = pow(z, Double(n - 1))
            let last = rows + (n - 1) * width
            withUnsafeTemporaryAllocation(of: Double.self, capacity: width) { sum in
                for k in 0..<width { sum[k] = Double(first[k]) + zn1 * Double(last[k]) }
                var zi = z
                for i in 1..<(n - 1) {
                    let row = rows + i * width, mirrored = rows + (n - 1 - i) * width
                    for k in 0..<width { sum[k] += zi * (Double(row[k]) + zn1 * Double(mirrored[k])) }
                    zi *= z
                }
                let scale = 1 / (1 - zn1 * zn1)
                for k in 0..<width { first[k] = Float(sum[k] * scale) }
            }
        }
        for i in 1..<n {
            let row = rows + i * width, previous = rows + (i - 1) * width
            for k in 0..<width { row[k] += zf * previous[k] }
        }
        let last = rows + (n - 1) * width, beforeLast = rows + (n - 2) * width
        let anti = Float(z / (z * z - 1))
        for k in 0..<width { last[k] = anti * (zf * beforeLast[k] + last[k]) }
        for i in stride(from: n - 2, through: 0, by: -1) {
            let row = rows + i * width, next = rows + (i + 1) * width
            for k in 0..<width { row[k] = zf * (next[k] - row[k]) }
        }
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
        let (nz, ny, nx) = (inputShape[0], inputShape[1], inputShape[2])
        let (oy, ox) = (outputShape[1], outputShape[2])
        let cval: Float? = { if case let .constant(c) = boundary { return c } else { return nil } }()
        // The x range that lies inside the input.
        let x0 = min(max(-shift[2], 0), ox), x1 = max(min(nx - shift[2], ox), x0)
        for z in 0..<outputShape[0] {
            for y in 0..<oy {
                let base = (z * oy + y) * ox
                let sz = z + shift[0], sy = y + shift[1]
                let rowInside = sz >= 0 && sz < nz && sy >= 0 && sy < ny
                if let cval, !rowInside {
                    for x in 0..<ox { output[base + x] = cval }
                    continue
                }
                let row = (min(max(sz, 0), nz - 1) * ny + min(max(sy, 0), ny - 1)) * nx
                for x in 0..<ox where x < x0 || x >= x1 {
                    output[base + x] = cval ?? input[row + min(max(x + shift[2], 0), nx - 1)]
                }
                for x in x0..<x1 { output[base + x] = input[row + x + shift[2]] }
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
        func value(_ z: Double, _ y: Double, _ x: Double) -> Float {
            values.withUnsafeBufferPointer { value($0, z, y, x) }
        }

        /// The interpolated value at input coordinate (z, y, x), reading `v` (this value's `values`).
        @inline(__always)
        func value(_ v: UnsafeBufferPointer<Float>, _ z: Double, _ y: Double, _ x: Double) -> Float {
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
            guard let p = v.baseAddress else { return 0 }
            switch order {
            case 0:
                let iz = Int((cz + 0.5).rounded(.down)), iy = Int((cy + 0.5).rounded(.down))
                let ix = Int((cx + 0.5).rounded(.down))
                return p[(min(iz, nz - 1) * ny + min(iy, ny - 1)) * nx + min(ix, nx - 1)]
            case 1:
                let (z0, z1, tz) = linearTaps(cz, nz), (y0, y1, ty) = linearTaps(cy, ny)
                let (x0, x1, tx) = linearTaps(cx, nx)
                let fz = Float(tz), fy = Float(ty), fx = Float(tx)
                @inline(__always) func lerpX(_ zi: Int, _ yi: Int) -> Float {
                    let r = (zi * ny + yi) * nx
                    return p[r + x0] * (1 - fx) + p[r + x1] * fx
                }
                let a = lerpX(z0, y0) * (1 - fy) + lerpX(z0, y1) * fy
                let b = lerpX(z1, y0) * (1 - fy) + lerpX(z1, y1) * fy
                return a * (1 - fz) + b * fz
            default:
                return cubic(p, cz, cy, cx)
            }
        }

        /// Cubic B-spline evaluation: Σ wz·wy·wx·c over the 4 × 4 × 4 taps (mirrored at the edges).
        @inline(__always)
        func cubic(_ p: UnsafePointer<Float>, _ cz: Double, _ cy: Double, _ cx: Double) -> Float {
            let (sz, wz) = cubicTaps(cz), (sy, wy) = cubicTaps(cy), (sx, wx) = cubicTaps(cx)
            let planeStride = ny * nx
            if sx >= 0 && sx + 3 < nx && sy >= 0 && sy + 3 < ny && sz >= 0 && sz + 3 < nz {
                // Interior: contiguous 4-tap rows.
                @inline(__always) func row(_ r: UnsafePointer<Float>) -> Float {
                    r[0] * wx.0 + r[1] * wx.1 + r[2] * wx.2 + r[3] * wx.3
                }
                @inline(__always) func plane(_ q: UnsafePointer<Float>) -> Float {
                    row(q) * wy.0 + row(q + nx) * wy.1 + row(q + 2 * nx) * wy.2 + row(q + 3 * nx) * wy.3
                }
                let q = p + (sz * ny + sy) * nx + sx
                return plane(q) * wz.0 + plane(q + planeStride) * wz.1 + plane(q + 2 * planeStride) * wz.2
                    + plane(q + 3 * planeStride) * wz.3
            }
            let x0 = mirror(sx, nx), x1 = mirror(sx + 1, nx), x2 = mirror(sx + 2, nx), x3 = mirror(sx + 3, nx)
            @inline(__always) func row(_ r: UnsafePointer<Float>) -> Float {
                r[x0] * wx.0 + r[x1] * wx.1 + r[x2] * wx.2 + r[x3] * wx.3
            }
            @inline(__always) func plane(_ zi: Int) -> Float {
                let q = p + zi * planeStride
                return row(q + mirror(sy, ny) * nx) * wy.0 + row(q + mirror(sy + 1, ny) * nx) * wy.1
                    + row(q + mirror(sy + 2, ny) * nx) * wy.2 + row(q + mirror(sy + 3, ny) * nx) * wy.3
            }
            return plane(mirror(sz, nz)) * wz.0 + plane(mirror(sz + 1, nz)) * wz.1 + plane(mirror(sz + 2, nz)) * wz.2
                + plane(mirror(sz + 3, nz)) * wz.3
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
