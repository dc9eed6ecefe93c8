import Foundation
import NNUNetCore
import NNUNetPlanning

/// Turns class probabilities in preprocessed space into a label map in the geometry of the original image
/// (v1 `save_segmentation_nifti_from_softmax`, reference sheet §9.4), with bounded memory.
///
/// Each class is resampled to the cropped size (order 1; with v1's separate-z rule, linear in-plane and nearest along
/// the anisotropic axis) and folded into a running argmax; the labels are transposed back and pasted into a zero
/// volume of the original size at the crop box. The work is done by ``ProbabilitySlabExporter`` one output slice at a
/// time, so besides the probabilities passed in only the label volume and a few slices exist (never a resampled
/// class channel, let alone K of them). `nnunet predict` does not even hold the probabilities: it feeds the slabs of
/// ``SlidingWindowPredictor/forEachProbabilitySlab(_:channels:shape:_:)`` to the exporter as they are finished.
public enum SegmentationExporter {
    /// - Parameters:
    ///   - probabilities: `[K, z, y, x]` in preprocessed (transposed) space, C order.
    ///   - classCount: K.
    ///   - shape: the preprocessed spatial shape.
    ///   - properties: the case's preprocessing properties (crop box, sizes, spacings, ITK geometry).
    ///   - transposeForward: the plans' `transpose_forward`.
    ///   - transposeBackward: the plans' `transpose_backward`.
    ///   - threads: worker threads.
    /// - Returns: the label map (uint8 values as Float) with the original image's shape and geometry.
    public static func labelMap(probabilities: [Float], classCount: Int, shape: [Int],
                                properties: PreprocessedCaseProperties, transposeForward: [Int],
                                transposeBackward: [Int], threads: Int = ThreadSettings.defaultThreads) -> Volume {
        export(probabilities: probabilities, classCount: classCount, shape: shape, properties: properties,
               transposeForward: transposeForward, transposeBackward: transposeBackward, keepingProbabilities: false,
               threads: threads).labels
    }

    /// The label map, and with `keepingProbabilities` also the resampled class probabilities `[K, z, y, x]` at the
    /// cropped size in the image's own axis order: what v1's `--save_npz` stores (before the argmax and before the
    /// crop is undone). Keeping them costs K × the cropped volume; without it memory stays bounded as in
    /// ``labelMap(probabilities:classCount:shape:properties:transposeForward:transposeBackward:threads:)``.
    public static func export(probabilities: [Float], classCount: Int, shape: [Int],
                              properties: PreprocessedCaseProperties, transposeForward: [Int], transposeBackward: [Int],
                              keepingProbabilities: Bool, threads: Int = ThreadSettings.defaultThreads)
        -> (labels: Volume, probabilities: [Float]?) {
        var exporter = ProbabilitySlabExporter(classCount: classCount, shape: shape, properties: properties,
                                               transposeForward: transposeForward,
                                               transposeBackward: transposeBackward,
                                               keepingProbabilities: keepingProbabilities, threads: threads)
        exporter.consume(probabilities, rows: 0..<shape[0])
        return exporter.finish()
    }

    /// Whole-volume export: each class channel is resampled whole, one at a time, into a running argmax (one
    /// resampled channel, the running maximum and the labels exist at once). The slice-wise ``ProbabilitySlabExporter`` computes the same values; this path serves
    /// the cases it does not cover (a separate-z axis other than the first preprocessed axis) and is the reference
    /// the tests compare it with.
    static func exportWholeVolume(probabilities: [Float], classCount: Int, shape: [Int],
                                  properties: PreprocessedCaseProperties, transposeForward: [Int],
                                  transposeBackward: [Int], keepingProbabilities: Bool,
                                  threads: Int = ThreadSettings.defaultThreads)
        -> (labels: Volume, probabilities: [Float]?) {
        let cropping = properties.cropping
        let target = transposeForward.map { cropping.sizeAfterCropping[$0] }
        let axis = Preprocessor.separateAxis(originalSpacing: cropping.originalSpacing,
                                             targetSpacing: properties.spacingAfterResampling)
        let voxels = shape.reduce(1, *), targetVoxels = target.reduce(1, *)
        var best = [Float](repeating: -.infinity, count: targetVoxels)
        var labels = [Float](repeating: 0, count: targetVoxels)
        var kept: [Float] = []
        if keepingProbabilities { kept.reserveCapacity(classCount * targetVoxels) }
        for k in 0..<classCount {
            let channel = Array(probabilities[(k * voxels)..<((k + 1) * voxels)])
            let resampled = Resampling.resampleProbabilities(channel, shape: shape, to: target, separateAxis: axis,
                                                             threads: threads)
            if keepingProbabilities {
                kept += Preprocessor.transpose(resampled, shape: target, by: transposeBackward)
            }
            for i in 0..<targetVoxels where resampled[i] > best[i] {
                best[i] = resampled[i]
                labels[i] = Float(k)
            }
        }
        let cropped = Preprocessor.transpose(labels, shape: target, by: transposeBackward)
        return (uncrop(cropped, properties: properties), keepingProbabilities ? kept : nil)
    }

    /// How probabilities become labels at the original resolution (v1 `--mode`; the raw values are v1's spellings,
    /// `normal`, `fast`, `fastest`). ``FolderPredictor/Options/exportMode`` and ``TrainedModel/exportMode`` take it.
    public enum Mode: String, Sendable, CaseIterable, Codable, Hashable, CustomStringConvertible {
        /// Resample every class probability (order 1, separate-z rules), then argmax (v1 default).
        case normal
        /// Argmax in preprocessed space, then resample the label map one-hot linearly (separate-z rules).
        case fast
        /// Argmax in preprocessed space, then nearest-neighbour resampling of the label map.
        case fastest

        /// The raw value, as v1's `--mode` spells it.
        public var description: String { rawValue }
    }

    /// The label map for the `fast` and `fastest` modes: argmax first (K × smaller volume never resampled), then the
    /// labels are resampled to the cropped size, transposed back and pasted at the crop box with the image geometry.
    public static func labelMapFromArgmax(probabilities: [Float], classCount: Int, shape: [Int],
                                          properties: PreprocessedCaseProperties, transposeForward: [Int],
                                          transposeBackward: [Int], mode: Mode,
                                          threads: Int = ThreadSettings.defaultThreads) -> Volume {
        var exporter = ProbabilitySlabExporter(classCount: classCount, shape: shape, properties: properties,
                                               transposeForward: transposeForward,
                                               transposeBackward: transposeBackward, mode: mode, threads: threads)
        exporter.consume(probabilities, rows: 0..<shape[0])
        return exporter.finish().labels
    }

    /// The second half of the `fast`/`fastest` modes: a label map in preprocessed space resampled to the cropped
    /// size (one-hot linear with the separate-z rule, or nearest), transposed back and pasted at the crop box.
    static func labelMap(fromPreprocessedLabels labels: [Float], shape: [Int], properties: PreprocessedCaseProperties,
                         transposeForward: [Int], transposeBackward: [Int], mode: Mode,
                         threads: Int = ThreadSettings.defaultThreads) -> Volume {
        let cropping = properties.cropping
        let target = transposeForward.map { cropping.sizeAfterCropping[$0] }
        let resampled: [Float]
        if mode == .fastest {
            resampled = Resampling.resizeNearest(labels, shape: shape, to: target)
        } else {
            let axis = Preprocessor.separateAxis(originalSpacing: cropping.originalSpacing,
                                                 targetSpacing: properties.spacingAfterResampling)
            resampled = Resampling.resampleLikeNNUNet(labels, shape: shape, to: target, isSegmentation: true,
                                                      separateAxis: axis, threads: threads)
        }
        return uncrop(Preprocessor.transpose(resampled, shape: target, by: transposeBackward), properties: properties)
    }

    /// Pastes labels of the cropped size into a zero volume of the original size, with the original geometry.
    static func uncrop(_ cropped: [Float], properties: PreprocessedCaseProperties) -> Volume {
        let cropping = properties.cropping
        let original = cropping.originalSizeOfRawData
        var full = [Float](repeating: 0, count: original.reduce(1, *))
        let box = cropping.cropBBox
        let size = cropping.sizeAfterCropping
        var source = 0
        for z in 0..<size[0] {
            for y in 0..<size[1] {
                let row = ((box[0][0] + z) * original[1] + box[1][0] + y) * original[2] + box[2][0]
                for x in 0..<size[2] { full[row + x] = cropped[source]; source += 1 }
            }
        }
        let geometry = ImageGeometry(itkSpacing: cropping.itkSpacing, itkOrigin: cropping.itkOrigin,
                                     itkDirection: cropping.itkDirection)
        return Volume(data: full, shape: original, geometry: geometry)
    }
}
