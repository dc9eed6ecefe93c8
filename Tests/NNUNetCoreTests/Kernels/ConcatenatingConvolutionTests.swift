@testable import NNUNetCore
import Testing

@Suite("Convolution of a channel concatenation without materialising it")
struct ConcatenatingConvolutionTests {
    /// Every geometry of the kernel tests (folded and strided-x paths, 2D and 3D), with 2 + 3 input channels.
    @Test("values and all gradients equal conv(concat(parts)) bit for bit", arguments: convCases)
    func equalsConcatenation(_ c: ConvCase) {
        var c = c
        c.cin = 5
        let shape = c.inputShape()
        let a = randomTensor([shape[0], 2] + shape[2...], seed: 60)
        let b = randomTensor([shape[0], 3] + shape[2...], seed: 61)
        let w = randomTensor(c.weightShape(), seed: 62, scale: 0.3)
        let bias = randomTensor([c.cout], seed: 63)
        let seed = randomTensor([1], seed: 64)
        var results: [[[Float]]] = []
        for joined in [false, true] {
            let inputs = [a, b, w, bias].map { Tensor(shape: $0.shape, data: $0.data, requiresGrad: true) }
            let y = joined
                ? conv(concat([inputs[0], inputs[1]], axis: 1), weight: inputs[2], bias: inputs[3],
                       stride: c.spatial(c.stride), padding: c.spatial(c.padding), threads: 2)
                : conv(concatenating: [inputs[0], inputs[1]], weight: inputs[2], bias: inputs[3],
                       stride: c.spatial(c.stride), padding: c.spatial(c.padding), threads: 2)
            // A loss whose gradient differs per voxel (y² · s), so every gradient path is exercised.
            (y * y * seed.data[0]).sum().backward()
            results.append([y.data] + inputs.map { $0.grad?.data ?? [] })
        }
        #expect(results[0][0].count > 0)
        for i in 0..<results[0].count { #expect(results[0][i] == results[1][i], "output/gradient \(i) differs") }
    }

    @Test("without a tape, no gradients are recorded and the parts are left as they were")
    func inference() {
        let a = randomTensor([1, 4, 3, 5, 6], seed: 65), b = randomTensor([1, 2, 3, 5, 6], seed: 66)
        let w = randomTensor([3, 6, 3, 3, 3], seed: 67, scale: 0.3)
        let before = (a.data, b.data)
        let y = withoutGradients { conv(concatenating: [a, b], weight: w, padding: [1, 1, 1], threads: 2) }
        #expect(y.shape == [1, 3, 3, 5, 6])
        #expect(!y.requiresGrad)
        #expect(a.data == before.0 && b.data == before.1)
        #expect(y.data == conv(concat([a, b], axis: 1), weight: w, padding: [1, 1, 1], threads: 2).data)
    }

    @Test("U-Net blocks: inference (in-place norm, no concatenation) gives the training forward's values exactly")
    func unetInferenceEqualsTrainingForward() {
        var generator = SeededGenerator(seed: 5)
        let network = GenericUNet(inputChannels: 2, baseFeatures: 4, classCount: 3, poolKernels: [[2, 2, 2], [1, 2, 2]],
                                  convKernels: [[3, 3, 3], [3, 3, 3], [1, 3, 3]], generator: &generator)
        let x = randomTensor([2, 2, 4, 8, 8], seed: 68)
        let inference = withoutGradients { network.forwardDeepSupervision(x) }
        let training = network.forwardDeepSupervision(x)
        #expect(training.allSatisfy { $0.requiresGrad })
        #expect(inference.map(\.data) == training.map(\.data))
    }
}
