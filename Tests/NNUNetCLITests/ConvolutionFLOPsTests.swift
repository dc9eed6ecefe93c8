import NNUNetCore
import Testing
@testable import nnunet_benchmark

@Suite("The benchmarks' direct-convolution work")
struct ConvolutionFLOPsTests {
    @Test("a 2-stage U-Net on a 4³ patch: every convolution counted by hand")
    func twoStages() {
        var generator = SeededGenerator(seed: 0)
        let network = GenericUNet(inputChannels: 1, baseFeatures: 2, classCount: 2, poolKernels: [[2, 2, 2]],
                                  convKernels: [[3, 3, 3], [3, 3, 3]], generator: &generator)
        // Stage 0: 4³ = 64 voxels, 2 features; stage 1: 2³ = 8 voxels, 4 features. 2 FLOPs per multiply-add.
        let stage0: Double = 1 * 2 * 27 * 64 + 2 * 2 * 27 * 64
        let stage1: Double = 2 * 4 * 27 * 8 + 4 * 4 * 27 * 8
        let transposed: Double = 4 * 2 * 8 * 8                // 4 → 2 channels, kernel 2³, per input voxel (8)
        let decoder: Double = 4 * 2 * 27 * 64 + 2 * 2 * 27 * 64  // the concatenation (2 + 2) → 2, then 2 → 2
        let head: Double = 2 * 2 * 64                           // 1×1×1, 2 → 2 classes
        let expected = 2 * (stage0 + stage1 + transposed + decoder + head)
        #expect(ConvolutionFLOPs.forward(network, patch: [4, 4, 4], batch: 1, allHeads: false) == expected)
        #expect(ConvolutionFLOPs.forward(network, patch: [4, 4, 4], batch: 3, allHeads: true) == 3 * expected)
    }
}
