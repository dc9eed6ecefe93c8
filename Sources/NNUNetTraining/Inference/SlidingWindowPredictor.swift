import Foundation
import NNUNetCore

/// Sliding-window inference of one preprocessed case with a trained network (v1 `predict_3D` with tiling, Gaussian
/// weighting and mirroring; reference sheet §9.2).
///
/// Input `[C, Z, Y, X]` (C order, modalities of the preprocessed case); output class probabilities `[K, Z, Y, X]`.
/// A 3D network tiles the volume with ``SlidingWindow``; a 2D network (2-element patch) predicts every slice along
/// axis 0 with 2D tiling. Each tile is the average of the softmax over all mirror combinations of `mirrorAxes`
/// (axes of the patch: 0..2 in 3D, 0..1 in 2D), multiplied by the Gaussian importance map; the aggregate is divided by
/// the accumulated weights. Runs without gradients.
public struct SlidingWindowPredictor {
    /// The trained network; switched to evaluation mode when predicting.
    public var network: Module
    /// Patch size of the network: 3 entries (3D) or 2 entries (2D network).
    public var patchSize: [Int]
    /// Number of output classes K, background included.
    public var classCount: Int
    /// Mirror axes of the patch used for test-time augmentation (v1: all spatial axes).
    public var mirrorAxes: [Int]
    /// Whether each tile is also predicted on its mirrored copies along ``mirrorAxes`` (v1 `do_mirroring`: true).
    public var usesMirroring = true
    /// Whether tiles are weighted by the Gaussian importance map (v1 `use_gaussian`: true; unused with one tile).
    public var usesGaussian = true
    /// Distance between neighbouring tiles as a fraction of the patch size (v1 `step_size`: 0.5).
    public var stepSize = 0.5

    /// Creates a predictor; `mirrorAxes` defaults to every axis of the patch.
    public init(network: Module, patchSize: [Int], classCount: Int, mirrorAxes: [Int]? = nil) {
        self.network = network
        self.patchSize = patchSize
        self.classCount = classCount
        self.mirrorAxes = mirrorAxes ?? Array(0..<patchSize.count)
    }

    /// Class probabilities `[K, Z, Y, X]` for `data` `[C, Z, Y, X]`.
    public func predictProbabilities(_ data: [Float], channels: Int, shape: [Int]) -> [Float] {
        precondition(shape.count == 3 && data.count == channels * shape.reduce(1, *),
                     "predictProbabilities: data of \(data.count) values for \(channels) x \(shape)")
        network.eval()
        return withoutGradients {
            if patchSize.count == 3 { return predictVolume(data, channels: channels, shape: shape) }
            // 2D network: slice by slice along axis 0.
            let sliceVoxels = shape[1] * shape[2], volume = shape.reduce(1, *)
            var output = [Float](repeating: 0, count: classCount * volume)
            for z in 0..<shape[0] {
                var slice = [Float](repeating: 0, count: channels * sliceVoxels)
                for c in 0..<channels {
                    let from = c * volume + z * sliceVoxels
                    slice.replaceSubrange((c * sliceVoxels)..<((c + 1) * sliceVoxels), with: data[from..<(from + sliceVoxels)])
                }
                let probabilities = predictVolume(slice, channels: channels, shape: [shape[1], shape[2]])
                for k in 0..<classCount {
                    let to = k * volume + z * sliceVoxels
                    output.replaceSubrange(to..<(to + sliceVoxels),
                                           with: probabilities[(k * sliceVoxels)..<((k + 1) * sliceVoxels)])
                }
            }
            return output
        }
    }

    /// Tiles an n-D volume (n = patch rank) and aggregates the tiles.
    private func predictVolume(_ data: [Float], channels: Int, shape: [Int]) -> [Float] {
        let padding = SlidingWindow.padding(imageSize: shape, patchSize: patchSize)
        let padded = zip(shape, padding).map { $0 + $1.before + $1.after }
        let steps = SlidingWindow.steps(imageSize: padded, patchSize: patchSize, stepSize: stepSize)
        let input = pad(data, channels: channels, shape: shape, padding: padding)
        let paddedVoxels = padded.reduce(1, *), patchVoxels = patchSize.reduce(1, *)
        let tileCount = steps.reduce(1) { $0 * $1.count }
        let gaussian = usesGaussian && tileCount > 1
            ? SlidingWindow.gaussianImportanceMap(patchSize: patchSize) : [Float](repeating: 1, count: patchVoxels)
        var aggregate = [Float](repeating: 0, count: classCount * paddedVoxels)
        var weights = [Float](repeating: 0, count: paddedVoxels)

        var corner = [Int](repeating: 0, count: patchSize.count)
        for tile in 0..<tileCount {
            var rest = tile
            for a in stride(from: patchSize.count - 1, through: 0, by: -1) {
                corner[a] = steps[a][rest % steps[a].count]
                rest /= steps[a].count
            }
            let patch = Box.copy(input, channels: channels, shape: padded, corner: corner, size: patchSize)
            var probabilities = predictPatch(patch, channels: channels)
            for k in 0..<classCount {
                for i in 0..<patchVoxels { probabilities[k * patchVoxels + i] *= gaussian[i] }
            }
            Box.add(probabilities, channels: classCount, size: patchSize, into: &aggregate, shape: padded, corner: corner)
            Box.add(gaussian, channels: 1, size: patchSize, into: &weights, shape: padded, corner: corner)
        }
        for k in 0..<classCount {
            for i in 0..<paddedVoxels { aggregate[k * paddedVoxels + i] /= weights[i] }
        }
        return Box.copy(aggregate, channels: classCount, shape: padded, corner: padding.map(\.before), size: shape)
    }

    /// Softmax of one patch, averaged over the mirror combinations.
    private func predictPatch(_ patch: [Float], channels: Int) -> [Float] {
        let combinations = usesMirroring ? mirrorCombinations() : [[]]
        var sum = [Float](repeating: 0, count: classCount * patchSize.reduce(1, *))
        let scale = 1 / Float(combinations.count)
        for axes in combinations {
            let input = Box.flip(patch, channels: channels, shape: patchSize, axes: axes)
            let logits = network(Tensor(shape: [1, channels] + patchSize, data: input))
            let probabilities = Box.flip(softmax(logits, axis: 1).data, channels: classCount, shape: patchSize, axes: axes)
            for i in sum.indices { sum[i] += scale * probabilities[i] }
        }
        return sum
    }

    /// v1's order: none, x, y, xy, z, zx, zy, zyx (in 3D; the analogous order in 2D).
    func mirrorCombinations() -> [[Int]] {
        let n = patchSize.count
        return (0..<(1 << n)).compactMap { m -> [Int]? in
            // Bit 0 flips the last axis, bit 1 the middle, bit 2 the first (v1's m = 1, 2, 4).
            let axes = (0..<n).filter { m & (1 << (n - 1 - $0)) != 0 }
            return axes.allSatisfy { mirrorAxes.contains($0) } ? axes : nil
        }
    }

    private func pad(_ data: [Float], channels: Int, shape: [Int], padding: [(before: Int, after: Int)]) -> [Float] {
        guard padding.contains(where: { $0.before > 0 || $0.after > 0 }) else { return data }
        let padded = zip(shape, padding).map { $0 + $1.before + $1.after }
        var out = [Float](repeating: 0, count: channels * padded.reduce(1, *))
        Box.add(data, channels: channels, size: shape, into: &out, shape: padded, corner: padding.map(\.before))
        return out
    }
}

/// Box copies between channel-first n-D arrays (C order), used by tiling.
enum Box {
    /// Iterates the rows (last axis) of a box of `size` at `corner` inside `shape`: (offset in the big array,
    /// offset in the box) per row.
    static func forEachRow(shape: [Int], corner: [Int], size: [Int], _ body: (Int, Int) -> Void) {
        let rank = shape.count
        let rows = size.dropLast().reduce(1, *)
        let strides = (0..<rank).map { shape[($0 + 1)...].reduce(1, *) }
        for row in 0..<rows {
            var rest = row, big = corner[rank - 1], small = row * size[rank - 1]
            for a in stride(from: rank - 2, through: 0, by: -1) {
                big += (corner[a] + rest % size[a]) * strides[a]
                rest /= size[a]
            }
            body(big, small)
        }
    }

    static func copy(_ data: [Float], channels: Int, shape: [Int], corner: [Int], size: [Int]) -> [Float] {
        let volume = shape.reduce(1, *), boxVolume = size.reduce(1, *), width = size.last ?? 1
        var out = [Float](repeating: 0, count: channels * boxVolume)
        data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                forEachRow(shape: shape, corner: corner, size: size) { big, small in
                    for c in 0..<channels {
                        (dst.baseAddress! + c * boxVolume + small).update(from: src.baseAddress! + c * volume + big,
                                                                            count: width)
                    }
                }
            }
        }
        return out
    }

    static func add(_ box: [Float], channels: Int, size: [Int], into data: inout [Float], shape: [Int], corner: [Int]) {
        let volume = shape.reduce(1, *), boxVolume = size.reduce(1, *), width = size.last ?? 1
        box.withUnsafeBufferPointer { src in
            data.withUnsafeMutableBufferPointer { dst in
                forEachRow(shape: shape, corner: corner, size: size) { big, small in
                    for c in 0..<channels {
                        let d = dst.baseAddress! + c * volume + big, s = src.baseAddress! + c * boxVolume + small
                        for i in 0..<width { d[i] += s[i] }
                    }
                }
            }
        }
    }

    /// Reverses the given axes of every channel.
    static func flip(_ data: [Float], channels: Int, shape: [Int], axes: [Int]) -> [Float] {
        guard !axes.isEmpty else { return data }
        let volume = shape.reduce(1, *), rank = shape.count
        let strides = (0..<rank).map { shape[($0 + 1)...].reduce(1, *) }
        var out = [Float](repeating: 0, count: data.count)
        for i in 0..<volume {
            var rest = i, target = 0
            for a in stride(from: rank - 1, through: 0, by: -1) {
                let index = rest % shape[a]
                rest /= shape[a]
                target += (axes.contains(a) ? shape[a] - 1 - index : index) * strides[a]
            }
            for c in 0..<channels { out[c * volume + target] = data[c * volume + i] }
        }
        return out
    }
}
