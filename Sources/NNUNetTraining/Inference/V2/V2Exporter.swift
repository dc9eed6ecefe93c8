import Foundation
import NNUNetCore
import NNUNetPlanning

/// nnU-Net v2's export of predicted logits: back to the cropped size, nonlinearity and argmax (or region
/// thresholds), pasted into the crop box, transposed back, in the input's geometry.
///
/// Port of the behaviour of v2 `inference/export_prediction.py`
/// (`convert_predicted_logits_to_segmentation_with_correct_shape`) and `LabelManager`'s
/// `convert_logits_to_segmentation`, `apply_inference_nonlin`, `revert_cropping_on_probabilities`:
/// - each float16 logit channel is resampled with `resampling_fn_probabilities` (order 1; the separate-z rule
///   between the configuration's spacing and the case's) into float16, as v2's numpy arrays keep the logits' dtype;
/// - labels: the argmax over the channels (first maximum wins); with probabilities kept, v2 takes the argmax of the
///   float32 softmax, which is done here too; regions: the sigmoid of each region channel, `> 0.5` writes
///   `regions_class_order[i]`, later regions overwriting earlier ones;
/// - probabilities: the float32 softmax (or sigmoids), outside the crop box background 1 (regions 0), transposed back
///   to the array's axis order.
enum V2Exporter {
    /// Exports the logits `[K, preprocessedShape]` of one case.
    /// - Throws: ``TrainingError/unusableModel(_:)`` when the probability resampling asks for an unsupported order.
    static func export(logits: [Float16], preprocessedShape: [Int], properties: V2CaseProperties, plans: V2Plans,
                       configuration: V2Configuration, dataset: V2DatasetDescription, keepingProbabilities: Bool,
                       threads: Int) throws -> V2TrainedModel.CasePrediction {
        let classCount = dataset.segmentationHeadCount
        let forward = plans.transposeForward, backward = plans.transposeBackward
        let transposedSpacing = forward.map { properties.spacing[$0] }
        let currentSpacing = configuration.spacing.count == 3 ? configuration.spacing
            : [transposedSpacing[0]] + configuration.spacing
        let resampling = configuration.probabilityResampling
        let axis = resampling.separateAxis(current: currentSpacing, target: transposedSpacing)
        let cropped = properties.shapeAfterCropping
        let voxels = preprocessedShape.reduce(1, *), croppedVoxels = cropped.reduce(1, *)
        guard logits.count == classCount * voxels else {
            throw TrainingError.unusableModel("the logits hold \(logits.count) values for \(classCount) × "
                                              + "\(preprocessedShape)")
        }
        /// Channel k of the logits resampled to the cropped size (float16 results, like v2's arrays).
        func resampledChannel(_ k: Int) throws -> [Float16] {
            try resampleLogits(Array(logits[(k * voxels)..<((k + 1) * voxels)]), shape: preprocessedShape, to: cropped,
                               with: resampling, separateAxis: axis, threads: threads)
        }
        // Nonlinearity and labels at the cropped size (transposed axes).
        var labels = [Float](repeating: 0, count: croppedVoxels)
        var probabilities: [[Float]] = keepingProbabilities
            ? [[Float]](repeating: [Float](repeating: 0, count: croppedVoxels), count: classCount) : []
        if dataset.hasRegions {
            // One region channel at a time: its sigmoid, and `> 0.5` writes its class over the earlier ones.
            let order = dataset.regionsClassOrder ?? []
            for k in 0..<classCount {
                let channel = try resampledChannel(k)
                for i in 0..<croppedVoxels {
                    let probability = 1 / (1 + exp(-Float(channel[i])))
                    if keepingProbabilities { probabilities[k][i] = probability }
                    if probability > 0.5, k < order.count { labels[i] = Float(order[k]) }
                }
            }
        } else if keepingProbabilities {
            let resampled = try (0..<classCount).map { try resampledChannel($0) }
            var values = [Float](repeating: 0, count: classCount)
            for i in 0..<croppedVoxels {
                var largest = -Float.infinity
                for k in 0..<classCount {
                    values[k] = Float(resampled[k][i])
                    largest = max(largest, values[k])
                }
                var sum: Float = 0
                for k in 0..<classCount {
                    values[k] = exp(values[k] - largest)
                    sum += values[k]
                }
                var best = 0
                for k in 0..<classCount {
                    let probability = values[k] / sum
                    probabilities[k][i] = probability
                    if probability > probabilities[best][i] { best = k }
                }
                labels[i] = Float(best)
            }
        } else {
            // Labels only: a running argmax over the channels, resampled one at a time, so that the export holds one
            // resampled channel besides the labels (the first maximum wins, as in v2's argmax).
            var best = try resampledChannel(0)
            for k in 1..<classCount {
                let channel = try resampledChannel(k)
                for i in 0..<croppedVoxels where channel[i] > best[i] {
                    best[i] = channel[i]
                    labels[i] = Float(k)
                }
            }
        }
        let original = backward.map { properties.shapeBeforeCropping[$0] }
        let labelVolume = Volume(
            data: Preprocessor.transpose(uncrop(labels, properties: properties, fill: 0), shape:
                                            properties.shapeBeforeCropping, by: backward),
            shape: original, geometry: properties.geometry)
        var kept: [Float]?
        if keepingProbabilities {
            var all: [Float] = []
            all.reserveCapacity(classCount * original.reduce(1, *))
            for k in 0..<classCount {
                let outside: Float = !dataset.hasRegions && k == 0 ? 1 : 0
                all += Preprocessor.transpose(uncrop(probabilities[k], properties: properties, fill: outside),
                                              shape: properties.shapeBeforeCropping, by: backward)
                probabilities[k] = []
            }
            kept = all
        }
        return V2TrainedModel.CasePrediction(labels: labelVolume, probabilities: kept,
                                             probabilityShape: [classCount] + original, properties: properties)
    }

    /// One logit channel resampled as `resampling` says (order 1, or 0), float16 in and out.
    static func resampleLogits(_ channel: [Float16], shape: [Int], to newShape: [Int], with resampling: V2Resampling,
                               separateAxis: Int?, threads: Int) throws -> [Float16] {
        if shape == newShape { return channel }
        if separateAxis != nil && resampling.orderZ != 0 {
            throw V2Resampler.unsupported(resampling, "order_z \(resampling.orderZ) for the logits")
        }
        switch resampling.order {
        case 1:
            return Resampling.resampleLogits(channel, shape: shape, to: newShape, separateAxis: separateAxis,
                                             threads: threads)
        case 0:
            let values = try V2Resampler.resample(channel.map { Float($0) }, shape: shape, to: newShape,
                                                  with: resampling, separateAxis: separateAxis, threads: threads)
            return values.map { Float16($0) }
        default:
            throw V2Resampler.unsupported(resampling, "order \(resampling.order) for the logits")
        }
    }

    /// Values of the crop box placed into a volume of `shapeBeforeCropping` (transposed axes) filled with `fill`.
    static func uncrop(_ values: [Float], properties: V2CaseProperties, fill: Float) -> [Float] {
        let full = properties.shapeBeforeCropping, box = properties.boundingBox
        let size = properties.shapeAfterCropping
        if size == full { return values }
        var out = [Float](repeating: fill, count: full.reduce(1, *))
        var source = 0
        for z in 0..<size[0] {
            for y in 0..<size[1] {
                let row = ((box[0][0] + z) * full[1] + box[1][0] + y) * full[2] + box[2][0]
                for x in 0..<size[2] {
                    out[row + x] = values[source]
                    source += 1
                }
            }
        }
        return out
    }
}
