import CNNUNetKernels
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

    /// One (n, c) plane: statistics in Float64 (two passes, ``planeMoments(_:count:)``), then
    /// ``applyNormalization(_:into:spatial:mean:invstd:gamma:beta:negativeSlope:)``. `dst` may be `src` (in place).
    /// Returns the plane's mean and invstd.
    @inline(__always)
    private static func normalizePlane(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, spatial: Int,
                                       gamma: Float, beta: Float, epsilon: Float,
                                       negativeSlope: Float?) -> (mean: Float, invstd: Float) {
        let (mean, m2) = planeMoments(src, count: spatial)
        let invstd = 1 / (m2 / Double(spatial) + Double(epsilon)).squareRoot()
        applyNormalization(src, into: dst, spatial: spatial, mean: mean, invstd: invstd, gamma: gamma, beta: beta,
                           negativeSlope: negativeSlope)
        return (Float(mean), Float(invstd))
    }

    /// Mean and sum of squared deviations (M2) of `count` values, in Float64, in two passes (a C kernel with vector
    /// clones: 32 partial sums folded in a fixed order, the same bits on every CPU).
    @inline(__always)
    static func planeMoments(_ src: UnsafePointer<Float>, count: Int) -> (mean: Double, m2: Double) {
        var mean = 0.0, m2 = 0.0
        nnunet_plane_moments(src, count, &mean, &m2)
        return (mean, m2)
    }

    /// `dst = src · scale + shift` with `scale = invstd · γ`, `shift = β - mean · scale` (in Float32), and leaky ReLU
    /// when `negativeSlope` is given. `dst` may be `src`.
    @inline(__always)
    static func applyNormalization(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, spatial: Int,
                                   mean: Double, invstd: Double, gamma: Float, beta: Float, negativeSlope: Float?) {
        let scale = Float(invstd) * gamma
        let shift = beta - Float(mean) * scale
        nnunet_scale_shift(src, dst, spatial, scale, shift, negativeSlope == nil ? 0 : 1, negativeSlope ?? 0)
    }

    /// Normalisation with statistics computed elsewhere (per plane: Float64 mean and invstd, as
    /// ``instanceNormLeakyReLUInPlace(_:planes:channels:spatial:gamma:beta:epsilon:negativeSlope:)`` derives them from
    /// the plane itself), then leaky ReLU, in place: the same arithmetic, so equal statistics give equal values. Used
    /// when a plane is evaluated in parts (``GenericUNet/forwardInSlabs(_:slabDepth:)``).
    static func normalizeLeakyReLUInPlace(_ x: inout [Float], planes: Int, channels: Int, spatial: Int,
                                          mean: [Double], invstd: [Double], gamma: [Float]?, beta: [Float]?,
                                          negativeSlope: Float) {
        precondition(mean.count == planes && invstd.count == planes && x.count == planes * spatial,
                     "normalizeLeakyReLUInPlace: \(x.count) values, \(planes) planes of \(spatial), "
                     + "\(mean.count) statistics")
        forEachPlane(of: &x, planes: planes, spatial: spatial) { plane, p in
            let c = p % channels
            applyNormalization(plane, into: plane, spatial: spatial, mean: mean[p], invstd: invstd[p],
                               gamma: gamma?[c] ?? 1, beta: beta?[c] ?? 0, negativeSlope: negativeSlope)
        }
    }

    /// Runs `body` on each of the `planes` consecutive planes of `spatial` values in `x` (the plane's first value,
    /// its index), in parallel when `x` is large.
    private static func forEachPlane(of x: inout [Float], planes: Int, spatial: Int,
                                     _ body: (UnsafeMutablePointer<Float>, Int) -> Void) {
        let threads = x.count >= parallelThreshold ? ThreadSettings.defaultThreads : 1
        x.withUnsafeMutableBufferPointer { px in
            guard let bx = px.baseAddress else { return }
            let box = UnsafeSendableBox(bx)
            parallelFor(planes, threads: threads) { range in
                for p in range { body(box.value + p * spatial, p) }
            }
        }
    }

    /// Per-plane moments (count, mean, M2) of `planes` consecutive planes of `spatial` values each, merged into
    /// `statistics` with Chan et al.'s pairwise formula (M2 = M2a + M2b + δ² · na · nb / n): the moments of a plane
    /// evaluated in parts, numerically as stable as the two-pass formula on the whole plane.
    static func accumulateMoments(_ x: [Float], planes: Int, spatial: Int, into statistics: inout PlaneMoments) {
        precondition(statistics.mean.count == planes && x.count == planes * spatial,
                     "accumulateMoments: \(x.count) values for \(planes) planes of \(spatial)")
        var parts = [(mean: Double, m2: Double)](repeating: (0, 0), count: planes)
        let threads = x.count >= parallelThreshold ? ThreadSettings.defaultThreads : 1
        x.withUnsafeBufferPointer { px in
            parts.withUnsafeMutableBufferPointer { pp in
                guard let bx = px.baseAddress, let bp = pp.baseAddress else { return }
                let box = UnsafeSendableBox(bp)
                parallelFor(planes, threads: threads) { range in
                    for p in range { box.value[p] = planeMoments(bx + p * spatial, count: spatial) }
                }
            }
        }
        guard spatial > 0 else { return }
        let nb = Double(spatial)
        for p in 0..<planes {
            let na = statistics.count
            if na == 0 {
                statistics.mean[p] = parts[p].mean
                statistics.m2[p] = parts[p].m2
                continue
            }
            let n = na + nb, delta = parts[p].mean - statistics.mean[p]
            statistics.mean[p] += delta * nb / n
            statistics.m2[p] += parts[p].m2 + delta * delta * na * nb / n
        }
        statistics.count += nb
    }

    /// Running moments of a set of planes that all receive the same number of values (see
    /// ``accumulateMoments(_:planes:spatial:into:)``).
    struct PlaneMoments {
        /// Values seen per plane so far.
        var count = 0.0
        /// Mean per plane.
        var mean: [Double]
        /// Sum of squared deviations from the mean per plane.
        var m2: [Double]

        /// No values yet, for `planes` planes.
        init(planes: Int) {
            mean = [Double](repeating: 0, count: planes)
            m2 = [Double](repeating: 0, count: planes)
        }

        /// 1 / sqrt(biased variance + epsilon) per plane, as instance normalisation computes it.
        func invstd(epsilon: Float) -> [Double] {
            m2.map { 1 / ($0 / count + Double(epsilon)).squareRoot() }
        }
    }

    /// Instance normalisation followed by leaky ReLU, in place (inference: nothing is kept for backward). Same
    /// statistics and arithmetic as
    /// ``instanceNormForward(_:planes:channels:spatial:gamma:beta:epsilon:negativeSlope:)``, so the values are
    /// identical; it needs no second volume.
    static func instanceNormLeakyReLUInPlace(_ x: inout [Float], planes: Int, channels: Int, spatial: Int,
                                             gamma: [Float]?, beta: [Float]?, epsilon: Float, negativeSlope: Float) {
        forEachPlane(of: &x, planes: planes, spatial: spatial) { plane, p in
            let c = p % channels
            _ = normalizePlane(plane, into: plane, spatial: spatial, gamma: gamma?[c] ?? 1, beta: beta?[c] ?? 0,
                               epsilon: epsilon, negativeSlope: negativeSlope)
        }
    }

    /// Instance normalisation backward. With x̂ = (x - mean) · invstd and per-plane sums over V voxels:
    /// dβ[c] = Σ_n Σ g, dγ[c] = Σ_n Σ g·x̂, dx = γ[c] · invstd / V · (V·g - Σ g - x̂ · Σ g·x̂).
    /// With `leakyOutput` (the output of a leaky ReLU applied to the normalisation), `g` is the gradient at that
    /// output, and the ReLU's backward (`g` where the output is non-negative, `negativeSlope · g` elsewhere) is applied
    /// on the fly: no gradient-sized intermediate.
    static func instanceNormBackward(_ g: [Float], x: [Float], mean: [Float], invstd: [Float], planes: Int,
                                     channels: Int, spatial: Int, gamma: [Float]?, leakyOutput: [Float]? = nil,
                                     negativeSlope: Float = 0)
        -> (dx: [Float], dGamma: [Float], dBeta: [Float]) {
        if let leakyOutput {
            precondition(leakyOutput.count == g.count, "instanceNormBackward: \(leakyOutput.count) outputs for "
                         + "\(g.count) gradients")
        }
        var dx = overwrittenBuffer(count: x.count)
        var sumG = [Double](repeating: 0, count: planes), sumGX = [Double](repeating: 0, count: planes)
        let output = leakyOutput ?? []
        output.withUnsafeBufferPointer { po in
        g.withUnsafeBufferPointer { pg in
            x.withUnsafeBufferPointer { px in
                dx.withUnsafeMutableBufferPointer { pd in
                    sumG.withUnsafeMutableBufferPointer { psg in
                        sumGX.withUnsafeMutableBufferPointer { psgx in
                            guard let bg = pg.baseAddress, let bx = px.baseAddress, let bd = pd.baseAddress,
                                  let bsg = psg.baseAddress, let bsgx = psgx.baseAddress else { return }
                            let out = UnsafeSendableBox((bd, bsg, bsgx))
                            let leaky = UnsafeSendableBox(leakyOutput == nil ? nil : po.baseAddress)
                            parallelFor(planes, threads: x.count >= parallelThreshold
                                        ? ThreadSettings.defaultThreads : 1) { range in
                                for p in range {
                                    let offset = p * spatial
                                    nnunet_instance_norm_backward_plane(bg + offset, leaky.value.map { $0 + offset },
                                                                        negativeSlope, bx + offset,
                                                                        out.value.0 + offset, spatial, mean[p],
                                                                        invstd[p], gamma?[p % channels] ?? 1,
                                                                        out.value.1 + p, out.value.2 + p)
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
