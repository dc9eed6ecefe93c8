import Foundation

// Separable Gaussian smoothing with scipy.ndimage.gaussian_filter semantics.
//
// Layout: one channel, C-order; any rank 1...3 (shape (z, y, x), (y, x) or (x)).
// Per axis (in order 0, 1, 2): radius r = Int(truncate · σ + 0.5) with truncate 4, weights
// w_k = exp(−k² / (2σ²)) / Σ_j exp(−j² / (2σ²)) for k in −r...r, out[i] = Σ_k w_k · in[reflect(i + k)].
// "reflect" is scipy's half-sample symmetric extension (d c b a | a b c d | d c b a). Each pass accumulates in
// Double and stores Float, as scipy does for float32 input.

/// scipy `gaussian_filter(input, sigma, mode='reflect', truncate=4.0)` for one channel.
package enum GaussianFilter {
    /// The normalised kernel scipy builds for `sigma` (length 2r + 1).
    package static func kernel(sigma: Double, truncate: Double = 4) -> [Double] {
        let radius = Int(truncate * sigma + 0.5)
        let weights = (-radius...radius).map { exp(-0.5 * Double($0 * $0) / (sigma * sigma)) }
        let sum = weights.reduce(0, +)
        return weights.map { $0 / sum }
    }

    /// Smooths `values` (shape `shape`) in place with the same σ on every axis.
    ///
    /// - Parameters:
    ///   - threads: lines of one axis are split over this many threads.
    package static func apply(_ values: inout [Float], shape: [Int], sigma: Double, truncate: Double = 4,
                              threads: Int = 1) {
        precondition(values.count == shape.reduce(1, *), "gaussian_filter: \(values.count) values for \(shape)")
        guard sigma > 0 else { return }
        let weights = kernel(sigma: sigma, truncate: truncate)
        let radius = weights.count / 2
        for axis in 0..<shape.count {
            let n = shape[axis]
            let stride = shape[(axis + 1)...].reduce(1, *)
            let outer = shape[..<axis].reduce(1, *)
            values.withUnsafeMutableBufferPointer { buffer in
                let box = UnsafeSendableBox(buffer)
                parallelFor(outer * stride, threads: threads, minimumChunk: 64) { lines in
                    // The line with `radius` reflected samples on each side.
                    var padded = [Double](repeating: 0, count: n + 2 * radius)
                    for lineIndex in lines {
                        let o = lineIndex / stride, inner = lineIndex % stride
                        let start = o * n * stride + inner
                        for i in 0..<padded.count {
                            padded[i] = Double(box.value[start + reflect(i - radius, n) * stride])
                        }
                        for i in 0..<n {
                            var sum = 0.0
                            for k in 0..<weights.count { sum += weights[k] * padded[i + k] }
                            box.value[start + i * stride] = Float(sum)
                        }
                    }
                }
            }
        }
    }

    /// scipy's "reflect" boundary: index into [0, n − 1] with the edge sample repeated (−1 → 0, n → n − 1).
    @inline(__always)
    static func reflect(_ i: Int, _ n: Int) -> Int {
        let period = 2 * n
        var j = i % period
        if j < 0 { j += period }
        return j < n ? j : period - 1 - j
    }
}
