import Foundation

// Softmax and log-softmax along one axis (channels by default), fused for numerical stability.
//
// For outer index o, channel c and inner index i (x viewed as [outer, C, inner]):
//   softmax:     y[o,c,i] = exp(x[o,c,i] - m) / sum_c' exp(x[o,c',i] - m),  m = max_c x[o,c,i]
//   log-softmax: y[o,c,i] = x[o,c,i] - m - log(sum_c' exp(x[o,c',i] - m))
// Backward: softmax gx = y * (g - sum_c g*y); log-softmax gx = g - softmax(x) * sum_c g.

extension Kernels {
    enum SoftmaxKind { case softmax, logSoftmax }

    /// Softmax or log-softmax of `x` viewed as `[outer, channels, inner]`, along the channel axis.
    static func softmax(_ x: [Float], outer: Int, channels: Int, inner: Int, kind: SoftmaxKind) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { po in
                guard let bx = px.baseAddress, let bo = po.baseAddress else { return }
                let total = outer * inner
                let threads = x.count >= Kernels.parallelThreshold ? ThreadSettings.defaultThreads : 1
                let output = UnsafeSendableBox(bo)
                parallelFor(total, threads: threads, minimumChunk: 256) { range in
                    for index in range {
                        let o = index / inner, i = index % inner
                        let src = bx + o * channels * inner + i, dst = output.value + o * channels * inner + i
                        var m = -Float.infinity
                        for c in 0..<channels { m = max(m, src[c * inner]) }
                        var s: Float = 0
                        for c in 0..<channels { s += Foundation.exp(src[c * inner] - m) }
                        switch kind {
                        case .softmax:
                            let inv = 1 / s
                            for c in 0..<channels { dst[c * inner] = Foundation.exp(src[c * inner] - m) * inv }
                        case .logSoftmax:
                            let shift = m + Foundation.log(s)
                            for c in 0..<channels { dst[c * inner] = src[c * inner] - shift }
                        }
                    }
                }
            }
        }
        return out
    }
}
