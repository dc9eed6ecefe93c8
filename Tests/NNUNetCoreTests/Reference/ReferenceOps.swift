import Foundation

/// Slow, obvious float64 implementations of the kernels, written straight from the formulas (PyTorch docs and
/// `Tests/Fixtures/unet_parity/README.md`). Spatial shapes are (D, H, W); 2D uses D = 1.
enum ReferenceOps {
    /// `out[n,co,o] = b[co] + Σ_{ci,k} w[co,ci,k] · x[n, ci, o·s - p + k]`, zero outside the input.
    static func conv(_ x: [Float], n: Int, cin: Int, size: [Int], _ w: [Float], cout: Int, kernel: [Int],
                     bias: [Float]?, stride: [Int], padding: [Int]) -> (values: [Double], size: [Int]) {
        var o: [Int] = []
        for axis in 0..<3 {
            let padded: Int = size[axis] + 2 * padding[axis]
            o.append((padded - kernel[axis]) / stride[axis] + 1)
        }
        var out = [Double](repeating: 0, count: n * cout * o[0] * o[1] * o[2])
        for b in 0..<n {
            for co in 0..<cout {
                for oz in 0..<o[0] {
                    for oy in 0..<o[1] {
                        for ox in 0..<o[2] {
                            var s = Double(bias?[co] ?? 0)
                            for ci in 0..<cin {
                                for kz in 0..<kernel[0] {
                                    let z = oz * stride[0] - padding[0] + kz
                                    if z < 0 || z >= size[0] { continue }
                                    for ky in 0..<kernel[1] {
                                        let y = oy * stride[1] - padding[1] + ky
                                        if y < 0 || y >= size[1] { continue }
                                        for kx in 0..<kernel[2] {
                                            let xx = ox * stride[2] - padding[2] + kx
                                            if xx < 0 || xx >= size[2] { continue }
                                            let wi = (((co * cin + ci) * kernel[0] + kz) * kernel[1] + ky) * kernel[2] + kx
                                            let xi = (((b * cin + ci) * size[0] + z) * size[1] + y) * size[2] + xx
                                            s += Double(w[wi]) * Double(x[xi])
                                        }
                                    }
                                }
                            }
                            out[(((b * cout + co) * o[0] + oz) * o[1] + oy) * o[2] + ox] = s
                        }
                    }
                }
            }
        }
        return (out, o)
    }

    /// Transposed conv with kernel = stride, no padding (README): every input voxel writes its own block,
    /// `out[n, o, z·kz + a, y·ky + b, x·kx + c] = Σ_ci in[n, ci, z, y, x] · W[ci, o, a, b, c]` (+ bias).
    static func convTransposeKernelEqualsStride(_ x: [Float], n: Int, cin: Int, size: [Int], _ w: [Float], cout: Int,
                                                kernel: [Int], bias: [Float]?) -> (values: [Double], size: [Int]) {
        let o: [Int] = [size[0] * kernel[0], size[1] * kernel[1], size[2] * kernel[2]]
        var out = [Double](repeating: 0, count: n * cout * o[0] * o[1] * o[2])
        for b in 0..<n {
            for co in 0..<cout {
                for z in 0..<size[0] { for y in 0..<size[1] { for xx in 0..<size[2] {
                    for a in 0..<kernel[0] { for bb in 0..<kernel[1] { for c in 0..<kernel[2] {
                        var s = Double(bias?[co] ?? 0)
                        for ci in 0..<cin {
                            let xi = (((b * cin + ci) * size[0] + z) * size[1] + y) * size[2] + xx
                            let wi = (((ci * cout + co) * kernel[0] + a) * kernel[1] + bb) * kernel[2] + c
                            s += Double(x[xi]) * Double(w[wi])
                        }
                        let oz = z * kernel[0] + a, oy = y * kernel[1] + bb, ox = xx * kernel[2] + c
                        out[(((b * cout + co) * o[0] + oz) * o[1] + oy) * o[2] + ox] = s
                    } } }
                } } }
            }
        }
        return (out, o)
    }

    /// `y = (x - mean) / sqrt(var + eps) · γ + β` per (n, c) plane, biased variance.
    static func instanceNorm(_ x: [Float], planes: Int, channels: Int, spatial: Int, gamma: [Float], beta: [Float],
                             epsilon: Double = 1e-5) -> [Double] {
        var out = [Double](repeating: 0, count: x.count)
        for p in 0..<planes {
            let plane = (0..<spatial).map { Double(x[p * spatial + $0]) }
            let mean = plane.reduce(0, +) / Double(spatial)
            let variance = plane.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(spatial)
            let c = p % channels
            for v in 0..<spatial {
                out[p * spatial + v] = (plane[v] - mean) / (variance + epsilon).squareRoot() * Double(gamma[c])
                    + Double(beta[c])
            }
        }
        return out
    }

    /// Softmax over axis 1 of `[N, C, inner]`.
    static func softmax(_ x: [Float], n: Int, c: Int, inner: Int) -> [Double] {
        var out = [Double](repeating: 0, count: x.count)
        for b in 0..<n {
            for i in 0..<inner {
                let values = (0..<c).map { Double(x[(b * c + $0) * inner + i]) }
                let m = values.max() ?? 0
                let s = values.map { Foundation.exp($0 - m) }.reduce(0, +)
                for k in 0..<c { out[(b * c + k) * inner + i] = Foundation.exp(values[k] - m) / s }
            }
        }
        return out
    }
}
