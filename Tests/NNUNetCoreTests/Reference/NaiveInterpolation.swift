import Foundation
@testable import NNUNetCore

/// Plain, slow reference versions of the interpolation kernels: dense linear solves instead of recursive filters,
/// explicit kernel sums instead of separable loops.
enum NaiveInterpolation {
    /// Cubic B-spline kernel β3.
    static func bspline3(_ x: Double) -> Double {
        let a = abs(x)
        if a < 1 { return 2.0 / 3 - a * a + a * a * a / 2 }
        if a < 2 { return pow(2 - a, 3) / 6 }
        return 0
    }

    /// Whole-sample mirror of an index into 0..<n.
    static func mirror(_ i: Int, _ n: Int) -> Int {
        if n == 1 { return 0 }
        var j = i
        while j < 0 || j >= n { j = j < 0 ? -j : 2 * (n - 1) - j }
        return j
    }

    /// Coefficients c with Σ_j c[mirror(j)] β3(i − j) = f[i] for every i, by Gaussian elimination (one 1D line).
    static func solveLine(_ f: [Double]) -> [Double] {
        let n = f.count
        if n == 1 { return f }
        var a = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n {
            for j in (i - 2)...(i + 2) { a[i][mirror(j, n)] += bspline3(Double(i - j)) }
        }
        var b = f
        for k in 0..<n {
            let p = (k..<n).max { abs(a[$0][k]) < abs(a[$1][k]) } ?? k
            a.swapAt(k, p); b.swapAt(k, p)
            for r in (k + 1)..<n {
                let factor = a[r][k] / a[k][k]
                for c in k..<n { a[r][c] -= factor * a[k][c] }
                b[r] -= factor * b[k]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for k in stride(from: n - 1, through: 0, by: -1) {
            var s = b[k]
            for c in (k + 1)..<n { s -= a[k][c] * x[c] }
            x[k] = s / a[k][k]
        }
        return x
    }

    /// Coefficients of a (z, y, x) volume: the 1D solve along every axis.
    static func coefficients(_ values: [Double], shape: [Int]) -> [Double] {
        var c = values
        for axis in 0..<3 {
            let n = shape[axis], stride = shape[(axis + 1)...].reduce(1, *), outer = shape[..<axis].reduce(1, *)
            for o in 0..<outer {
                for inner in 0..<stride {
                    let start = o * n * stride + inner
                    let line = solveLine((0..<n).map { c[start + $0 * stride] })
                    for i in 0..<n { c[start + i * stride] = line[i] }
                }
            }
        }
        return c
    }

    /// map_coordinates at one point, orders 0, 1, 3, constant (mirror taps inside) or nearest (order 3: pad 12).
    static func value(_ input: [Float], shape: [Int], point: [Double], order: Int,
                      boundary: InterpolationBoundary) -> Double {
        var shape = shape, values = input.map(Double.init), p = point
        if order == 3, boundary == .nearest {
            let padded = shape.map { $0 > 1 ? $0 + 24 : $0 }
            var v = [Double](repeating: 0, count: padded.reduce(1, *))
            for z in 0..<padded[0] {
                for y in 0..<padded[1] {
                    for x in 0..<padded[2] {
                        let src = [z, y, x].enumerated().map { d, i in
                            shape[d] > 1 ? min(max(i - 12, 0), shape[d] - 1) : 0
                        }
                        v[(z * padded[1] + y) * padded[2] + x] = values[(src[0] * shape[1] + src[1]) * shape[2] + src[2]]
                    }
                }
            }
            p = p.enumerated().map { d, c in shape[d] > 1 ? c + 12 : c }
            shape = padded
            values = v
        }
        switch boundary {
        case let .constant(cval):
            if (0..<3).contains(where: { p[$0] < 0 || p[$0] > Double(shape[$0] - 1) }) { return Double(cval) }
        case .nearest:
            p = (0..<3).map { min(max(p[$0], 0), Double(shape[$0] - 1)) }
        }
        func at(_ i: [Int]) -> Double { values[(i[0] * shape[1] + i[1]) * shape[2] + i[2]] }
        switch order {
        case 0:
            return at((0..<3).map { min(Int((p[$0] + 0.5).rounded(.down)), shape[$0] - 1) })
        case 1:
            var total = 0.0
            let base = p.map { Int($0.rounded(.down)) }
            for corner in 0..<8 {
                let offsets = [(corner >> 2) & 1, (corner >> 1) & 1, corner & 1]
                var w = 1.0
                var index = [0, 0, 0]
                for d in 0..<3 {
                    let t = p[d] - Double(base[d])
                    w *= offsets[d] == 1 ? t : 1 - t
                    index[d] = mirror(base[d] + offsets[d], shape[d])
                }
                total += w * at(index)
            }
            return total
        default:
            let c = coefficients(values, shape: shape)
            var total = 0.0
            let lo = p.map { Int($0.rounded(.down)) - 2 }
            for z in lo[0]...(lo[0] + 4) {
                for y in lo[1]...(lo[1] + 4) {
                    for x in lo[2]...(lo[2] + 4) {
                        let w = bspline3(p[0] - Double(z)) * bspline3(p[1] - Double(y)) * bspline3(p[2] - Double(x))
                        if w == 0 { continue }
                        let i = [mirror(z, shape[0]), mirror(y, shape[1]), mirror(x, shape[2])]
                        total += w * c[(i[0] * shape[1] + i[1]) * shape[2] + i[2]]
                    }
                }
            }
            return total
        }
    }

    /// scipy gaussian_filter (reflect, truncate 4) by direct summation over the separable kernel's product.
    static func gaussian(_ input: [Float], shape: [Int], sigma: Double) -> [Double] {
        let radius = Int(4 * sigma + 0.5)
        let raw = (-radius...radius).map { exp(-0.5 * Double($0 * $0) / (sigma * sigma)) }
        let w = raw.map { $0 / raw.reduce(0, +) }
        func reflect(_ i: Int, _ n: Int) -> Int {
            var j = i
            while j < 0 || j >= n { j = j < 0 ? -j - 1 : 2 * n - 1 - j }
            return j
        }
        var out = [Double](repeating: 0, count: input.count)
        for z in 0..<shape[0] {
            for y in 0..<shape[1] {
                for x in 0..<shape[2] {
                    var s = 0.0
                    for a in -radius...radius {
                        for b in -radius...radius {
                            for c in -radius...radius {
                                let i = (reflect(z + a, shape[0]) * shape[1] + reflect(y + b, shape[1])) * shape[2]
                                    + reflect(x + c, shape[2])
                                s += w[a + radius] * w[b + radius] * w[c + radius] * Double(input[i])
                            }
                        }
                    }
                    out[(z * shape[1] + y) * shape[2] + x] = s
                }
            }
        }
        return out
    }
}
