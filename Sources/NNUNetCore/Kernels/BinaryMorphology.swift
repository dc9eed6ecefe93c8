// Binary morphology with a Euclidean ball, through an exact squared Euclidean distance transform.
//
// Math: with the structuring element B_r = { s ∈ Z³ : |s|² ≤ r² } (symmetric, centred on a voxel),
//   dilation(X) = { p : min_{x ∈ X} |p − x|² ≤ r² }                 (outside the volume is background)
//   erosion(X)  = { p : min_{q ∉ X, q in the volume} |p − q|² > r² } (outside the volume counts as foreground, as
//                                                                     skimage's binary_erosion pads with 1)
//   closing = erosion ∘ dilation, opening = dilation ∘ erosion.
// The distances come from Felzenszwalb & Huttenlocher's separable transform: one pass of lower envelopes of parabolas
// per axis, O(voxels) each, so the cost does not grow with the radius (a ball of radius 8 has 2109 offsets).
//
// Layout: C-ordered (z, y, x) masks, nonzero = foreground; a 2D mask is (y, x).

/// Dilation, erosion, opening and closing of binary masks by a Euclidean ball (the cascade's augmentation of the
/// previous stage's segmentation, reference sheet §14).
public enum BinaryMorphology {
    /// The four operations the cascade draws from (v1: skimage's binary_dilation, _erosion, _closing, _opening).
    public enum Operation: CaseIterable, Sendable {
        /// Grows the mask by the ball.
        case dilation
        /// Shrinks the mask by the ball.
        case erosion
        /// Dilation, then erosion: fills gaps narrower than the ball.
        case closing
        /// Erosion, then dilation: removes parts narrower than the ball.
        case opening
    }

    /// Applies `operation` with a ball of `radius` (voxels; the offsets s with |s|² ≤ radius²) to `mask`.
    ///
    /// skimage's `ball(r)` for a non-integer r samples `int(2r + 1)` points per axis between −r and r, which need not
    /// include the centre voxel; this ball is always centred, and equals skimage's for integer radii.
    /// - Returns: the result as 0/1 bytes, same shape.
    public static func apply(_ operation: Operation, to mask: [UInt8], shape: [Int], radius: Double,
                             threads: Int = ThreadSettings.defaultThreads) -> [UInt8] {
        switch operation {
        case .dilation: return dilate(mask, shape: shape, radius: radius, threads: threads)
        case .erosion: return erode(mask, shape: shape, radius: radius, threads: threads)
        case .closing:
            return erode(dilate(mask, shape: shape, radius: radius, threads: threads), shape: shape, radius: radius,
                         threads: threads)
        case .opening:
            return dilate(erode(mask, shape: shape, radius: radius, threads: threads), shape: shape, radius: radius,
                          threads: threads)
        }
    }

    /// Voxels within `radius` of the mask (outside the volume is background).
    public static func dilate(_ mask: [UInt8], shape: [Int], radius: Double,
                              threads: Int = ThreadSettings.defaultThreads) -> [UInt8] {
        let limit = radius * radius
        let distances = squaredDistanceTransform(sitesWhere: { $0 != 0 }, mask, shape: shape, threads: threads)
        return distances.map { Double($0) <= limit ? 1 : 0 }
    }

    /// Voxels farther than `radius` from every background voxel of the volume (outside counts as foreground).
    public static func erode(_ mask: [UInt8], shape: [Int], radius: Double,
                             threads: Int = ThreadSettings.defaultThreads) -> [UInt8] {
        let limit = radius * radius
        let distances = squaredDistanceTransform(sitesWhere: { $0 == 0 }, mask, shape: shape, threads: threads)
        return zip(mask, distances).map { $0 != 0 && Double($1) > limit ? 1 : 0 }
    }

    /// The squared Euclidean distance of every voxel to the nearest site (voxel where `isSite` holds); infinity when
    /// there is no site. Exact (integer distances stored as Float, exact below 2^24).
    public static func squaredDistanceTransform(sitesWhere isSite: (UInt8) -> Bool, _ mask: [UInt8], shape: [Int],
                                                threads: Int = ThreadSettings.defaultThreads) -> [Float] {
        precondition((2...3).contains(shape.count) && mask.count == shape.reduce(1, *),
                     "squaredDistanceTransform: \(mask.count) values for shape \(shape)")
        let shape3 = shape.count == 2 ? [1] + shape : shape
        var distances = mask.map { isSite($0) ? Float(0) : Float.infinity }
        let (nz, ny, nx) = (shape3[0], shape3[1], shape3[2])
        distances.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            let box = UnsafeSendableBox(base)
            // One pass per axis: (lines, length, stride, line start).
            let passes: [(lines: Int, length: Int, stride: Int, start: (Int) -> Int)] = [
                (nz * ny, nx, 1, { $0 * nx }),
                (nz * nx, ny, nx, { ($0 / nx) * ny * nx + $0 % nx }),
                (ny * nx, nz, ny * nx, { $0 }),
            ]
            for pass in passes where pass.length > 1 {
                parallelFor(pass.lines, threads: threads, minimumChunk: 16) { range in
                    var line = [Double](repeating: 0, count: pass.length)
                    var output = [Double](repeating: 0, count: pass.length)
                    var sites = [Int](repeating: 0, count: pass.length)
                    var bounds = [Double](repeating: 0, count: pass.length + 1)
                    for index in range {
                        let start = pass.start(index)
                        for i in 0..<pass.length { line[i] = Double(box.value[start + i * pass.stride]) }
                        lowerEnvelope(line, into: &output, sites: &sites, bounds: &bounds)
                        for i in 0..<pass.length { box.value[start + i * pass.stride] = Float(output[i]) }
                    }
                }
            }
        }
        return distances
    }

    /// One-dimensional transform d[q] = min_p (q − p)² + f[p] (infinite f: no site there).
    static func lowerEnvelope(_ f: [Double], into d: inout [Double], sites v: inout [Int], bounds z: inout [Double]) {
        let n = f.count
        var k = -1
        for q in 0..<n where f[q].isFinite {
            var s = -Double.infinity
            while k >= 0 {
                let p = v[k]
                s = ((f[q] + Double(q * q)) - (f[p] + Double(p * p))) / Double(2 * (q - p))
                if s <= z[k] { k -= 1; s = -.infinity } else { break }
            }
            k += 1
            v[k] = q
            z[k] = s
        }
        guard k >= 0 else {
            for q in 0..<n { d[q] = .infinity }
            return
        }
        z[k + 1] = .infinity
        var j = 0
        for q in 0..<n {
            while z[j + 1] < Double(q) { j += 1 }
            let p = v[j]
            d[q] = Double((q - p) * (q - p)) + f[p]
        }
    }
}
