/// The planner's proxy for U-Net activation memory (v1's "VRAM consumption" estimate).
///
/// Not bytes: a count proportional to the activations of a Generic_UNet with `conv_per_stage` convolutions per
/// stage, transposed-convolution upsampling and no deep-supervision term, used to compare patch sizes against a
/// reference budget. Port of v1 `network_architecture/generic_UNet.py`
/// `Generic_UNet.compute_approx_vram_consumption` (deep_supervision False), in Int64 arithmetic.
///
/// Example (reference sheet §4.7): patch 128³, 5 × [2, 2, 2], base 32, max 320, 1 modality, 3 classes →
/// 454 893 568.
public enum UNetMemoryEstimate {
    /// v1's reference budget for 3D planning (`use_this_for_batch_size_computation_3D`), at 8 GB and 30 base features.
    public static let reference3D: Double = 520_000_000
    /// v1's reference budget for 2D planning (`use_this_for_batch_size_computation_2D`).
    public static let reference2D: Double = 19_739_648

    /// The estimate for one network.
    ///
    /// - Parameters:
    ///   - patchSize: input patch (2 or 3 axes).
    ///   - poolKernels: one kernel per pooling operation, each with one entry per axis.
    ///   - baseFeatures: features of the first stage (v2.1: 32).
    ///   - maxFeatures: feature cap (3D 320, the 2D planner assumes 512).
    ///   - modalities: input channels C.
    ///   - classes: output classes K including background.
    ///   - convolutionsPerStage: 2 in every default planner.
    public static func approximateConsumption(patchSize: [Int], poolKernels: [[Int]], baseFeatures: Int,
                                              maxFeatures: Int, modalities: Int, classes: Int,
                                              convolutionsPerStage: Int = 2) -> Int64 {
        var map = patchSize.map(Int64.init)
        let voxels = map.reduce(1, *)
        var total = Int64(2 * convolutionsPerStage + 1) * voxels * Int64(baseFeatures)
            + Int64(modalities) * voxels + Int64(classes) * voxels
        var features = Int64(baseFeatures)
        for (p, kernel) in poolKernels.enumerated() {
            for axis in map.indices { map[axis] /= Int64(kernel[axis]) }
            features = min(features * 2, Int64(maxFeatures))
            let blocks = p < poolKernels.count - 1 ? 2 * convolutionsPerStage + 1 : convolutionsPerStage
            total += Int64(blocks) * map.reduce(1, *) * features
        }
        return total
    }
}
