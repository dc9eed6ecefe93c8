@testable import NNUNetCore
import Testing

@Suite("Instance normalisation, leaky ReLU and softmax against the reference")
struct NormalizationTests {
    @Test("instance norm forward", arguments: [[2, 3, 4, 5, 6], [2, 4, 7, 5], [1, 2, 1, 1, 9]])
    func instanceNormForward(_ shape: [Int]) {
        let x = randomTensor(shape, seed: 20, scale: 3) + 1.5
        let gamma = randomTensor([shape[1]], seed: 21), beta = randomTensor([shape[1]], seed: 22)
        let y = instanceNorm(x, weight: gamma, bias: beta)
        let spatial = shape[2...].reduce(1, *)
        let reference = ReferenceOps.instanceNorm(x.data, planes: shape[0] * shape[1], channels: shape[1],
                                                  spatial: spatial, gamma: gamma.data, beta: beta.data)
        #expect(mismatch(y.data, reference, relative: 1e-4, absolute: 1e-4) == nil)
        // Same in evaluation mode: no running statistics.
        let layer = InstanceNorm(channels: shape[1])
        layer.weight.assign(gamma.data)
        layer.bias.assign(beta.data)
        layer.eval()
        #expect(layer(x).data == y.data)
    }

    @Test("plane moments (32 partial sums) equal a float64 two-pass sum, below, at and past 32 values",
          arguments: [1, 7, 31, 32, 33, 100, 1000])
    func moments(count: Int) {
        let x = randomTensor([count], seed: UInt64(count), scale: 3).data.map { $0 + 1000 }
        let (mean, m2) = x.withUnsafeBufferPointer { Kernels.planeMoments($0.baseAddress!, count: count) }
        let expectedMean = x.reduce(0.0) { $0 + Double($1) } / Double(count)
        let expectedM2 = x.reduce(0.0) { $0 + (Double($1) - expectedMean) * (Double($1) - expectedMean) }
        #expect(abs(mean - expectedMean) <= 1e-12 * abs(expectedMean), "mean \(mean) vs \(expectedMean)")
        #expect(abs(m2 - expectedM2) <= 1e-9 * max(1, expectedM2), "M2 \(m2) vs \(expectedM2)")
    }

    @Test("leaky ReLU forward")
    func leaky() {
        let x = Tensor(shape: [5], data: [-2, -0.5, 0, 0.5, 3])
        #expect(leakyReLU(x).data == [-0.02, -0.005, 0, 0.5, 3])
    }

    @Test("softmax and log-softmax over channels", arguments: [[2, 3, 4, 5], [2, 4, 3, 2, 5]])
    func softmaxForward(_ shape: [Int]) {
        let x = randomTensor(shape, seed: 23, scale: 4)
        let inner = shape[2...].reduce(1, *)
        let reference = ReferenceOps.softmax(x.data, n: shape[0], c: shape[1], inner: inner)
        #expect(mismatch(softmax(x).data, reference, relative: 1e-5, absolute: 1e-6) == nil)
        #expect(mismatch(logSoftmax(x).data, reference.map { Foundation.log($0) }, relative: 1e-5, absolute: 1e-5) == nil)
    }
}

import Foundation
