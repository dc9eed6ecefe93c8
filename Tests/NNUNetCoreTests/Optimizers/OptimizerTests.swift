import Foundation
@testable import NNUNetCore
import Testing

@Suite("SGD, poly learning rate, gradient clipping, initialisation")
struct OptimizerTests {
    @Test("SGD with Nesterov momentum and weight decay follows PyTorch's formulas over three steps")
    func sgdHandComputed() {
        let p = Tensor(shape: [2], data: [1.0, -2.0], requiresGrad: true)
        let frozen = Tensor(shape: [1], data: [5], requiresGrad: true)  // never gets a gradient
        let sgd = SGD(parameters: [p, frozen], learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true)
        // Hand computation (float64) of torch.optim.SGD: d = g + wd·p; buf = d (first) or μ·buf + d; p -= lr·(d + μ·buf).
        var expected = [1.0, -2.0], buffer: [Double] = []
        let gradients: [[Float]] = [[0.5, -1.0], [0.25, 0.75], [-0.5, 0.1]]
        for (step, g) in gradients.enumerated() {
            p.grad = Tensor(shape: [2], data: g)
            sgd.step()
            let d = (0..<2).map { Double(g[$0]) + 0.01 * expected[$0] }
            buffer = step == 0 ? d : (0..<2).map { 0.9 * buffer[$0] + d[$0] }
            expected = (0..<2).map { expected[$0] - 0.1 * (d[$0] + 0.9 * buffer[$0]) }
            #expect(mismatch(p.data, expected, relative: 1e-6, absolute: 1e-7) == nil, "step \(step + 1)")
            #expect(mismatch(sgd.momentumBuffers[0] ?? [], buffer, relative: 1e-6, absolute: 1e-7) == nil)
        }
        // First step by hand: d = 0.5 + 0.01 = 0.51; p = 1 - 0.1 · 0.51 · 1.9 = 0.9031.
        #expect(frozen.data == [5] && sgd.momentumBuffers[1] == nil)
    }

    @Test("plain momentum (no Nesterov) and no momentum")
    func sgdVariants() {
        let p = Tensor(shape: [1], data: [2], requiresGrad: true)
        let sgd = SGD(parameters: [p], learningRate: 0.5, momentum: 0.5, weightDecay: 0, nesterov: false)
        p.grad = Tensor(shape: [1], data: [1]); sgd.step()  // buf 1, p = 2 - 0.5
        p.grad = Tensor(shape: [1], data: [1]); sgd.step()  // buf 1.5, p = 1.5 - 0.75
        #expect(p.data == [0.75])
        let q = Tensor(shape: [1], data: [2], requiresGrad: true)
        let plain = SGD(parameters: [q], learningRate: 0.5, momentum: 0, weightDecay: 0.5, nesterov: false)
        q.grad = Tensor(shape: [1], data: [1]); plain.step()  // d = 1 + 1 = 2, q = 2 - 1
        #expect(q.data == [1])
    }

    @Test("poly learning rate: lr0 · (1 - epoch/max)^0.9")
    func poly() {
        let schedule = PolyLearningRate(initial: 0.01, maxEpochs: 1000)
        #expect(schedule(epoch: 0) == 0.01)
        #expect(abs(schedule(epoch: 500) - 0.01 * pow(0.5, 0.9)) < 1e-15)
        #expect(abs(schedule(epoch: 999) - 0.01 * pow(0.001, 0.9)) < 1e-15)
        #expect(schedule(epoch: 1000) == 0)
    }

    @Test("clip_grad_norm_: global L2 norm over non-nil gradients, factor max/(total + 1e-6) when above")
    func clipping() {
        let a = Tensor(shape: [2], data: [0, 0], requiresGrad: true), b = Tensor(shape: [1], data: [0], requiresGrad: true)
        let c = Tensor(shape: [1], data: [0], requiresGrad: true)
        a.grad = Tensor(shape: [2], data: [3, 4])
        b.grad = Tensor(shape: [1], data: [12])
        let total = clipGradientNorm([a, b, c], maxNorm: 6.5)
        #expect(total == 13)
        let factor = Float(6.5 / (13 + 1e-6))
        #expect(mismatch(a.grad?.data ?? [], [3 * factor, 4 * factor], relative: 1e-6) == nil)
        #expect(c.grad == nil)
        let unchanged = clipGradientNorm([a, b], maxNorm: 100)
        #expect(abs(unchanged - 6.5) < 1e-5 && b.grad?.data == [12 * factor])
    }

    @Test("Kaiming normal (a = 0.01) uses PyTorch's fan-in, also for transposed convs")
    func kaiming() {
        var generator = SeededGenerator(seed: 3)
        #expect(Initialization.fanIn([32, 16, 3, 3, 3]) == 16 * 27)
        #expect(Initialization.fanIn([16, 8, 2, 2, 2]) == 8 * 8)
        let w = Initialization.kaimingNormal([64, 32, 3, 3, 3], using: &generator)
        let expectedStd = (2 / (1 + 0.0001)).squareRoot() / (32.0 * 27).squareRoot()
        let mean = w.data.reduce(0.0) { $0 + Double($1) } / Double(w.count)
        let std = (w.data.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(w.count)).squareRoot()
        #expect(abs(std / expectedStd - 1) < 0.02 && abs(mean) < 3 * expectedStd / Double(w.count).squareRoot())
        var again = SeededGenerator(seed: 3)
        #expect(Initialization.kaimingNormal([64, 32, 3, 3, 3], using: &again).data == w.data)
    }

    @Test("clipping and two SGD steps reproduce nnU-Net v1's parameters (unet_parity 2d)")
    func parity2D() throws { try parity("2d") }

    @Test("clipping and two SGD steps reproduce nnU-Net v1's parameters (unet_parity 3d)",
          TestSupport.requiresSharedData("reference/unet_parity/3d"))
    func parity3D() throws { try parity("3d") }

    func parity(_ variant: String) throws {
        let folder = TestSupport.unetParityFolder(variant)
        let index = try JSONSerialization.jsonObject(
            with: Data(contentsOf: folder.appendingPathComponent("index.json"))) as? [String: Any] ?? [:]
        let entries = index["parameters"] as? [[String: Any]] ?? []
        #expect(!entries.isEmpty)
        func load(_ file: String) throws -> [Float] { try TestNPY.read(folder.appendingPathComponent(file)).values }
        let initial = try load("params_init.npy"), grads1 = try load("grads.npy"), grads2 = try load("grads_step2.npy")
        func slices(_ flat: [Float]) -> [[Float]] {
            entries.map { e in
                let offset = e["offset"] as? Int ?? 0, count = e["numel"] as? Int ?? 0
                return Array(flat[offset..<(offset + count)])
            }
        }
        let noGradient = entries.map { $0["grad_is_none"] as? Bool ?? false }
        func run(maxNorm: Float, steps: [[Float]]) -> [Float] {
            let params = slices(initial).enumerated().map { i, values in
                Tensor(shape: [values.count], data: values, requiresGrad: true)
            }
            let sgd = SGD(parameters: params, learningRate: 0.01, momentum: 0.99, weightDecay: 3e-5, nesterov: true)
            for gradients in steps {
                for (i, g) in slices(gradients).enumerated() {
                    params[i].grad = noGradient[i] ? nil : Tensor(shape: [g.count], data: g)
                }
                clipGradientNorm(params, maxNorm: maxNorm)
                sgd.step()
            }
            return params.flatMap(\.data)
        }
        let step1 = run(maxNorm: 12, steps: [grads1])
        #expect(mismatch(step1, try load("params_after_step1.npy"), relative: 0, absolute: 1e-6) == nil)
        let step2 = run(maxNorm: 12, steps: [grads1, grads2])
        #expect(mismatch(step2, try load("params_after_step2.npy"), relative: 0, absolute: 1e-6) == nil)
        let clipped = run(maxNorm: 0.1, steps: [grads1])
        #expect(mismatch(clipped, try load("params_after_step1_clip_check.npy"), relative: 0, absolute: 1e-6) == nil)
    }
}
