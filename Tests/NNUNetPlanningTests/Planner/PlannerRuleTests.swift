import Foundation
import Testing
@testable import NNUNetPlanning

/// Each planning rule on its own, with the worked examples of the reference sheet §4.13 (transposed order, K = 3).
@Suite struct PlannerRuleTests {
    static let reference3D = PlannerConfiguration.default3D.reference
    static let reference2D = PlannerConfiguration.default2D.reference

    static func stage3D(_ spacing: [Double], _ median: [Double], _ cases: Int, _ modalities: Int) -> StagePlan {
        ExperimentPlanner.stage3D(currentSpacing: spacing, originalSpacing: spacing, medianShape: median,
                                  numberOfCases: cases, modalities: modalities, classes: 3, reference: reference3D)
    }

    static func stage2D(_ spacing: [Double], _ median: [Double], _ cases: Int, _ modalities: Int) throws -> StagePlan {
        try ExperimentPlanner.stage2D(currentSpacing: spacing, originalSpacing: spacing, medianShape: median,
                                      numberOfCases: cases, modalities: modalities, classes: 3, reference: reference2D)
    }

    @Test func hippocampusLike3D() {
        let s = Self.stage3D([1, 1, 1], [36, 50, 35], 260, 1)
        #expect(s.patchSize == [40, 56, 40])
        #expect(s.poolOpKernelSizes == Array(repeating: [2, 2, 2], count: 3))
        #expect(s.convKernelSizes == Array(repeating: [3, 3, 3], count: 4))
        #expect(s.batchSize == 9)  // cap: round(0.05 * 36*50*35*260 / (40*56*40)) = 9
        #expect(s.medianPatientSizeInVoxels == [36, 50, 35])
        #expect(!s.doDummy2DDataAug)
    }

    @Test func liverLikeFullresAndLowresLoop() {
        let target = [1, 0.7676, 0.7676], median = [432.0, 512, 512]
        let fullres = Self.stage3D(target, median, 131, 1)
        #expect(fullres.patchSize == [128, 128, 128])
        #expect(fullres.poolOpKernelSizes == Array(repeating: [2, 2, 2], count: 5))
        #expect(fullres.batchSize == 2)
        let lowres = ExperimentPlanner.lowresStage(
            targetSpacing: target, medianShape: median, transposeForward: [0, 1, 2], fullres: fullres,
            numberOfCases: 131, modalities: 1, classes: 3, reference: Self.reference3D)
        #expect(lowres != nil)
        guard let lowres else { return }
        // 88 steps of x1.01 on all axes (no axis is more than 2x finer than the coarsest).
        let expected = target.map { $0 * pow(1.01, 88) }
        for (a, b) in zip(lowres.currentSpacing, expected) { #expect(abs(a - b) < 1e-9 * b) }
        #expect(String(format: "%.3f", lowres.currentSpacing[0]) == "2.400")
        #expect(lowres.medianPatientSizeInVoxels == [180, 213, 213])
        #expect(lowres.patchSize == [128, 128, 128])
        #expect(lowres.batchSize == 2)
        #expect(lowres.originalSpacing == target)
    }

    @Test func prostateLikeAnisotropicKernels() {
        let s = Self.stage3D([3.6, 0.625, 0.625], [20, 320, 319], 32, 2)
        #expect(s.patchSize == [20, 320, 256])
        #expect(s.poolOpKernelSizes == [[1, 2, 2], [1, 2, 2], [2, 2, 2], [2, 2, 2], [1, 2, 2], [1, 2, 2]])
        #expect(s.convKernelSizes == [[1, 3, 3], [1, 3, 3]] + Array(repeating: [3, 3, 3], count: 5))
        #expect(s.batchSize == 2)
        #expect(s.doDummy2DDataAug)
    }

    @Test func fourthExampleShrinkLoop() {
        let s = Self.stage3D([1.25, 0.79, 0.79], [115, 320, 232], 20, 1)
        #expect(s.patchSize == [80, 192, 160])
        #expect(s.poolOpKernelSizes == Array(repeating: [2, 2, 2], count: 4) + [[1, 2, 2]])
        #expect(s.batchSize == 2)
    }

    @Test func twoDimensionalExamples() throws {
        let a = try Self.stage2D([1, 1, 1], [36, 50, 35], 260, 1)
        #expect(a.patchSize == [56, 40] && a.numPoolPerAxis == [3, 3] && a.batchSize == 366)
        let b = try Self.stage2D([1, 0.7676, 0.7676], [432, 512, 512], 131, 1)
        #expect(b.patchSize == [512, 512] && b.poolOpKernelSizes.count == 7 && b.batchSize == 12)
        let c = try Self.stage2D([3.6, 0.625, 0.625], [20, 320, 319], 32, 2)
        #expect(c.patchSize == [320, 320] && c.poolOpKernelSizes.count == 6 && c.batchSize == 32)
        #expect(!c.doDummy2DDataAug)
    }

    @Test func noLowresWhenThePatchCoversMostOfThePatient() {
        let fullres = Self.stage3D([1, 1, 1], [36, 50, 35], 260, 1)
        #expect(ExperimentPlanner.lowresStage(targetSpacing: [1, 1, 1], medianShape: [36, 50, 35],
                                              transposeForward: [0, 1, 2], fullres: fullres, numberOfCases: 260,
                                              modalities: 1, classes: 3, reference: Self.reference3D) == nil)
    }

    @Test func anisotropicTargetSpacingTakesTenthPercentile() {
        let zs = [2.5, 3, 3, 3.5, 3.6, 3.6, 4, 4, 5, 6]
        let spacings = zs.map { [$0, 0.625, 0.625] }
        let thinSlices = Array(repeating: [20, 320, 320], count: 10)
        // Median z 3.6 > 3 * 0.625 and 20 * 3 < 320: z becomes the 10th percentile 2.5 + 0.9 * 0.5 = 2.95.
        let target = ExperimentPlanner.targetSpacing3D(spacings: spacings, sizes: thinSlices)
        #expect(abs(target[0] - 2.95) < 1e-12 && target[1] == 0.625 && target[2] == 0.625)
        // Not enough slices-vs-plane anisotropy (200 * 3 >= 320): plain median.
        let thick = Array(repeating: [200, 320, 320], count: 10)
        #expect(ExperimentPlanner.targetSpacing3D(spacings: spacings, sizes: thick)[0] == 3.6)
        // 10th percentile below the in-plane spacing: clamp to it + 1e-5.
        let low = [0.5, 0.5, 2, 2, 2, 2, 2, 2, 2, 2].map { [$0, 0.625, 0.625] }
        #expect(ExperimentPlanner.targetSpacing3D(spacings: low, sizes: thinSlices)[0] == 0.625 + 1e-5)
        // The 2D planner keeps the median.
        #expect(ExperimentPlanner.targetSpacing2D(spacings: spacings)[0] == 3.6)
    }

    @Test func transpositionPutsTheCoarsestAxisFirst() {
        let t = ExperimentPlanner.transposition(targetSpacing: [1.0, 0.98, 1.21])
        #expect(t.forward == [2, 0, 1] && t.backward == [1, 2, 0])
        #expect(ExperimentPlanner.transposition(targetSpacing: [3, 1, 1]).forward == [0, 1, 2])
    }

    @Test func normalizationDecisions() {
        let modalities = [0: "CT", 1: "T2", 2: "noNorm", 3: "ct", 4: "CTA"]
        let schemes = ExperimentPlanner.normalizationSchemes(modalities)
        #expect(schemes == [0: "CT", 1: "nonCT", 2: "noNorm", 3: "CT", 4: "nonCT"])
        let cropped = ExperimentPlanner.useMaskForNormalization(modalities, sizeReductions: [0.5, 0.6, 0.9])
        #expect(cropped == [0: false, 1: true, 2: true, 3: true, 4: false])
        let uncropped = ExperimentPlanner.useMaskForNormalization(modalities, sizeReductions: [1, 1, 0.5])
        #expect(uncropped.values.allSatisfy { !$0 })
    }

    @Test func poolingStopsAtTheBottleneckEdgeAndPadsTheShape() {
        let t = NetworkTopology(spacing: [1, 1, 1], patchSize: [36, 50, 35])
        #expect(t.numPoolPerAxis == [3, 3, 3])
        #expect(t.patchSize == [40, 56, 40])
        #expect(t.convKernels.count == t.poolKernels.count + 1)
        let aniso = NetworkTopology(spacing: [5, 1, 1], patchSize: [16, 64, 64])
        #expect(aniso.poolKernels.first == [1, 2, 2])
        #expect(aniso.convKernels.first == [1, 3, 3])
    }

    @Test func numpyStatisticsMatchNumpy() {
        // np.percentile([1, 2, 3, 4], 50) = 2.5; np.percentile(range(11), 10) = 1.0; np.median([3, 1, 2]) = 2
        #expect(NumpyStatistics.percentile([1, 2, 3, 4], 50) == 2.5)
        #expect(NumpyStatistics.percentile((0...10).map(Double.init), 10) == 1.0)
        #expect(NumpyStatistics.percentile([10, 20], 99.5) == 19.95)
        #expect(NumpyStatistics.median([3, 1, 2]) == 2)
        // np.percentile([0.1, 0.7, 0.2, 0.9, 0.33], 37) = 0.2624, (..., 0.5) = 0.10200000000000001
        #expect(NumpyStatistics.percentile([0.1, 0.7, 0.2, 0.9, 0.33], 37) == 0.2624)
        #expect(NumpyStatistics.percentile([0.1, 0.7, 0.2, 0.9, 0.33], 0.5) == 0.10200000000000001)
        #expect(NumpyStatistics.round(2.5) == 2 && NumpyStatistics.round(3.5) == 4)
    }

    @Test func gpuMemoryVariants() throws {
        #expect(try PlannerConfiguration.named("ExperimentPlanner3D_v21_11GB").plansFileName
                == "nnUNetPlansv2.1_big_plans_3D.json")
        #expect(try PlannerConfiguration.named("ExperimentPlanner3D_v21_32GB").dataIdentifier
                == "nnUNetData_plans_v2.1_verybig")
        #expect(throws: PlanningError.self) { try PlannerConfiguration.named("ExperimentPlanner3D_v99") }
        let custom = PlannerConfiguration.threeD(gpuMemoryGB: 24)
        #expect(custom.reference == 520_000_000.0 * 3 && custom.plansFileName == "nnUNetPlansv2.1_24GB_plans_3D.json")
        // A bigger budget never gives a smaller patch.
        let small = Self.stage3D([1, 0.7676, 0.7676], [432, 512, 512], 131, 1)
        let big = ExperimentPlanner.stage3D(currentSpacing: [1, 0.7676, 0.7676], originalSpacing: [1, 0.7676, 0.7676],
                                            medianShape: [432, 512, 512], numberOfCases: 131, modalities: 1,
                                            classes: 3, reference: custom.reference)
        #expect(big.patchSize.reduce(1, *) >= small.patchSize.reduce(1, *))
    }
}
