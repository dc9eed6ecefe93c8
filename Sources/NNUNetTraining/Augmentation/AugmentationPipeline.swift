import Foundation

/// nnU-Net v1's training and validation pipelines as lists of transforms.
///
/// Port of v1 `training/data_augmentation/data_augmentation_moreDA.py` `get_moreDA_augmentation` (order and
/// probabilities of §7.3). A trainer variant changes the lists returned here (drop, replace or append transforms).
public enum AugmentationPipeline {
    /// The training transforms: segmentation channel selection, (dummy-2D fold), spatial, (unfold), noise, blur,
    /// brightness, contrast, low resolution, inverted gamma, gamma, mirroring, mask, −1 → 0, (the cascade: previous
    /// stage to one-hot data channels, random binary operators, random component removal), deep-supervision targets.
    ///
    /// - Parameters:
    ///   - parameters: the ranges and probabilities (``NNUNetTrainer/augmentationParameters()``).
    ///   - deepSupervisionScales: one scale vector per network output (empty: no targets are made).
    ///   - threads: threads for the kernels inside one transform (keep 1 when the loader runs several workers).
    public static func training(_ parameters: AugmentationParameters, deepSupervisionScales: [[Double]],
                                threads: Int = 1) -> [any Transform] {
        var transforms: [any Transform] = [
            SegmentationChannelSelectionTransform(channels: parameters.selectedSegmentationChannels)
        ]
        let spatialPatch = parameters.isDummy2D ? Array(parameters.patchSize[1...]) : parameters.patchSize
        if parameters.isDummy2D { transforms.append(Convert3DTo2DTransform()) }
        transforms.append(SpatialTransform(
            patchSize: spatialPatch, rotationX: parameters.rotationX, rotationY: parameters.rotationY,
            rotationZ: parameters.rotationZ, rotationProbability: parameters.rotationProbability,
            scaleRange: parameters.scaleRange, scaleProbability: parameters.scaleProbability, dataOrder: 3,
            threads: threads))
        if parameters.isDummy2D { transforms.append(Convert2DTo3DTransform()) }
        transforms += [
            GaussianNoiseTransform(sigmaRange: 0...0.1, probability: 0.1),
            GaussianBlurTransform(sigmaRange: 0.5...1, probability: 0.2, channelProbability: 0.5, threads: threads),
            BrightnessMultiplicativeTransform(multiplierRange: 0.75...1.25, probability: 0.15),
            ContrastAugmentationTransform(contrastRange: 0.75...1.25, preservesRange: true, probability: 0.15),
            SimulateLowResolutionTransform(zoomRange: 0.5...1, probability: 0.25, channelProbability: 0.5,
                                           ignoredAxes: parameters.isDummy2D ? [0] : [], threads: threads),
            GammaTransform(gammaRange: parameters.gammaRange, invertsImage: true,
                           retainsStatistics: parameters.gammaRetainsStatistics, probability: 0.1),
            GammaTransform(gammaRange: parameters.gammaRange, invertsImage: false,
                           retainsStatistics: parameters.gammaRetainsStatistics,
                           probability: parameters.gammaProbability),
            MirrorTransform(axes: parameters.mirrorAxes),
            MaskTransform(usesMask: parameters.usesMaskForNormalization),
            RemoveLabelTransform(label: -1, replacement: 0),
        ]
        if !parameters.previousStageLabels.isEmpty {
            let oneHot = Array((-parameters.previousStageLabels.count)..<0)
            transforms += [
                MoveSegmentationAsOneHotToDataTransform(segmentationChannel: 1, labels: parameters.previousStageLabels),
                RandomBinaryOperatorTransform(channels: oneHot, probability: parameters.cascadeBinaryOperatorProbability,
                                              radiusRange: parameters.cascadeBinaryOperatorRadius, threads: threads),
                RemoveRandomConnectedComponentTransform(
                    channels: oneHot, probability: parameters.cascadeRemoveComponentProbability,
                    maximumFraction: parameters.cascadeRemoveComponentMaximumFraction,
                    fillProbability: parameters.cascadeRemoveComponentFillProbability),
            ]
        }
        if !deepSupervisionScales.isEmpty {
            transforms.append(DownsampleSegmentationForDeepSupervisionTransform(scales: deepSupervisionScales))
        }
        return transforms
    }

    /// The validation transforms: −1 → 0, segmentation channel selection, (the cascade: previous stage to one-hot data
    /// channels), deep-supervision targets (no mask).
    public static func validation(_ parameters: AugmentationParameters,
                                  deepSupervisionScales: [[Double]]) -> [any Transform] {
        var transforms: [any Transform] = [
            RemoveLabelTransform(label: -1, replacement: 0),
            SegmentationChannelSelectionTransform(channels: parameters.selectedSegmentationChannels),
        ]
        if !parameters.previousStageLabels.isEmpty {
            transforms.append(MoveSegmentationAsOneHotToDataTransform(segmentationChannel: 1,
                                                                      labels: parameters.previousStageLabels))
        }
        if !deepSupervisionScales.isEmpty {
            transforms.append(DownsampleSegmentationForDeepSupervisionTransform(scales: deepSupervisionScales))
        }
        return transforms
    }
}
