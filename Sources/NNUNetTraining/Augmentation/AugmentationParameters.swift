import Foundation

/// The augmentation settings of nnUNetTrainerV2 (v1's `data_aug_params` after `setup_DA_params`).
///
/// Angles are in radians, ranges closed. Build with ``nnUNetTrainerV2(patchSize:doesDummy2DAugmentation:usesMaskForNormalization:)``
/// and change fields in a trainer variant before the pipeline is made.
public struct AugmentationParameters: Sendable, Equatable {
    /// Final (network) patch size, 2 or 3 entries.
    public var patchSize: [Int]
    /// The enlarged patch the training loader samples (§7.2), computed with the *initial* scale range (0.85, 1.25).
    public var basicPatchSize: [Int]
    /// True for a 3D stage with `do_dummy_2D_data_aug`: spatial augmentation runs in 2D on each slice of axis 0.
    public var isDummy2D: Bool
    /// Angle range in radians of the rotation about the first spatial axis (`rotation_x`); in 2D the in-plane angle.
    public var rotationX: ClosedRange<Double>
    /// Angle range in radians of the rotation about the second spatial axis (`rotation_y`); unused in 2D.
    public var rotationY: ClosedRange<Double>
    /// Angle range in radians of the rotation about the third spatial axis (`rotation_z`); unused in 2D.
    public var rotationZ: ClosedRange<Double>
    /// Probability per sample of a rotation (`p_rot`: 0.2).
    public var rotationProbability: Double
    /// Range of the zoom factor (`scale_range`: 0.7...1.4 in V2); a factor above 1 zooms out.
    public var scaleRange: ClosedRange<Double>
    /// Probability per sample of a scaling (`p_scale`: 0.2).
    public var scaleProbability: Double
    /// Range of γ of the gamma transforms (`gamma_range`: 0.7...1.5).
    public var gammaRange: ClosedRange<Double>
    /// Probability per sample of the non-inverted gamma transform (`p_gamma`: 0.3; the inverted one uses 0.1).
    public var gammaProbability: Double
    /// Whether gamma keeps each channel's mean and standard deviation (`gamma_retain_stats`: true).
    public var gammaRetainsStatistics: Bool
    /// Spatial axes that may be mirrored (`mirror_axes`): (0, 1, 2) in 3D, (0, 1) in 2D.
    public var mirrorAxes: [Int]
    /// Per modality: was it normalised inside the nonzero mask (`use_mask_for_norm`)?
    public var usesMaskForNormalization: [Bool]
    /// Segmentation channels kept by ``SegmentationChannelSelectionTransform`` (`selected_seg_channels`: [0]).
    public var selectedSegmentationChannels: [Int]
    /// The cascade: labels of the previous stage's segmentation that become one-hot data channels (1 ... K − 1, v1
    /// `all_segmentation_labels`); empty for every other configuration.
    public var previousStageLabels: [Int] = []
    /// The cascade: probability per sample of ``RandomBinaryOperatorTransform`` (v1: 0.4).
    public var cascadeBinaryOperatorProbability = 0.4
    /// The cascade: radius range of its ball (v1: (1, 8)).
    public var cascadeBinaryOperatorRadius: ClosedRange<Double> = 1...8
    /// The cascade: probability per sample and channel of ``RemoveRandomConnectedComponentTransform`` (v1: 0.2).
    public var cascadeRemoveComponentProbability = 0.2
    /// The cascade: largest fraction of the patch a removable component may cover (v1: 0.15).
    public var cascadeRemoveComponentMaximumFraction = 0.15
    /// The cascade: probability that a removed component is given to another class (v1: 0).
    public var cascadeRemoveComponentFillProbability = 0.0

    /// v1's defaults for a plan stage: 3D (rotation ±30° per axis), dummy-2D (in-plane ±180°), or 2D (±180°, or
    /// ±15° when the longest patch edge exceeds 1.5× the shortest).
    ///
    /// Port of v1 `nnUNetTrainerV2.setup_DA_params` over `default_3D/2D_augmentation_params`. Elastic deformation is
    /// off in V2 and not implemented here.
    public static func nnUNetTrainerV2(patchSize: [Int], doesDummy2DAugmentation: Bool,
                                       usesMaskForNormalization: [Bool]) -> AugmentationParameters {
        let degree = Double.pi / 180
        let is3D = patchSize.count == 3
        let isDummy2D = is3D && doesDummy2DAugmentation
        var rotationX = -30 * degree...30 * degree
        var rotationY = rotationX, rotationZ = rotationX
        if isDummy2D {
            rotationX = -180 * degree...180 * degree
        } else if !is3D {
            let ratio = Double(patchSize.max() ?? 1) / Double(patchSize.min() ?? 1)
            rotationX = ratio > 1.5 ? -15 * degree...15 * degree : -180 * degree...180 * degree
            rotationY = 0...0
            rotationZ = 0...0
        }
        // The basic patch uses the default scale range (0.85, 1.25) before V2 widens it to (0.7, 1.4): §7.2 quirk.
        let initialScale = 0.85...1.25
        let basic: [Int]
        if isDummy2D {
            basic = [patchSize[0]] + BasicPatchSize.compute(finalPatchSize: Array(patchSize[1...]),
                                                            rotationX: rotationX, rotationY: rotationY,
                                                            rotationZ: rotationZ, scaleRange: initialScale)
        } else {
            basic = BasicPatchSize.compute(finalPatchSize: patchSize, rotationX: rotationX, rotationY: rotationY,
                                           rotationZ: rotationZ, scaleRange: initialScale)
        }
        return AugmentationParameters(
            patchSize: patchSize, basicPatchSize: basic, isDummy2D: isDummy2D, rotationX: rotationX,
            rotationY: rotationY, rotationZ: rotationZ, rotationProbability: 0.2, scaleRange: 0.7...1.4,
            scaleProbability: 0.2, gammaRange: 0.7...1.5, gammaProbability: 0.3, gammaRetainsStatistics: true,
            mirrorAxes: is3D ? [0, 1, 2] : [0, 1], usesMaskForNormalization: usesMaskForNormalization,
            selectedSegmentationChannels: [0])
    }
}
