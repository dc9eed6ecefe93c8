import Foundation

extension Kernels {
    /// Instance normalisation forward, one (n, c) plane of `spatial` voxels at a time.
    ///
    /// For plane p = (n, c) with voxels v: mean = Σ x / V, var = Σ (x - mean)² / V (biased),
    /// invstd = 1 / sqrt(var + eps), y = (x - mean) · invstd · γ[c] + β[c].
    /// Statistics accumulate in Float64. Returns y and the per-plane mean and invstd (saved for backward).
    /// With `negativeSlope`, leaky ReLU is applied in the same pass (values identical to
    /// ``leakyReLUInPlace(_:negativeSlope:)`` afterwards).
    static func instanceNormForward(_ x: [Float], planes: Int, channels: Int, spatial: Int, gamma: [Float]?,
                                    beta: [Float]?, epsilon: Float, negativeSlope: Float? = nil)
        -> (y: [Float], mean: [Float], invstd: [Float]) {
        var y = Kernels.overwrittenBuffer(count: x.count)
        var means = [Float](repeating: 0, count: planes), invstds = [Float](repeating: 0, count: planes)
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { py in
                means.withUnsafeMutableBufferPointer { pm in
                    invstds.withUnsafeMutableBufferPointer { pi in
                        guard let bx = px.baseAddress, let by = py.baseAddress, let bm = pm.baseAddress,
                              let bi = pi.baseAddress else { return }
                        let out = UnsafeSendableBox((by, bm, bi))
                        parallelFor(planes, threads: x.count >= parallelThreshold ? ThreadSettings.defaultThreads : 1) {
                            range in
                            for p in range {
                                let c = p % channels
                                let (mean, invstd) = normalizePlane(bx + p * spatial, into: out.value.0 + p * spatial,
                                                                    spatial: spatial, gamma: gamma?[c] ?? 1,
                                                                    beta: beta?[c] ?? 0, epsilon: epsilon,
                                                                    negativeSlope: negativeSlope)
                                out.value.1[p] = mean
                                out.value.2[p] = invstd
                            }
                        }
                    }
                }
            }
        }
        return (y, means, invstds)
    }

    /// One (n, c) plane: statistics in Float64 (two passes), then `dst = src · scale + shift` with
    /// `scale = invstd · γ`, `shift = β - mean · scale`, and leaky ReLU when `negativeSlope` is given. `dst` may be
    /// `src` (in place). Returns the plane's mean and invstd.
    @inline(__always)
    private static func normalizePlane(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, spatial: Int,
                                       gamma: Float, beta: Float, epsilon: Float,
                                       negativeSlope: Float?) -> (mean: Float, invstd: Float) {
        var s = 0.0
        for v in 0..<spatial { s += Double(src[v]) }
        let mean = s / Double(spatial)
        var q = 0.0
        for v in 0..<spatial { let d = Double(src[v]) - mean; q += d * d }
        let invstd = 1 / (q / Double(spatial) + Double(epsilon)).squareRoot()
        let scale = Float(invstd) * gamma
        let shift = beta - Float(mean) * scale
        if let slope = negativeSlope {
            for v in 0..<spatial {
                let value = src[v] * scale + shift
                dst[v] = value < 0 ? value * slope : value
            }
        } else {
            for v in 0..<spatial { dst[v] = src[v] * scale + shift }
        }
        return (Float(mean), Float(invstd))
    }

    /// Instance normalisation followed by leaky ReLU, in place (inference: nothing is kept for backward). Same
    /// statistics and arithmetic as
    /// ``instanceNormForward(_:planes:channels:spatial:gamma:beta:epsilon:negativeSlope:)``, so the values are
    /// identical; it needs no second volume.
    static func instanceNormLeakyReLUInPlace(_ x: inout [Float], planes: Int, channels: Int, spatial: Int,
                                             gamma: [Float]?, beta: [Float]?, epsilon: Float, negativeSlope: Float) {
        let threads = x.count >= parallelThreshold ? ThreadSettings.defaultThreads : 1
        x.withUnsafeMutableBufferPointer { px in
            guard let bx = px.baseAddress else { return }
            let box = UnsafeSendableBox(bx)
            parallelFor(planes, threads: threads) { range in
                for p in range {
                    let plane = box.value + p * spatial, c = p % channels
                    _ = normalizePlane(plane, into: plane, spatial: spatial, gamma: gamma?[c] ?? 1, beta: beta?[c] ?? 0,
                                       epsilon: epsilon, negativeSlope: negativeSlope)
                }
            }
        }
    }

    /// Instance normalisation backward. With x̂ = (x - mean) · invstd and per-plane sums over V voxels:
    /// dβ[c] = Σ_n Σ g, dγ[c] = Σ_n Σ g·x̂, dx = γ[c] · invstd / V · (V·g - Σ g - x̂ · Σ g·x̂).
    static func instanceNormBackward(_ g: [Float], x: [Float], mean: [Float], invstd: [Float], planes: Int,
                                     channels: Int, spatial: Int, gamma: [Float]?)
        -> (dx: [Float], dGamma: [Float], dBeta: [Float]) {
        var dx = [Float](repeating: 0, count: x.count)
        var sumG = [Double](repeating: 0, count: planes), sumGX = [Double](repeating: 0, count: planes)
        g.withUnsafeBufferPointer { pg in
            x.withUnsafeBufferPointer { px in
                dx.withUnsafeMutableBufferPointer { pd in
                    sumG.withUnsafeMutableBufferPointer { psg in
                        sumGX.withUnsafeMutableBufferPointer { psgx in
                            guard let bg = pg.baseAddress, let bx = px.baseAddress, let bd = pd.baseAddress,
                                  let bsg = psg.baseAddress, let bsgx = psgx.baseAddress else { return }
                            let out = UnsafeSendableBox((bd, bsg, bsgx))
                            parallelFor(planes, threads: x.count >= parallelThreshold
                                        ? ThreadSettings.defaultThreads : 1) { range in
                                for p in range {
                                    let gp = bg + p * spatial, xp = bx + p * spatial, dp = out.value.0 + p * spatial
                                    let m = mean[p], inv = invstd[p]
                                    var sg = 0.0, sgx = 0.0
                                    for v in 0..<spatial {
                                        let xhat = (xp[v] - m) * inv
                                        sg += Double(gp[v])
                                        sgx += Double(gp[v] * xhat)
                                    }
                                    out.value.1[p] = sg
                                    out.value.2[p] = sgx
                                    let c = p % channels
                                    let k = (gamma?[c] ?? 1) * inv / Float(spatial)
                                    let a = Float(spatial), b = Float(sg), d = Float(sgx)
                                    for v in 0..<spatial {
                                        let xhat = (xp[v] - m) * inv
                                        dp[v] = k * (a * gp[v] - b - xhat * d)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var dGamma = [Float](repeating: 0, count: channels), dBeta = [Float](repeating: 0, count: channels)
        var accG = [Double](repeating: 0, count: channels), accB = [Double](repeating: 0, count: channels)
        for p in 0..<planes {
            accB[p % channels] += sumG[p]
            accG[p % channels] += sumGX[p]
        }
        for c in 0..<channels { dGamma[c] = Float(accG[c]); dBeta[c] = Float(accB[c]) }
        return (dx, dGamma, dBeta)
    }
}
