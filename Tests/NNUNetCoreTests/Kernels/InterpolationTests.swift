import Foundation
import Testing
@testable import NNUNetCore

/// Naive reference implementations of skimage `resize` (order 3 and the order-1 label rule), written from the
/// definitions: edge padding, B-spline coefficients by solving the tridiagonal interpolation system, 64-tap
/// tensor-product evaluation; per-voxel label scores over the 8 corners.
enum ResizeReference {
    static let padding = 12

    static func bspline(_ d: Double) -> Double {
        let a = abs(d)
        if a < 1 { return 2.0 / 3.0 - a * a + a * a * a / 2 }
        if a < 2 { return (2 - a) * (2 - a) * (2 - a) / 6 }
        return 0
    }

    /// Coefficients c with (c[i-1] + 4 c[i] + c[i+1]) / 6 = f[i], mirror boundary (c[-1] = c[1]).
    static func coefficients(_ f: [Double]) -> [Double] {
        let n = f.count
        if n == 1 { return f }
        var lower = [Double](repeating: 1.0 / 6, count: n), diag = [Double](repeating: 4.0 / 6, count: n)
        var upper = [Double](repeating: 1.0 / 6, count: n), rhs = f
        upper[0] = 2.0 / 6
        lower[n - 1] = 2.0 / 6
        for i in 1..<n {
            let m = lower[i] / diag[i - 1]
            diag[i] -= m * upper[i - 1]
            rhs[i] -= m * rhs[i - 1]
        }
        var c = [Double](repeating: 0, count: n)
        c[n - 1] = rhs[n - 1] / diag[n - 1]
        for i in stride(from: n - 2, through: 0, by: -1) { c[i] = (rhs[i] - upper[i] * c[i + 1]) / diag[i] }
        return c
    }

    static func cubic(_ input: [Float], shape s: [Int], to t: [Int]) -> [Float] {
        let p = s.map { $0 + 2 * padding }
        var c = [Double](repeating: 0, count: p.reduce(1, *))
        for z in 0..<p[0] {
            for y in 0..<p[1] {
                for x in 0..<p[2] {
                    let sz = min(max(z - padding, 0), s[0] - 1), sy = min(max(y - padding, 0), s[1] - 1)
                    let sx = min(max(x - padding, 0), s[2] - 1)
                    c[(z * p[1] + y) * p[2] + x] = Double(input[(sz * s[1] + sy) * s[2] + sx])
                }
            }
        }
        // Prefilter along each axis.
        for axis in 0..<3 {
            let stride = axis == 0 ? p[1] * p[2] : (axis == 1 ? p[2] : 1)
            for base in 0..<c.count {
                let coordinate = axis == 0 ? base / (p[1] * p[2]) : (axis == 1 ? (base / p[2]) % p[1] : base % p[2])
                guard coordinate == 0 else { continue }
                let line = (0..<p[axis]).map { c[base + $0 * stride] }
                let solved = coefficients(line)
                for i in 0..<p[axis] { c[base + i * stride] = solved[i] }
            }
        }
        let lo = Double(input.min() ?? 0), hi = Double(input.max() ?? 0)
        var out = [Float]()
        func position(_ j: Int, _ axis: Int) -> Double {
            (Double(j) + 0.5) * Double(s[axis]) / Double(t[axis]) - 0.5 + Double(padding)
        }
        for z in 0..<t[0] {
            for y in 0..<t[1] {
                for x in 0..<t[2] {
                    let q = [position(z, 0), position(y, 1), position(x, 2)]
                    let f = q.map { Int($0.rounded(.down)) - 1 }
                    var sum = 0.0
                    for a in 0..<4 {
                        for b in 0..<4 {
                            for d in 0..<4 {
                                let (iz, iy, ix) = (f[0] + a, f[1] + b, f[2] + d)
                                let w = bspline(q[0] - Double(iz)) * bspline(q[1] - Double(iy)) * bspline(q[2] - Double(ix))
                                sum += w * c[(iz * p[1] + iy) * p[2] + ix]
                            }
                        }
                    }
                    out.append(Float(min(max(sum, lo), hi)))
                }
            }
        }
        return out
    }

    static func labels(_ input: [Float], shape s: [Int], to t: [Int]) -> [Float] {
        let labels = Array(Set(input)).sorted()
        func axis(_ j: Int, _ a: Int) -> (Int, Int, Double, Int) {
            // scipy forms the zoom first: (j + 0.5) * (n / m) - 0.5, clamped to the input.
            let zoom = Double(s[a]) / Double(t[a])
            let c = min(max((Double(j) + 0.5) * zoom - 0.5, 0), Double(s[a] - 1))
            let lo = Int(c.rounded(.down))
            // (low, high, t, nearest); weights as scipy forms them: w0 = 1 - t, w1 = 1 - w0.
            return (lo, min(lo + 1, s[a] - 1), c - Double(lo), min(Int((c + 0.5).rounded(.down)), s[a] - 1))
        }
        var out = [Float]()
        for z in 0..<t[0] {
            for y in 0..<t[1] {
                for x in 0..<t[2] {
                    let az = axis(z, 0), ay = axis(y, 1), ax = axis(x, 2)
                    var scores = [Float: Double]()
                    for (iz, wz) in [(az.0, 1 - az.2), (az.1, 1 - (1 - az.2))] {
                        for (iy, wy) in [(ay.0, 1 - ay.2), (ay.1, 1 - (1 - ay.2))] {
                            for (ix, wx) in [(ax.0, 1 - ax.2), (ax.1, 1 - (1 - ax.2))] {
                                scores[input[(iz * s[1] + iy) * s[2] + ix], default: 0] += wz * wy * wx
                            }
                        }
                    }
                    let best = scores.values.max() ?? 0
                    let nearest = input[(az.3 * s[1] + ay.3) * s[2] + ax.3]
                    let tied = labels.filter { (scores[$0] ?? 0) == best && best > 0 }
                    out.append(tied.contains(nearest) ? nearest : (tied.first ?? labels[0]))
                }
            }
        }
        return out
    }
}

@Suite struct InterpolationTests {
    static func smoothField(_ shape: [Int], seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0..<shape.reduce(1, *)).map { i in
            let x = i % shape[2], y = (i / shape[2]) % shape[1], z = i / (shape[1] * shape[2])
            let smooth: Double = sin(Double(x) * 0.7) + cos(Double(y) * 0.4 + Double(z))
            let noise: Double = Double.random(in: -0.3...0.3, using: &generator)
            return Float(smooth + noise)
        }
    }

    @Test(arguments: [([5, 7, 6], [8, 5, 9]), ([9, 4, 11], [6, 7, 5]), ([3, 8, 8], [3, 13, 5]), ([1, 6, 7], [1, 9, 4])])
    func cubicMatchesNaiveTensorProductSpline(shape: [Int], newShape: [Int]) {
        let input = Self.smoothField(shape, seed: 3)
        let fast = Resampling.resizeCubic(input, shape: shape, to: newShape, threads: 2)
        let slow = ResizeReference.cubic(input, shape: shape, to: newShape)
        #expect(fast.count == newShape.reduce(1, *))
        let worst = zip(fast, slow).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 1e-5, "max difference \(worst)")
    }

    @Test func cubicIsIdentityForUnchangedShapeAndKeepsConstants() {
        let input = Self.smoothField([4, 5, 6], seed: 1)
        #expect(Resampling.resizeCubic(input, shape: [4, 5, 6], to: [4, 5, 6]) == input)
        let constant = [Float](repeating: 2.5, count: 60)
        let out = Resampling.resizeCubic(constant, shape: [3, 4, 5], to: [7, 2, 9])
        #expect(out.allSatisfy { abs($0 - 2.5) < 1e-6 })
    }

    @Test func twoDimensionalResizeEqualsOneSliceVolume() {
        let input = Self.smoothField([1, 9, 7], seed: 5)
        let a = Resampling.resizeCubic(input, shape: [9, 7], to: [5, 12])
        let b = Resampling.resizeCubic(input, shape: [1, 9, 7], to: [1, 5, 12])
        #expect(a == b)
    }

    @Test(arguments: [([6, 7, 5], [9, 4, 8]), ([5, 9, 9], [7, 13, 6]), ([4, 4, 4], [8, 8, 8])])
    func labelResizeMatchesNaiveRule(shape: [Int], newShape: [Int]) {
        var generator = SeededGenerator(seed: 11)
        let input = (0..<shape.reduce(1, *)).map { _ in Float(Int.random(in: -1...2, using: &generator)) }
        let fast = Resampling.resizeSegmentation(input, shape: shape, to: newShape, threads: 2)
        let slow = ResizeReference.labels(input, shape: shape, to: newShape)
        let mismatches = fast.indices.filter { fast[$0] != slow[$0] }
        #expect(mismatches.isEmpty, "voxels \(mismatches.prefix(5)) differ")
    }

    /// Exact ties go to the nearest-neighbour label (batchgenerators 0.25.5), not to the smaller label.
    @Test func labelTieGoesToNearestNeighbour() {
        // [0, 2] -> 1 voxel: sample at 0.5, both indicators 0.5; nearest index floor(0.5 + 0.5) = 1 -> label 2.
        #expect(Resampling.resizeSegmentation([0, 2], shape: [1, 1, 2], to: [1, 1, 1]) == [2])
        #expect(Resampling.resizeSegmentation([2, 0], shape: [1, 1, 2], to: [1, 1, 1]) == [0])
        // [0, 0, 2] -> 2 voxels at 0.25 and 1.75: 0 then 2 (no intermediate label).
        #expect(Resampling.resizeSegmentation([0, 0, 2], shape: [1, 1, 3], to: [1, 1, 2]) == [0, 2])
        // Upsampling keeps only input labels.
        let up = Resampling.resizeSegmentation([0, 2, 2, 0], shape: [1, 2, 2], to: [1, 5, 5])
        #expect(Set(up).isSubset(of: [0, 2]))
    }

    @Test func nearestAlongAxisUsesPixelCentres() {
        // 4 slices -> 6: centres map to floor((j + 0.5) * 4/6 - 0.5 + 0.5), clamped.
        let input: [Float] = [0, 1, 2, 3]
        let out = Resampling.resampleNearest(input, shape: [4, 1, 1], axis: 0, to: 6)
        // j = 4: (4.5 * 4/6) - 0.5 = 2.5 -> floor(3.0) = 3 (halves round up).
        #expect(out == [0, 1, 1, 2, 3, 3])
        let down = Resampling.resampleNearest(input, shape: [4, 1, 1], axis: 0, to: 2)
        #expect(down == [1, 3])
    }

    @Test func separateZResizesInPlaneThenNearestAlongTheAxis() {
        let shape = [4, 6, 5], newShape = [7, 9, 3]
        let input = Self.smoothField(shape, seed: 9)
        let out = Resampling.resampleLikeNNUNet(input, shape: shape, to: newShape, isSegmentation: false,
                                                separateAxis: 0)
        // Reference: each slice resized in 2D (clipped to its own range), then nearest slice along z.
        let slices = (0..<4).map { z -> [Float] in
            let slice = Array(input[(z * 30)..<((z + 1) * 30)])
            return Resampling.resizeCubic(slice, shape: [6, 5], to: [9, 3])
        }
        let zMap: [Int] = (0..<7).map { (j: Int) -> Int in
            let centre: Double = (Double(j) + 0.5) * 4.0 / 7.0
            return min(Int(centre.rounded(.down)), 3)
        }
        let expected = zMap.flatMap { slices[$0] }
        #expect(zip(out, expected).allSatisfy { abs($0 - $1) < 1e-6 })
        // Slice-wise clipping: every output slice stays within its source slice's range.
        for (j, z) in zMap.enumerated() {
            let source = input[(z * 30)..<((z + 1) * 30)]
            let slice = out[(j * 27)..<((j + 1) * 27)]
            #expect(slice.min()! >= source.min()! && slice.max()! <= source.max()!)
        }
    }
}
