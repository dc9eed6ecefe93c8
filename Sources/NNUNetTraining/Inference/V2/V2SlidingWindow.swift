import Foundation
import NNUNetCore

/// nnU-Net v2's sliding-window prediction of one preprocessed case with one network: the *logits*, in float16.
///
/// Port of the behaviour of v2 `inference/predict_from_raw_data.py` (`predict_sliding_window_return_logits`,
/// `_internal_predict_sliding_window_return_logits`, `_internal_maybe_mirror_and_predict`) and
/// `inference/sliding_window_prediction.py` (`compute_gaussian`, `compute_steps_for_sliding_window`) on the CPU:
/// - the case is padded with zeros to at least the patch size (the last 2 axes for a 2D network, which predicts every
///   slice along the first axis); tiles start at v1's/v2's evenly spread steps, first axis outermost;
/// - a tile's logits are the float32 sum of the network's output on the tile and on its mirrored copies (every
///   non-empty combination of the checkpoint's `inference_allowed_mirroring_axes`, in `itertools.combinations`
///   order), divided by their number; no mirroring when the checkpoint names no axes;
/// - the logits are multiplied by the Gaussian importance map (σ = patch / 8, peak scaled to 10, float16) and added
///   into a **float16** aggregate, as are the map's values into a float16 count; finally aggregate / count, rounded to
///   float16. Each float16 operation is float32 arithmetic rounded to float16, as PyTorch's CPU kernels do, so the
///   result equals v2's bit for bit whenever the network's float32 outputs do.
///
/// v2 averages logits, not probabilities (v1 averaged softmax outputs).
struct V2SlidingWindow {
    /// The network's patch size (2 or 3 entries).
    var patchSize: [Int]
    /// Output channels of the network.
    var classCount: Int
    /// Tile step as a fraction of the patch (`-step_size`, 0.5).
    var stepSize = 0.5
    /// The mirroring axes (patch axes), or nil for none.
    var mirrorAxes: [Int]?
    /// Whether tiles are weighted by the Gaussian map (v2's `use_gaussian`, always true from the command line).
    var usesGaussian = true

    /// v2's scaling of the Gaussian's peak (`value_scaling_factor=10`), which keeps the float16 sums away from
    /// underflow.
    static let gaussianPeak = 10.0

    /// The logits `[K, shape]` of `data` `[C, shape]` (shape is 3D; a 2D network sees slices along axis 0).
    /// - Throws: ``TrainingError/unusableModel(_:)`` when the aggregate overflows float16 (v2 raises for the same).
    func predictLogits(network: Module, data: [Float], channels: Int, shape: [Int]) throws -> [Float16] {
        precondition(shape.count == 3 && data.count == channels * shape.reduce(1, *),
                     "predictLogits: \(data.count) values for \(channels) × \(shape)")
        let isTwoD = patchSize.count == 2
        let tile = isTwoD ? [1] + patchSize : patchSize
        let spatial = isTwoD ? Array(shape[1...]) : shape
        let padding = SlidingWindow.padding(imageSize: spatial, patchSize: patchSize)
        let paddedSpatial = zip(spatial, padding).map { $0 + $1.before + $1.after }
        let padded = isTwoD ? [shape[0]] + paddedSpatial : paddedSpatial
        let before = (isTwoD ? [0] : []) + padding.map(\.before)
        let steps2 = SlidingWindow.steps(imageSize: paddedSpatial, patchSize: patchSize, stepSize: stepSize)
        let steps = isTwoD ? [Array(0..<shape[0])] + steps2 : steps2
        let gaussian: [Float16] = usesGaussian ? Self.gaussian(patchSize: patchSize)
            : [Float16](repeating: 1, count: patchSize.reduce(1, *))
        let gaussianFloat = gaussian.map { Float($0) }
        let paddedVoxels = padded.reduce(1, *), tileVoxels = tile.reduce(1, *)
        var aggregate = [Float16](repeating: 0, count: classCount * paddedVoxels)
        var count = [Float16](repeating: 0, count: paddedVoxels)
        network.eval()
        try withoutGradients {
            for z in steps[0] {
                for y in steps[1] {
                    for x in steps[2] {
                        let corner = [z, y, x]
                        let patch = Box.copy(data, channels: channels, shape: shape,
                                             corner: zip(corner, before).map { $0 - $1 }, size: tile)
                        var logits = try predictTile(network: network, patch: patch, channels: channels)
                        if usesGaussian {
                            for k in 0..<classCount {
                                for i in 0..<tileVoxels { logits[k * tileVoxels + i] *= gaussianFloat[i] }
                            }
                        }
                        accumulate(logits, gaussian: gaussianFloat, corner: corner, tile: tile, padded: padded,
                                   into: &aggregate, count: &count)
                    }
                }
            }
        }
        // aggregate / count, then the padding removed.
        let voxels = shape.reduce(1, *)
        var result = [Float16](repeating: 0, count: classCount * voxels)
        var overflow = false
        for k in 0..<classCount {
            var target = k * voxels
            for z in 0..<shape[0] {
                for y in 0..<shape[1] {
                    let row = ((z + before[0]) * padded[1] + y + before[1]) * padded[2] + before[2]
                    for x in 0..<shape[2] {
                        let quotient = Float16(Float(aggregate[k * paddedVoxels + row + x]) / Float(count[row + x]))
                        if quotient.isInfinite { overflow = true }
                        result[target] = quotient
                        target += 1
                    }
                }
            }
        }
        if overflow {
            throw TrainingError.unusableModel("the float16 logits overflowed (v2 aborts here as well: 'Encountered inf "
                                              + "in predicted array')")
        }
        return result
    }

    /// The mirror-averaged float32 logits `[K, tile]` of one tile `[C, tile]`.
    private func predictTile(network: Module, patch: [Float], channels: Int) throws -> [Float] {
        let patchShape = patchSize
        let input = Tensor(shape: [1, channels] + patchShape, data: patch)
        var sum = network(input).data
        guard sum.count == classCount * patchShape.reduce(1, *) else {
            throw TrainingError.unusableModel("the network returned \(sum.count) values for a patch of \(patchShape) "
                                              + "and \(classCount) outputs")
        }
        let combinations = Self.mirrorCombinations(mirrorAxes ?? [])
        for axes in combinations {
            let flipped = Box.flip(patch, channels: channels, shape: patchShape, axes: axes)
            let output = network(Tensor(shape: [1, channels] + patchShape, data: flipped)).data
            let back = Box.flip(output, channels: classCount, shape: patchShape, axes: axes)
            for i in sum.indices { sum[i] += back[i] }
        }
        if !combinations.isEmpty {
            let divisor = Float(combinations.count + 1)
            for i in sum.indices { sum[i] /= divisor }
        }
        return sum
    }

    /// Adds weighted tile logits into the float16 aggregate and the Gaussian into the float16 count, each sum
    /// computed in float32 and rounded to float16.
    private func accumulate(_ logits: [Float], gaussian: [Float], corner: [Int], tile: [Int], padded: [Int],
                            into aggregate: inout [Float16], count: inout [Float16]) {
        let paddedVoxels = padded.reduce(1, *), tileVoxels = tile.reduce(1, *)
        var i = 0
        for dz in 0..<tile[0] {
            for dy in 0..<tile[1] {
                let row = ((corner[0] + dz) * padded[1] + corner[1] + dy) * padded[2] + corner[2]
                for dx in 0..<tile[2] {
                    let at = row + dx
                    for k in 0..<classCount {
                        let index = k * paddedVoxels + at
                        aggregate[index] = Float16(Float(aggregate[index]) + logits[k * tileVoxels + i])
                    }
                    count[at] = Float16(Float(count[at]) + gaussian[i])
                    i += 1
                }
            }
        }
    }

    /// `itertools.combinations` of the axes for sizes 1 ... n, in that order (v2's mirror combinations).
    static func mirrorCombinations(_ axes: [Int]) -> [[Int]] {
        var result: [[Int]] = []
        func extend(_ chosen: [Int], from start: Int, size: Int) {
            if chosen.count == size { result.append(chosen); return }
            guard start < axes.count else { return }
            for index in start..<axes.count { extend(chosen + [axes[index]], from: index + 1, size: size) }
        }
        if !axes.isEmpty { for size in 1...axes.count { extend([], from: 0, size: size) } }
        return result
    }

    /// v2's `compute_gaussian(patch, sigma_scale=1/8, value_scaling_factor=10)` in float16: scipy's
    /// `gaussian_filter` of a delta at `p // 2` (σ = p / 8 per axis, truncated at 4σ, each 1D kernel normalised to
    /// sum 1 with numpy's pairwise sum), divided by its maximum / 10 in float64, converted to float16 through float32
    /// as PyTorch converts, with zeros replaced by the smallest nonzero value.
    static func gaussian(patchSize: [Int]) -> [Float16] {
        let profiles: [[Double]] = patchSize.map { p in
            let sigma = Double(p) * (1.0 / 8)
            let radius = Int(4.0 * sigma + 0.5)
            let scale = -0.5 / (sigma * sigma)
            let kernel = (-radius...radius).map { exp(scale * Double($0 * $0)) }
            let total = NumPyReduction.sum(kernel)
            let normalised = kernel.map { $0 / total }
            let center = p / 2
            return (0..<p).map { x in
                let d = x - center
                return abs(d) > radius ? 0 : normalised[d + radius]
            }
        }
        let count = patchSize.reduce(1, *)
        var map = [Double](repeating: 0, count: count)
        var peak = 0.0
        for i in 0..<count {
            // Filtering the delta axis by axis multiplies the 1D weights in axis order.
            var rest = i, factors = [Double](repeating: 0, count: patchSize.count)
            for axis in stride(from: patchSize.count - 1, through: 0, by: -1) {
                factors[axis] = profiles[axis][rest % patchSize[axis]]
                rest /= patchSize[axis]
            }
            var value = factors[0]
            for factor in factors.dropFirst() { value *= factor }
            map[i] = value
            peak = max(peak, value)
        }
        let divisor = peak / gaussianPeak
        var result = map.map { Float16(Float($0 / divisor)) }
        if let smallest = result.filter({ $0 > 0 }).min() {
            for i in result.indices where result[i] == 0 { result[i] = smallest }
        }
        return result
    }
}
