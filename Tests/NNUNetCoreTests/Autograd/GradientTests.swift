import Foundation
@testable import NNUNetCore
import Testing

@Suite("Autograd: every op against central finite differences")
struct GradientTests {
    @Test("convolution", arguments: convCases)
    func convolution(_ c: ConvCase) {
        let x = randomTensor(c.inputShape(), seed: 40)
        let w = randomTensor(c.weightShape(), seed: 41, scale: 0.3)
        let b = randomTensor([c.cout], seed: 42)
        checkGradients([x, w, b]) { t in
            conv(t[0], weight: t[1], bias: t[2], stride: c.spatial(c.stride), padding: c.spatial(c.padding), threads: 2)
        }
    }

    @Test("transposed convolution", arguments: [[2, 2, 2], [1, 2, 2]])
    func transposed(_ k: [Int]) {
        let x = randomTensor([2, 3, 2, 3, 4], seed: 43)
        let w = randomTensor([3, 4] + k, seed: 44, scale: 0.5)
        let b = randomTensor([4], seed: 45)
        checkGradients([x, w, b]) { t in convTranspose(t[0], weight: t[1], bias: t[2], stride: k) }
        let x2 = randomTensor([2, 3, 3, 4], seed: 46), w2 = randomTensor([3, 2, 2, 2], seed: 47)
        checkGradients([x2, w2]) { t in convTranspose(t[0], weight: t[1], stride: [2, 2]) }
    }

    @Test("instance norm with affine parameters", arguments: [[2, 3, 3, 4, 5], [2, 2, 5, 6]])
    func normalization(_ shape: [Int]) {
        let x = randomTensor(shape, seed: 48, scale: 2)
        let gamma = randomTensor([shape[1]], seed: 49) + 1, beta = randomTensor([shape[1]], seed: 50)
        checkGradients([x, gamma, beta], h: 1e-2) { t in instanceNorm(t[0], weight: t[1], bias: t[2]) }
    }

    @Test("fused instance norm + leaky ReLU: finite differences, and equal to the two ops composed",
          arguments: [[2, 3, 3, 4, 5], [2, 2, 5, 6]])
    func fusedNormalization(_ shape: [Int]) {
        let x = randomTensor(shape, seed: 54, scale: 2)
        let gamma = randomTensor([shape[1]], seed: 55) + 1
        // β = ±5 puts whole channels on one side of the kink (γ·x̂ of this random data stays well inside ±5), so
        // finite differences never straddle it and both slopes are exercised.
        let beta = Tensor(shape: [shape[1]], data: (0..<shape[1]).map { $0 % 2 == 0 ? 5 : -5 })
        checkGradients([x, gamma, beta], h: 1e-2) { t in instanceNormLeakyReLU(t[0], weight: t[1], bias: t[2]) }
        // Values and every gradient equal the unfused composition bit for bit (same kernels, same order).
        var gradients: [[[Float]]] = []
        for fused in [true, false] {
            let inputs = [x, gamma, beta].map { Tensor(shape: $0.shape, data: $0.data, requiresGrad: true) }
            let y = fused ? instanceNormLeakyReLU(inputs[0], weight: inputs[1], bias: inputs[2])
                : leakyReLU(instanceNorm(inputs[0], weight: inputs[1], bias: inputs[2]))
            (y * y).sum().backward()
            gradients.append([y.data] + inputs.map { $0.grad?.data ?? [] })
        }
        #expect(gradients[0] == gradients[1])
    }

    @Test("average pooling over non-overlapping windows (2D, 3D, anisotropic, sizes not multiples of the window)")
    func averagePooling() {
        let x = randomTensor([2, 3, 5, 6, 7], seed: 56)
        checkGradients([x]) { t in t[0].averagePooled(window: [1, 2, 2]) }
        checkGradients([x]) { t in t[0].averagePooled(window: [2, 3, 2]) }
        let x2 = randomTensor([1, 2, 6, 5], seed: 57)
        checkGradients([x2]) { t in t[0].averagePooled(window: [2, 2]) }
        // Values against a plain reference: the mean of each window, trailing voxels dropped (floor).
        let pooled = x.averagePooled(window: [2, 3, 2])
        #expect(pooled.shape == [2, 3, 2, 2, 3])
        var reference: [Float] = []
        for plane in 0..<6 {
            for z in 0..<2 {
                for y in 0..<2 {
                    for xx in 0..<3 {
                        var sum: Float = 0
                        for dz in 0..<2 {
                            for dy in 0..<3 {
                                for dx in 0..<2 {
                                    sum += x.data[plane * 210 + (z * 2 + dz) * 42 + (y * 3 + dy) * 7 + xx * 2 + dx]
                                }
                            }
                        }
                        reference.append(sum / 12)
                    }
                }
            }
        }
        #expect(pooled.data == reference)
    }

    @Test("leaky ReLU (inputs away from the kink)")
    func leaky() {
        let values = randomTensor([2, 3, 4, 5], seed: 51).data.map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 }
        checkGradients([Tensor(shape: [2, 3, 4, 5], data: values)]) { t in leakyReLU(t[0]) }
    }

    @Test("softmax and log-softmax")
    func softmaxes() {
        checkGradients([randomTensor([2, 4, 3, 5], seed: 52)]) { t in softmax(t[0]) }
        checkGradients([randomTensor([2, 3, 2, 3, 4], seed: 53)]) { t in logSoftmax(t[0]) }
    }

    @Test("elementwise ops with broadcasting and scalars")
    func elementwise() {
        let a = randomTensor([2, 3, 4], seed: 54), b = randomTensor([3, 1], seed: 55) + 4
        checkGradients([a, b]) { t in t[0] + t[1] }
        checkGradients([a, b]) { t in t[0] - t[1] }
        checkGradients([a, b]) { t in t[0] * t[1] }
        checkGradients([a, b]) { t in t[0] / t[1] }
        checkGradients([a]) { t in (2 * t[0] + 1) / 3 - 0.5 }
        checkGradients([a]) { t in 1 / (t[0] * t[0] + 1) }
        let positive = Tensor(shape: [2, 3], data: [0.5, 1, 2, 3, 4, 5])
        checkGradients([positive]) { t in t[0].log() + t[0].exp() + t[0].squareRoot() }
    }

    @Test("reductions and broadcast")
    func reductions() {
        let x = randomTensor([2, 3, 4, 5], seed: 56)
        checkGradients([x]) { t in t[0].sum(axes: [2, 3]) }
        checkGradients([x]) { t in t[0].mean(axes: [0, 2], keepDims: true) }
        checkGradients([x]) { t in t[0].sum() * t[0].mean() }
        checkGradients([randomTensor([3, 1], seed: 57)]) { t in t[0].broadcast(to: [2, 3, 4]) }
    }

    @Test("shape ops: concat, slice, pad, reshape")
    func shapes() {
        let a = randomTensor([2, 2, 3, 4], seed: 58), b = randomTensor([2, 3, 3, 4], seed: 59)
        checkGradients([a, b]) { t in concat([t[0], t[1]], axis: 1) * 2 }
        checkGradients([b]) { t in t[0].sliced([0..<2, 1..<3, 0..<2, 1..<4]) }
        checkGradients([a]) { t in t[0].padded([(0, 0), (1, 0), (2, 1), (0, 3)]) }
        checkGradients([a]) { t in t[0].reshaped([4, -1]) * t[0].reshaped([4, -1]) }
    }

    @Test("a user-defined loss (soft Dice + cross-entropy from ops) gets gradients with no hand-written backward")
    func customLoss() {
        let logits = randomTensor([2, 3, 3, 4, 5], seed: 60)
        var generator = SeededGenerator(seed: 61)
        let labels = Tensor(shape: [2, 1, 3, 4, 5], data: (0..<120).map { _ in Float(generator.next() % 3) })
        let y = Tensor.oneHot(labels, classCount: 3)
        checkGradients([logits]) { t in
            let p = softmax(t[0])
            let tp = (p * y).sum(axes: [2, 3, 4]), fp = (p * (1 - y)).sum(axes: [2, 3, 4])
            let fn = ((1 - p) * y).sum(axes: [2, 3, 4])
            let dc = (2 * tp + 1e-5) / (2 * tp + fp + fn + 1e-5 + 1e-8)
            let dice = -dc.sliced([0..<2, 1..<3]).mean()
            let ce = -(logSoftmax(t[0]) * y).sum(axes: [1]).mean()
            return (ce + dice).reshaped([1])
        }
    }

    @Test("no-gradient scope records nothing; gradients accumulate; the graph is released")
    func tapeBehaviour() {
        let w = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        let inside = withoutGradients { w * 3 }
        #expect(!inside.requiresGrad && inside.node == nil)
        #expect(isRecordingGradients)
        let y = (w * w).sum()
        y.backward()
        #expect(w.grad?.data == [2, 4])
        #expect(y.node == nil)
        (w * 3).sum().backward()
        #expect(w.grad?.data == [5, 7])
        // A tensor used twice gets the sum of both paths.
        w.grad = nil
        let z = w * 2
        (z + z).sum().backward()
        #expect(w.grad?.data == [4, 4])
    }
}
