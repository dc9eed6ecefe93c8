import Testing
@testable import NNUNetCore

@Suite struct UNetMemoryEstimateTests {
    /// Reference sheet §4.7: 128³, 5 × [2, 2, 2], base 32, max 320, C 1, K 3.
    @Test func workedExample() {
        let estimate = UNetMemoryEstimate.approximateConsumption(
            patchSize: [128, 128, 128], poolKernels: Array(repeating: [2, 2, 2], count: 5), baseFeatures: 32,
            maxFeatures: 320, modalities: 1, classes: 3)
        #expect(estimate == 454_893_568)
    }

    /// The same sum written out by hand for an anisotropic 2-pool network (floor division of odd sizes).
    @Test func handComputedAnisotropicCase() {
        let estimate = UNetMemoryEstimate.approximateConsumption(
            patchSize: [5, 9, 12], poolKernels: [[1, 2, 2], [2, 2, 2]], baseFeatures: 4, maxFeatures: 6,
            modalities: 2, classes: 3)
        let p = Int64(5 * 9 * 12)
        let expected = 5 * p * 4 + 2 * p + 3 * p + 5 * Int64(5 * 4 * 6) * 6 + 2 * Int64(2 * 2 * 3) * 6
        #expect(estimate == expected)
    }
}
