@testable import NNUNetCore
import Testing

/// `GenericUNet.forwardInSlabs` (the full-resolution stage evaluated in slabs, for low-memory inference) against the
/// whole forward, over the geometries v1 plans produce.
@Suite("U-Net forward with the full-resolution stage in slabs")
struct SlabForwardTests {
    struct Geometry: CustomStringConvertible, Sendable {
        var name: String
        var poolKernels: [[Int]]
        var convKernels: [[Int]]
        var input: [Int]
        var convsPerStage = 2
        var description: String { name }
    }

    static let geometries: [Geometry] = [
        Geometry(name: "3D, batch 2, isotropic then in-plane pooling", poolKernels: [[2, 2, 2], [1, 2, 2]],
                 convKernels: [[3, 3, 3], [3, 3, 3], [1, 3, 3]], input: [2, 2, 12, 8, 8]),
        Geometry(name: "3D, anisotropic first stage (kernel 1x3x3, pooling 1x2x2)", poolKernels: [[1, 2, 2], [2, 2, 2]],
                 convKernels: [[1, 3, 3], [3, 3, 3], [3, 3, 3]], input: [1, 1, 6, 8, 12]),
        Geometry(name: "3D, one pooling (the second stage is the bottleneck)", poolKernels: [[2, 2, 2]],
                 convKernels: [[3, 3, 3], [3, 3, 3]], input: [1, 1, 10, 6, 6]),
        Geometry(name: "3D, three convolutions per stage", poolKernels: [[2, 2, 2], [2, 2, 2]],
                 convKernels: [[3, 3, 3], [3, 3, 3], [3, 3, 3]], input: [1, 1, 8, 8, 8], convsPerStage: 3),
        Geometry(name: "2D", poolKernels: [[2, 2], [2, 2]], convKernels: [[3, 3], [3, 3], [3, 3]],
                 input: [1, 2, 16, 12]),
    ]

    /// With F(2, 3) tiles only, the slabs round almost as the whole volume does; F(4, 3) along z rounds about 3 times
    /// more, and a slab's convolutions may take other tiles than the whole volume's (their depth differs).
    @Test("logits equal the whole forward's for every slab depth", arguments: geometries, [false, true])
    func equalsWholeForward(_ geometry: Geometry, longDepthTiles: Bool) {
        Convolution.$winogradLongDepthTiles.withValue(longDepthTiles) {
            checkWholeForward(geometry, absolute: longDepthTiles ? 5e-5 : 1e-5)
        }
    }

    private func checkWholeForward(_ geometry: Geometry, absolute: Float) {
        var generator = SeededGenerator(seed: 11)
        let network = GenericUNet(inputChannels: geometry.input[1], baseFeatures: 4, classCount: 3,
                                  poolKernels: geometry.poolKernels, convKernels: geometry.convKernels,
                                  convsPerStage: geometry.convsPerStage, generator: &generator)
        // Non-zero biases and norm parameters, so that padding rows and affine terms matter.
        for (index, (name, parameter)) in network.namedParameters().enumerated() where !name.hasSuffix("conv.weight") {
            parameter.assign(randomTensor(parameter.shape, seed: UInt64(100 + index), scale: 0.5).data
                .map { name.hasSuffix("instnorm.weight") ? 1 + $0 : $0 })
        }
        network.eval()
        let x = randomTensor(geometry.input, seed: 12)
        let whole = withoutGradients { network(x) }
        let depth = geometry.input[2]
        for slabDepth in [1, 2, 3, depth - 1, depth, depth + 5] {
            let slabs = network.forwardInSlabs(x, slabDepth: slabDepth)
            #expect(slabs.shape == whole.shape)
            #expect(!slabs.requiresGrad)
            #expect(mismatch(slabs.data, whole.data, relative: 1e-4, absolute: absolute) == nil,
                    "slab depth \(slabDepth): \(mismatch(slabs.data, whole.data) ?? "")")
        }
    }

    @Test("a parameter change in the first stage changes the slab forward as it changes the whole forward")
    func firstStageParametersMatter() {
        var generator = SeededGenerator(seed: 3)
        let network = GenericUNet(inputChannels: 1, baseFeatures: 4, classCount: 2, poolKernels: [[2, 2, 2]],
                                  convKernels: [[3, 3, 3], [3, 3, 3]], generator: &generator)
        network.eval()
        let x = randomTensor([1, 1, 6, 6, 6], seed: 4)
        let before = network.forwardInSlabs(x, slabDepth: 2)
        // The decoder's last block's norm shift, the encoder's first block's weight: both in the first stage.
        let changed = ["conv_blocks_localization.0.1.blocks.0.instnorm.bias", "conv_blocks_context.0.blocks.0.conv.weight"]
        for (name, parameter) in network.namedParameters() where changed.contains(name) {
            parameter.assign(parameter.data.map { $0 + 0.25 })
        }
        let after = network.forwardInSlabs(x, slabDepth: 2)
        let whole = withoutGradients { network(x) }
        #expect(mismatch(before.data, after.data) != nil)
        #expect(mismatch(after.data, whole.data) == nil)
    }

    @Test("moments merged over uneven parts equal the two-pass moments of the whole plane")
    func mergedMoments() {
        let planes = 3, spatial = 1000
        let values = randomTensor([planes, spatial], seed: 9, scale: 3).data.map { $0 + 20 }
        var merged = Kernels.PlaneMoments(planes: planes)
        var start = 0
        for size in [1, 250, 9, 740] {
            var part: [Float] = []
            for p in 0..<planes { part += values[(p * spatial + start)..<(p * spatial + start + size)] }
            Kernels.accumulateMoments(part, planes: planes, spatial: size, into: &merged)
            start += size
        }
        #expect(merged.count == Double(spatial))
        values.withUnsafeBufferPointer { buffer in
            for p in 0..<planes {
                let (mean, m2) = Kernels.planeMoments(buffer.baseAddress! + p * spatial, count: spatial)
                #expect(abs(merged.mean[p] - mean) <= 1e-12 * abs(mean))
                #expect(abs(merged.m2[p] - m2) <= 1e-9 * m2)
            }
        }
    }
}
