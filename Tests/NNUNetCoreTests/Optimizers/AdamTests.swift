import Foundation
@testable import NNUNetCore
import Testing

@Suite("Adam (torch.optim.Adam semantics) and the Optimizer state protocol")
struct AdamTests {
    static let gradients: [[Float]] = [[0.5, -1.0, 2.0], [0.25, 0.75, -0.1], [-0.5, 0.1, 0.01], [0.0, -0.2, 0.3]]

    /// torch 2.13.0+cpu, `torch.optim.Adam([p, frozen], lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01,
    /// amsgrad=...)` from p = [1, -2, 0.5] with ``gradients`` (`frozen` never gets a gradient); p after each step.
    static let torchParameters: [Bool: [[Double]]] = [
        false: [[0.900000036, -1.89999998, 0.400000006], [0.806555092, -1.88890743, 0.336631566],
                [0.793486118, -1.88447464, 0.287222892], [0.78216958, -1.87092102, 0.238521829]],
        true: [[0.900000036, -1.89999998, 0.400000006], [0.806555092, -1.88890743, 0.336631566],
               [0.793486118, -1.88447464, 0.287246495], [0.782174647, -1.87092102, 0.238545433]],
    ]

    /// torch's state after the four steps: (`exp_avg`, `exp_avg_sq`, `max_exp_avg_sq` when amsgrad).
    static let torchState: [Bool: [[Double]]] = [
        false: [[0.014677383936941624, -0.02973148785531521, 0.16987870633602142],
                [0.0005680879694409668, 0.0016250403132289648, 0.004109085071831942]],
        true: [[0.014677383936941624, -0.02973148785531521, 0.16987872123718262],
               [0.0005680879694409668, 0.0016250403132289648, 0.004109085071831942],
               [0.0005685935611836612, 0.0016250403132289648, 0.004109085071831942]],
    ]

    @Test("four steps follow PyTorch's documented update rule and match torch's values", arguments: [false, true])
    func handComputed(amsgrad: Bool) throws {
        let p = Tensor(shape: [3], data: [1.0, -2.0, 0.5], requiresGrad: true)
        let frozen = Tensor(shape: [1], data: [5], requiresGrad: true)
        let adam = Adam(parameters: [p, frozen], learningRate: 0.1, weightDecay: 0.01, amsgrad: amsgrad)
        // torch.optim.Adam's documented algorithm in float64: g += wd·p; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
        // v̂ = max(v̂, v) (amsgrad) or v; p −= lr/(1−β1^t) · m / (√v̂/√(1−β2^t) + eps).
        let (lr, beta1, beta2, eps, wd) = (0.1, 0.9, 0.999, 1e-8, 0.01)
        var expected = [1.0, -2.0, 0.5], m = [0.0, 0, 0], v = m, vMax = m
        for (step, g) in Self.gradients.enumerated() {
            p.grad = Tensor(shape: [3], data: g)
            adam.step()
            let t = Double(step + 1)
            for i in 0..<3 {
                let d = Double(g[i]) + wd * expected[i]
                m[i] = beta1 * m[i] + (1 - beta1) * d
                v[i] = beta2 * v[i] + (1 - beta2) * d * d
                vMax[i] = max(vMax[i], v[i])
                let second = amsgrad ? vMax[i] : v[i]
                expected[i] -= lr / (1 - pow(beta1, t)) * m[i] / (second.squareRoot() / (1 - pow(beta2, t)).squareRoot() + eps)
            }
            #expect(mismatch(p.data, expected, relative: 1e-5, absolute: 1e-6) == nil, "step \(step + 1)")
            let torch = try #require(Self.torchParameters[amsgrad])[step]
            #expect(mismatch(p.data, torch, relative: 1e-6, absolute: 1e-7) == nil, "torch, step \(step + 1)")
        }
        // Step 1 by hand: m̂ = d, v̂ = d², so every coordinate moves by lr·sign(d) (up to eps): 1 → 0.9.
        #expect(mismatch(adam.firstMoments[0] ?? [], m, relative: 1e-5, absolute: 1e-7) == nil)
        #expect(mismatch(adam.secondMoments[0] ?? [], v, relative: 1e-5, absolute: 1e-9) == nil)
        let state = try #require(Self.torchState[amsgrad])
        #expect(mismatch(adam.firstMoments[0] ?? [], state[0], relative: 1e-6, absolute: 1e-9) == nil, "torch exp_avg")
        #expect(mismatch(adam.secondMoments[0] ?? [], state[1], relative: 1e-6, absolute: 1e-10) == nil, "exp_avg_sq")
        if amsgrad {
            #expect(mismatch(adam.maxSecondMoments[0] ?? [], state[2], relative: 1e-6, absolute: 1e-10) == nil)
        }
        #expect(adam.steps == [4, 0] && frozen.data == [5] && adam.firstMoments[1] == nil)
        // With AMSGrad the third coordinate's v̂ keeps step 1's larger value, and the steps differ from plain Adam.
        if amsgrad { #expect(adam.maxSecondMoments[0]?[0] ?? 0 > adam.secondMoments[0]?[0] ?? 0) }
    }

    @Test("state buffers round-trip: a restored Adam continues exactly like the uninterrupted one")
    func stateRoundTrip() throws {
        func make(_ values: [Float]) -> (Tensor, Adam) {
            let p = Tensor(shape: [3], data: values, requiresGrad: true)
            return (p, Adam(parameters: [p], learningRate: 0.05, weightDecay: 3e-5, amsgrad: true))
        }
        let (p, adam) = make([1, -2, 0.5])
        for g in Self.gradients.prefix(2) { p.grad = Tensor(shape: [3], data: g); adam.step() }
        let state = adam.stateBuffers
        #expect(Set(state.keys) == [Adam.firstMomentSlot, Adam.secondMomentSlot, Adam.maxSecondMomentSlot,
                                    Adam.stepSlot])
        #expect(state[Adam.stepSlot]?[0] == [2])
        let (q, resumed) = make(p.data)
        try resumed.restoreStateBuffers(state)
        for g in Self.gradients.suffix(2) {
            p.grad = Tensor(shape: [3], data: g); adam.step()
            q.grad = Tensor(shape: [3], data: g); resumed.step()
        }
        #expect(p.data == q.data && resumed.steps == [4])
    }

    @Test("restoring state that does not fit throws and changes nothing")
    func restoreErrors() {
        let p = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        let adam = Adam(parameters: [p], amsgrad: true)
        #expect(throws: OptimizerStateError.self) { try adam.restoreStateBuffers([Adam.firstMomentSlot: [[1, 2, 3]]]) }
        #expect(throws: OptimizerStateError.self) { try adam.restoreStateBuffers([Adam.firstMomentSlot: [[1, 2]]]) }
        #expect(throws: OptimizerStateError.self) { try adam.restoreStateBuffers(["momentum_buffer": [[1, 2]]]) }
        #expect(throws: OptimizerStateError.self) {
            try adam.restoreStateBuffers([Adam.firstMomentSlot: [[1, 2]], Adam.secondMomentSlot: [[1, 2]],
                                          Adam.maxSecondMomentSlot: [[1, 2]], Adam.stepSlot: [[0.5]]])
        }
        #expect(adam.steps == [0] && adam.firstMoments == [nil])
        let sgd = SGD(parameters: [p], learningRate: 0.1)
        #expect(throws: OptimizerStateError.self) { try sgd.restoreStateBuffers([SGD.momentumSlot: [[1]]]) }
        #expect(throws: Never.self) { try sgd.restoreStateBuffers([SGD.momentumSlot: [[3, 4]]]) }
        #expect(sgd.momentumBuffers == [[3, 4]] && (sgd.stateBuffers[SGD.momentumSlot] ?? []) == [[3, 4]])
    }
}
