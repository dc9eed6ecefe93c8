import NNUNetCore

/// Exact Euclidean distance transform with anisotropic spacing (Felzenszwalb & Huttenlocher's separable lower
/// envelope of parabolas), the algorithm class of scipy's `distance_transform_edt`.
enum DistanceTransform {
    /// For every voxel, the squared distance (mm²) to the nearest site; +inf when there is no site.
    static func squaredEuclidean(sites: [Bool], shape: [Int], spacing: [Double], threads: Int) -> [Double] {
        let (d, h, w) = (shape[0], shape[1], shape[2])
        var f = sites.map { $0 ? 0.0 : Double.infinity }
        let strides = [h * w, w, 1], lengths = [d, h, w]
        for axis in [2, 1, 0] {
            let length = lengths[axis], stride = strides[axis], step = spacing[axis]
            guard length > 1 else { continue }
            // Lines along `axis`: enumerate their start indices.
            let lineCount = f.count / length
            f.withUnsafeMutableBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                parallelFor(lineCount, threads: threads, minimumChunk: 64) { range in
                    var line = [Double](repeating: 0, count: length), out = line
                    var v = [Int](repeating: 0, count: length), z = [Double](repeating: 0, count: length + 1)
                    for l in range {
                        let start: Int
                        switch axis {
                        case 2: start = l * w
                        case 1: start = (l / w) * h * w + l % w
                        default: start = l
                        }
                        for q in 0..<length { line[q] = base[start + q * stride] }
                        envelope(line, &out, &v, &z, step: step)
                        for q in 0..<length { base[start + q * stride] = out[q] }
                    }
                }
            }
        }
        return f
    }

    /// 1D squared distance transform of samples `f` at positions q * step.
    static func envelope(_ f: [Double], _ out: inout [Double], _ v: inout [Int], _ z: inout [Double], step: Double) {
        let n = f.count
        var k = -1
        for q in 0..<n where f[q].isFinite {
            let sq = Double(q) * step
            while k >= 0 {
                let p = v[k], sp = Double(p) * step
                let s = ((f[q] + sq * sq) - (f[p] + sp * sp)) / (2 * (sq - sp))
                if s <= z[k] { k -= 1 } else {
                    k += 1; v[k] = q; z[k] = s; z[k + 1] = .infinity
                    break
                }
            }
            if k < 0 { k = 0; v[0] = q; z[0] = -.infinity; z[1] = .infinity }
        }
        guard k >= 0 else {
            for q in 0..<n { out[q] = .infinity }
            return
        }
        var j = 0
        for q in 0..<n {
            let sq = Double(q) * step
            while z[j + 1] < sq { j += 1 }
            let dq = sq - Double(v[j]) * step
            out[q] = dq * dq + f[v[j]]
        }
    }
}
