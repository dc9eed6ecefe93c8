@testable import NNUNetCore
import Testing

/// The backward lets each intermediate go once its node has run, so a training step's activations are freed during
/// the backward instead of at its end (its peak memory is the forward's plus a few gradients, not both together).
@Suite("Autograd: intermediates are freed during the backward")
struct TapeReleaseTests {
    /// `x → a → b → loss`, where a's backward records whether b (an intermediate the caller does not hold) is still
    /// alive when it runs, and the gradient still reaches x.
    @Test("an intermediate whose consumers have run is freed before the earlier nodes' backward")
    func intermediatesFreedDuringBackward() {
        final class Probe { weak var b: Tensor?; var bAliveInBackwardOfA: Bool? }
        let probe = Probe()
        let x = Tensor(shape: [3], data: [1, 2, 3], requiresGrad: true)
        let a = Tensor.record("a", shape: [3], data: x.data.map { 2 * $0 }, inputs: [x]) { g in
            probe.bAliveInBackwardOfA = probe.b != nil
            return [Tensor(shape: [3], data: g.data.map { 2 * $0 })]
        }
        // Made in a closure, so that the test holds no reference to b.
        let loss: Tensor = {
            let b = a * a
            probe.b = b
            return b.sum()
        }()
        #expect(probe.b != nil, "b is alive after the forward: the loss's node holds it")
        loss.backward()
        #expect(probe.bAliveInBackwardOfA == false)
        #expect(probe.b == nil)
        // d(Σ (2x)²)/dx = 8x.
        #expect(x.grad?.data == [8, 16, 24])
        // Tensors the caller holds keep their values.
        #expect(a.data == [2, 4, 6])
    }
}
