import Foundation
import Testing
@testable import NNUNetTraining

@Suite("Basic (enlarged) patch size")
struct BasicPatchSizeTests {
    @Test("v1's get_patch_size examples, computed with scale 0.85 (the §7.2 quirk)",
          arguments: [([128, 128, 128], false, [205, 205, 205]), ([40, 56, 40], false, [73, 80, 64]),
                      ([56, 40], false, [65, 65]), ([20, 320, 256], true, [20, 376, 376])])
    func examples(patch: [Int], dummy2D: Bool, expected: [Int]) {
        let parameters = AugmentationParameters.nnUNetTrainerV2(patchSize: patch, doesDummy2DAugmentation: dummy2D,
                                                                usesMaskForNormalization: [false])
        #expect(parameters.basicPatchSize == expected)
        #expect(parameters.scaleRange == 0.7...1.4)
    }

    @Test("2D rotation range: ±180°, or ±15° for elongated patches; dummy-2D rotates in plane only")
    func rotationRanges() {
        let degree = Double.pi / 180
        let square = AugmentationParameters.nnUNetTrainerV2(patchSize: [56, 40], doesDummy2DAugmentation: false,
                                                            usesMaskForNormalization: [false])
        #expect(square.rotationX == -180 * degree...180 * degree && square.mirrorAxes == [0, 1])
        let long = AugmentationParameters.nnUNetTrainerV2(patchSize: [64, 32], doesDummy2DAugmentation: false,
                                                          usesMaskForNormalization: [false])
        #expect(long.rotationX == -15 * degree...15 * degree)
        #expect(long.basicPatchSize == BasicPatchSize.compute(finalPatchSize: [64, 32], rotationX: long.rotationX,
                                                              rotationY: 0...0, rotationZ: 0...0,
                                                              scaleRange: 0.85...1.25))
        let dummy = AugmentationParameters.nnUNetTrainerV2(patchSize: [20, 320, 256], doesDummy2DAugmentation: true,
                                                           usesMaskForNormalization: [false])
        #expect(dummy.isDummy2D && dummy.rotationX == -180 * degree...180 * degree)
        #expect(dummy.rotationY == -30 * degree...30 * degree && dummy.mirrorAxes == [0, 1, 2])
    }
}
