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

    @Test("the sliding window's work: tiles over the padded case × mirrored copies × folds × one forward")
    func slidingWindow() {
        var generator = SeededGenerator(seed: 0)
        let network = GenericUNet(inputChannels: 1, baseFeatures: 2, classCount: 2, poolKernels: [[2, 2, 2]],
                                  convKernels: [[3, 3, 3], [3, 3, 3]], generator: &generator)
        let one = ConvolutionFLOPs.forward(network, patch: [4, 4, 4], batch: 1, allHeads: false)
        // 10 voxels with a patch of 4 and step 0.5: 4 tiles (0, 2, 4, 6); 3 is padded to 4: 1 tile.
        let case3D = ConvolutionFLOPs.slidingWindow(network, patch: [4, 4, 4], shape: [10, 3, 4], stepSize: 0.5,
                                                    mirroring: true, folds: 2)
        #expect(case3D.tiles == 4 && case3D.flops == Double(4 * 8 * 2) * one)
        let plain = ConvolutionFLOPs.slidingWindow(network, patch: [4, 4, 4], shape: [10, 3, 4], stepSize: 0.5,
                                                   mirroring: false, folds: 1)
        #expect(plain.tiles == 4 && plain.flops == 4 * one)
        // A 2D patch tiles every slice along axis 0 and mirrors over 2 axes.
        let flat = GenericUNet(inputChannels: 1, baseFeatures: 2, classCount: 2, poolKernels: [[2, 2]],
                               convKernels: [[3, 3], [3, 3]], generator: &generator)
        let flatOne = ConvolutionFLOPs.forward(flat, patch: [4, 4], batch: 1, allHeads: false)
        let case2D = ConvolutionFLOPs.slidingWindow(flat, patch: [4, 4], shape: [5, 4, 6], stepSize: 0.5,
                                                    mirroring: true, folds: 1)
        #expect(case2D.tiles == 5 * 2 && case2D.flops == Double(5 * 2 * 4) * flatOne)
    }
}
