import NNUNetCore

/// The one closeness rule of the tests: |a - b| <= absolute + relative * max(|a|, |b|) elementwise
/// (the semantics of swift-numerics' `isApproximatelyEqual`). Returns the worst violation description or nil.
func mismatch(_ a: [Float], _ b: [Float], relative: Float = 1e-4, absolute: Float = 1e-5) -> String? {
    guard a.count == b.count else { return "counts differ: \(a.count) vs \(b.count)" }
    var worst: (Int, Float) = (-1, 0)
    for i in 0..<a.count {
        let tolerance = absolute + relative * max(abs(a[i]), abs(b[i]))
        let excess = abs(a[i] - b[i]) - tolerance
        if excess > worst.1 || (a[i].isNaN != b[i].isNaN) { worst = (i, max(excess, 1)) }
    }
    return worst.0 < 0 ? nil : "index \(worst.0): \(a[worst.0]) vs \(b[worst.0])"
}

func mismatch(_ a: [Float], _ b: [Double], relative: Float = 1e-4, absolute: Float = 1e-5) -> String? {
    mismatch(a, b.map { Float($0) }, relative: relative, absolute: absolute)
}

/// Random tensor with a fixed seed (values standard normal).
func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1, requiresGrad: Bool = false) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    return Tensor.randomNormal(shape, standardDeviation: scale, using: &generator, requiresGrad: requiresGrad)
}
