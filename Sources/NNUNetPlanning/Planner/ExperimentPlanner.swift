import Foundation
import NNUNetCore

/// The v2.1 experiment planners: target spacing, transposition, 3d_fullres / 3d_lowres / 2d stages.
///
/// Port of v1 `experiment_planning/experiment_planner_baseline_3DUNet.py` (`ExperimentPlanner.plan_experiment`),
/// `experiment_planner_baseline_3DUNet_v21.py` (`get_target_spacing`, `get_properties_for_stage`),
/// `experiment_planner_baseline_2DUNet_v21.py` and the 11/16/32 GB variants (reference sheet §4). Every rule is a
/// pure function here so that it can be tested on its own; float arithmetic follows numpy's order of operations.
public enum ExperimentPlanner {
    // MARK: constants (reference sheet §4.1)
    /// Features of the first stage (v1 `unet_base_num_features`: 32); also the base of the memory estimate.
    public static let baseFeatures = 32
    /// Feature cap of the 3D memory estimate (v1 `unet_max_num_filters`: 320).
    public static let maxFeatures3D = 320
    /// Feature cap of the 2D memory estimate (v1's 2D planner: 512).
    public static let maxFeatures2D = 512
    /// Convolutions per stage in the memory estimate (v1 `conv_per_stage`: 2).
    public static let convolutionsPerStage = 2
    /// Smallest batch size (v1 `unet_min_batch_size`: 2); the 2D planner fails below it.
    public static let minimumBatchSize = 2
    /// Anisotropy factor (v1 `anisotropy_threshold`: 3): target-spacing rule and `do_dummy_2D_data_aug` above it.
    public static let anisotropyThreshold = 3.0
    /// A 3d_lowres stage is searched while the median patient holds at least this many patches (v1: 4).
    public static let lowresMinimumPatientFraction = 4.0
    /// Largest fraction of the dataset's voxels one batch may cover (v1 `batch_size_covers_max_percent_of_dataset`).
    public static let batchMaxDatasetFraction = 0.05
    /// Batch size of the 3D memory reference (v1 `Generic_UNet.DEFAULT_BATCH_SIZE_3D`: 2), scaled by the spare budget.
    public static let defaultBatchSize3D = 2

    // MARK: rules

    /// 3D v2.1 target spacing (§4.2): per-axis median spacing, except that a very anisotropic axis (spacing > 3×
    /// the others and size × 3 < the others) takes the 10th percentile of its spacings (at least the largest other
    /// spacing + 1e-5).
    public static func targetSpacing3D(spacings: [[Double]], sizes: [[Int]]) -> [Double] {
        var target = NumpyStatistics.percentile(rows: spacings, 50)
        let targetSize = NumpyStatistics.percentile(rows: sizes.map { $0.map(Double.init) }, 50)
        let worst = argmax(target)
        let others = (0..<target.count).filter { $0 != worst }
        let otherSpacings = others.map { target[$0] }, otherSizes = others.map { targetSize[$0] }
        let anisotropicSpacing = target[worst] > anisotropyThreshold * (otherSpacings.max() ?? 0)
        let anisotropicVoxels = targetSize[worst] * anisotropyThreshold < (otherSizes.min() ?? 0)
        if anisotropicSpacing && anisotropicVoxels {
            var axisTarget = NumpyStatistics.percentile(spacings.map { $0[worst] }, 10)
            let maxOther = otherSpacings.max() ?? 0
            if axisTarget < maxOther { axisTarget = max(maxOther, axisTarget) + 1e-5 }
            target[worst] = axisTarget
        }
        return target
    }

    /// 2D target spacing: the plain per-axis median (§4.10).
    public static func targetSpacing2D(spacings: [[Double]]) -> [Double] {
        NumpyStatistics.percentile(rows: spacings, 50)
    }

    /// `transpose_forward` (largest-spacing axis first, then the others ascending) and its inverse (§4.3).
    public static func transposition(targetSpacing: [Double]) -> (forward: [Int], backward: [Int]) {
        let worst = argmax(targetSpacing)
        let forward = [worst] + (0..<3).filter { $0 != worst }
        let backward = (0..<3).map { axis in forward.firstIndex(of: axis) ?? axis }
        return (forward, backward)
    }

    /// Per-axis median of the cases' shapes at the target spacing (float, §4.4).
    public static func medianShape(spacings: [[Double]], sizes: [[Int]], targetSpacing: [Double]) -> [Double] {
        let shapes = zip(spacings, sizes).map { spacing, size in
            (0..<3).map { spacing[$0] / targetSpacing[$0] * Double(size[$0]) }
        }
        return NumpyStatistics.median(rows: shapes)
    }

    /// `round(original / current × median shape)`.
    static func newMedianShape(original: [Double], current: [Double], medianShape: [Double]) -> [Int] {
        (0..<original.count).map { NumpyStatistics.round(original[$0] / current[$0] * medianShape[$0]) }
    }

    /// One 3D stage (§4.6): isotropic-in-mm start patch, clipped to the median shape, shrunk until the memory
    /// estimate fits `reference`; batch size from the remaining budget, capped at 5 % of the dataset's voxels.
    ///
    /// - Parameters: all in transposed order; `classes` includes background.
    public static func stage3D(currentSpacing: [Double], originalSpacing: [Double], medianShape: [Double],
                               numberOfCases: Int, modalities: Int, classes: Int, reference: Double) -> StagePlan {
        let median = newMedianShape(original: originalSpacing, current: currentSpacing, medianShape: medianShape)
        let datasetVoxels = Int64(median.reduce(1, *)) * Int64(numberOfCases)
        var start = currentSpacing.map { 1 / $0 }
        let mean = (start[0] + start[1] + start[2]) / 3
        start = start.map { $0 / mean }
        let scale = 1 / (start.min() ?? 1) * 512
        let initial = zip(start, median).map { min(NumpyStatistics.round($0 * scale), $1) }
        var topology = NetworkTopology(spacing: currentSpacing, patchSize: initial)
        func estimate(_ t: NetworkTopology) -> Int64 {
            UNetMemoryEstimate.approximateConsumption(
                patchSize: t.patchSize, poolKernels: t.poolKernels, baseFeatures: baseFeatures,
                maxFeatures: maxFeatures3D, modalities: modalities, classes: classes,
                convolutionsPerStage: convolutionsPerStage)
        }
        var here = estimate(topology)
        while Double(here) > reference {
            topology = shrink(topology, spacing: currentSpacing, median: median)
            here = estimate(topology)
        }
        let patch = topology.patchSize
        var batch = Int((max(reference / Double(here), 1) * Double(defaultBatchSize3D)).rounded(.down))
        let cap = max(NumpyStatistics.round(batchMaxDatasetFraction * Double(datasetVoxels)
                                            / Double(patch.reduce(1, *))), minimumBatchSize)
        batch = max(1, min(batch, cap))
        let dummy2D = Double(patch.max() ?? 1) / Double(patch[0]) > anisotropyThreshold
        return StagePlan(batchSize: batch, numPoolPerAxis: topology.numPoolPerAxis, patchSize: patch,
                         medianPatientSizeInVoxels: median, currentSpacing: currentSpacing,
                         originalSpacing: originalSpacing, doDummy2DDataAug: dummy2D,
                         poolOpKernelSizes: topology.poolKernels, convKernelSizes: topology.convKernels)
    }

    /// One shrink step (§4.6 step 4): reduce the axis with the largest patch / median ratio (ties → higher index)
    /// by the divisor it would have after the reduction, then re-derive the topology.
    static func shrink(_ topology: NetworkTopology, spacing: [Double], median: [Int]) -> NetworkTopology {
        let ratios = zip(topology.patchSize, median).map { Double($0) / Double($1) }
        var axis = 0
        for i in 1..<ratios.count where ratios[i] >= ratios[axis] { axis = i }
        var tmp = topology.patchSize
        tmp[axis] -= topology.divisor[axis]
        let newDivisor = NetworkTopology(spacing: spacing, patchSize: tmp).divisor
        var patch = topology.patchSize
        patch[axis] -= newDivisor[axis]
        return NetworkTopology(spacing: spacing, patchSize: patch)
    }

    /// The 2D stage (§4.10): patch = in-plane median shape, shrunk against the 2D reference; batch
    /// `floor(ref / here) × 2`, capped at 5 % of the dataset's voxels.
    /// - Throws: ``PlanningError/invalidInput(_:)`` if even the smallest patch leaves a batch below 2 (v1 raises).
    public static func stage2D(currentSpacing: [Double], originalSpacing: [Double], medianShape: [Double],
                               numberOfCases: Int, modalities: Int, classes: Int, reference: Double) throws
        -> StagePlan {
        let median = newMedianShape(original: originalSpacing, current: currentSpacing, medianShape: medianShape)
        let datasetVoxels = Int64(median.reduce(1, *)) * Int64(numberOfCases)
        let inPlaneSpacing = Array(currentSpacing[1...]), inPlaneMedian = Array(median[1...])
        var topology = NetworkTopology(spacing: inPlaneSpacing, patchSize: inPlaneMedian)
        func estimate(_ t: NetworkTopology, base: Int) -> Int64 {
            UNetMemoryEstimate.approximateConsumption(
                patchSize: t.patchSize, poolKernels: t.poolKernels, baseFeatures: base, maxFeatures: maxFeatures2D,
                modalities: modalities, classes: classes, convolutionsPerStage: convolutionsPerStage)
        }
        // v1 quirk: the first estimate uses 30 base features, the loop uses 32.
        var here = estimate(topology, base: 30)
        while Double(here) > reference {
            topology = shrink(topology, spacing: inPlaneSpacing, median: inPlaneMedian)
            here = estimate(topology, base: baseFeatures)
        }
        var batch = Int((reference / Double(here)).rounded(.down) * 2)
        guard batch >= minimumBatchSize else {
            throw PlanningError.invalidInput("The 2D planner cannot fit a batch of 2 (estimate \(here) for patch "
                                             + "\(topology.patchSize)); v1 stops here as well.")
        }
        let patch = topology.patchSize
        let cap = NumpyStatistics.round(batchMaxDatasetFraction * Double(datasetVoxels) / Double(patch.reduce(1, *)))
        batch = max(1, min(batch, cap))
        return StagePlan(batchSize: batch, numPoolPerAxis: topology.numPoolPerAxis, patchSize: patch,
                         medianPatientSizeInVoxels: median, currentSpacing: currentSpacing,
                         originalSpacing: originalSpacing, doDummy2DDataAug: false,
                         poolOpKernelSizes: topology.poolKernels, convKernelSizes: topology.convKernels)
    }

    /// The 3d_lowres search (§4.9): starting from the target spacing, coarsen (×1.01 on the axes more than 2× finer
    /// than the coarsest, else on all) until the median patient is at most `minimumPatientFraction` patches (v1: 4);
    /// keep the candidate only if it halves the voxels of the fullres median patient. Returns nil when no lowres stage
    /// is made.
    ///
    /// - Parameters: `targetSpacing` and `medianShape` untransposed; `fullres` is the 3d_fullres stage;
    ///   `minimumPatientFraction` is ``PlannerConfiguration/lowresMinimumPatientFraction``.
    public static func lowresStage(targetSpacing: [Double], medianShape: [Double], transposeForward: [Int],
                                   fullres: StagePlan, numberOfCases: Int, modalities: Int, classes: Int,
                                   reference: Double,
                                   minimumPatientFraction: Double = lowresMinimumPatientFraction) -> StagePlan? {
        let lowresMinimumPatientFraction = minimumPatientFraction
        var patchVoxels = Int64(fullres.patchSize.reduce(1, *))
        let medianVoxels = medianShape.reduce(1, *)
        guard medianVoxels / Double(patchVoxels) >= lowresMinimumPatientFraction else { return nil }
        let targetTransposed = transposeForward.map { targetSpacing[$0] }
        let medianTransposed = transposeForward.map { medianShape[$0] }
        var spacing = targetSpacing
        var voxels = medianVoxels
        var candidate: StagePlan?
        while voxels > lowresMinimumPatientFraction * Double(patchVoxels) {
            let maxSpacing = spacing.max() ?? 1
            let coarse = spacing.map { maxSpacing / $0 > 2 }
            if coarse.contains(true) {
                for i in spacing.indices where coarse[i] { spacing[i] *= 1.01 }
            } else {
                spacing = spacing.map { $0 * 1.01 }
            }
            voxels = (0..<3).map { targetSpacing[$0] / spacing[$0] * medianShape[$0] }.reduce(1, *)
            let stage = stage3D(currentSpacing: transposeForward.map { spacing[$0] }, originalSpacing: targetTransposed,
                                medianShape: medianTransposed, numberOfCases: numberOfCases, modalities: modalities,
                                classes: classes, reference: reference)
            patchVoxels = Int64(stage.patchSize.reduce(1, *))
            candidate = stage
        }
        guard let lowres = candidate,
              2 * lowres.medianPatientSizeInVoxels.reduce(1, *) < fullres.medianPatientSizeInVoxels.reduce(1, *)
        else { return nil }
        return lowres
    }

    /// Normalisation scheme per modality (§4.11): `CT`/`ct` → CT, `noNorm` → noNorm, else nonCT.
    public static func normalizationSchemes(_ modalities: [Int: String]) -> [Int: String] {
        modalities.mapValues { $0 == "CT" || $0 == "ct" ? "CT" : ($0 == "noNorm" ? "noNorm" : "nonCT") }
    }

    /// Whether each modality is normalised inside the nonzero mask only (§4.11): never when the name contains
    /// `CT`; otherwise iff the median size reduction by cropping is below 3/4.
    public static func useMaskForNormalization(_ modalities: [Int: String], sizeReductions: [Double])
        -> [Int: Bool] {
        let median = NumpyStatistics.median(sizeReductions)
        return modalities.mapValues { $0.contains("CT") ? false : median < 0.75 }
    }

    // MARK: whole plans

    /// Plans a task from its fingerprint with a 3D or 2D planner configuration.
    ///
    /// - Parameters:
    ///   - properties: the fingerprint (cases in sorted order).
    ///   - configuration: which planner.
    ///   - croppedFiles: the cropped case files (for `list_of_npz_files`).
    ///   - preprocessedFolder: the task's preprocessed folder (for `preprocessed_data_folder`).
    public static func plan(properties: DatasetProperties, configuration: PlannerConfiguration,
                            croppedFiles: [String], preprocessedFolder: String) throws -> Plans {
        let spacings = properties.allSpacings, sizes = properties.allSizes
        guard !spacings.isEmpty else { throw PlanningError.invalidInput("The fingerprint holds no cases.") }
        let modalityCount = properties.modalities.count
        let classes = properties.allClasses.count + 1
        let cases = spacings.count
        let is3D = configuration.dimensionality == .threeD
        let target = is3D ? targetSpacing3D(spacings: spacings, sizes: sizes) : targetSpacing2D(spacings: spacings)
        let median = medianShape(spacings: spacings, sizes: sizes, targetSpacing: target)
        let (forward, backward) = transposition(targetSpacing: target)
        let targetT = forward.map { target[$0] }, medianT = forward.map { median[$0] }
        var stages: [StagePlan]
        if is3D {
            let fullres = stage3D(currentSpacing: targetT, originalSpacing: targetT, medianShape: medianT,
                                  numberOfCases: cases, modalities: modalityCount, classes: classes,
                                  reference: configuration.reference)
            stages = [fullres]
            if let lowres = lowresStage(targetSpacing: target, medianShape: median, transposeForward: forward,
                                        fullres: fullres, numberOfCases: cases, modalities: modalityCount,
                                        classes: classes, reference: configuration.reference,
                                        minimumPatientFraction: configuration.lowresMinimumPatientFraction) {
                stages = [lowres, fullres]
            }
        } else {
            stages = [try stage2D(currentSpacing: targetT, originalSpacing: targetT, medianShape: medianT,
                                  numberOfCases: cases, modalities: modalityCount, classes: classes,
                                  reference: configuration.reference)]
        }
        let reductions = properties.caseIdentifiers.compactMap { properties.sizeReductions[$0] }
        var perStage: [Int: StagePlan] = [:]
        for (i, s) in stages.enumerated() { perStage[i] = s }
        return Plans(
            numStages: stages.count, numModalities: modalityCount, modalities: properties.modalities,
            normalizationSchemes: normalizationSchemes(properties.modalities), datasetProperties: properties,
            listOfNpzFiles: croppedFiles, originalSpacings: spacings, originalSizes: sizes,
            preprocessedDataFolder: preprocessedFolder, numClasses: properties.allClasses.count,
            allClasses: properties.allClasses, baseNumFeatures: baseFeatures,
            useMaskForNorm: useMaskForNormalization(properties.modalities, sizeReductions: reductions),
            transposeForward: forward, transposeBackward: backward, dataIdentifier: configuration.dataIdentifier,
            plansPerStage: perStage, preprocessorName: is3D ? "GenericPreprocessor" : "PreprocessorFor2D",
            convPerStage: is3D ? convolutionsPerStage : nil)
    }

    static func argmax(_ values: [Double]) -> Int {
        var best = 0
        for i in values.indices where values[i] > values[best] { best = i }
        return best
    }
}
