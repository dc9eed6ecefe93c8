import NNUNetCore
import Testing

/// Checks autograd gradients against central finite differences.
///
/// The scalar probed is `L = Σ R ⊙ f(inputs)` with a fixed random R (so every output element matters), summed in
/// Float64. The analytic gradient comes from `f(inputs).backward(gradient: R)`; the numeric one perturbs up to
/// `samples` elements of each input by ±h. Unaffected outputs are bit-identical between the two evaluations (the
/// kernels are deterministic), so the float32 rounding noise stays small against 2h. The check is a relative error
/// of the sampled gradient vector: ‖analytic − numeric‖ / max(‖numeric‖, 1e-3) < tolerance.
func checkGradients(_ inputs: [Tensor], h: Float = 1e-2, samples: Int = 24, tolerance: Double = 1e-2,
                    seed: UInt64 = 99, sourceLocation: SourceLocation = #_sourceLocation,
                    _ f: ([Tensor]) -> Tensor) {
    for input in inputs { input.requiresGrad = true; input.grad = nil }
    let y = f(inputs)
    let r = randomTensor(y.shape, seed: seed)
    y.backward(gradient: r)
    func probe() -> Double {
        withoutGradients {
            let out = f(inputs)
            var s = 0.0
            for i in 0..<out.count { s += Double(out.data[i]) * Double(r.data[i]) }
            return s
        }
    }
    var generator = SeededGenerator(seed: seed &+ 1)
    for (index, input) in inputs.enumerated() {
        guard let grad = input.grad else {
            Issue.record("input \(index) (shape \(input.shape)) got no gradient", sourceLocation: sourceLocation)
            continue
        }
        let positions = input.count <= samples ? Array(0..<input.count)
            : (0..<samples).map { _ in Int(generator.next() % UInt64(input.count)) }
        var difference = 0.0, norm = 0.0
        for j in positions {
            let original = input.data[j]
            var values = input.data
            values[j] = original + h
            input.assign(values)
            let plus = probe()
            values[j] = original - h
            input.assign(values)
            let minus = probe()
            values[j] = original
            input.assign(values)
            let numeric = (plus - minus) / (2 * Double(h))
            difference += (Double(grad.data[j]) - numeric) * (Double(grad.data[j]) - numeric)
            norm += numeric * numeric
        }
        let relative = difference.squareRoot() / max(norm.squareRoot(), 1e-3)
        #expect(relative < tolerance, "input \(index) shape \(input.shape): relative gradient error \(relative)",
                sourceLocation: sourceLocation)
    }
}
