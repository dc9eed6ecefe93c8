import Foundation
import NNUNetCore

/// Sliding-window inference of one preprocessed case with one or more trained networks (v1 `predict_3D` with tiling,
/// Gaussian weighting and mirroring, and v1's fold averaging; reference sheet §9.2).
///
/// Input `[C, Z, Y, X]` (C order, modalities of the preprocessed case); output class probabilities `[K, Z, Y, X]`.
/// A 3D network tiles the volume with ``SlidingWindow``; a 2D network (2-element patch) predicts every slice along
/// axis 0 with 2D tiling. Each tile is the average of the softmax over all mirror combinations of `mirrorAxes`
/// (axes of the patch: 0..2 in 3D, 0..1 in 2D), multiplied by the Gaussian importance map; the aggregate is divided by
/// the accumulated weights. Runs without gradients.
///
/// ## Memory
///
/// Tiles are visited in v1's order (first axis outermost), so once the tiles of one position along axis 0 are done,
/// the rows before the next position are final. The aggregate therefore only covers one patch depth of rows
/// (`K × patch[0] × Y × X`, padded in-plane); finished rows are divided by their weights in place and lent out as a
/// ``ProbabilitySlab`` (``forEachProbabilitySlab(_:channels:shape:_:)``), then forgotten: the whole `K × Z × Y × X`
/// aggregate, the weights volume, a padded copy of the input and copies of finished rows are never allocated (rows
/// are copied only when the volume is smaller than the patch in-plane, where the aggregate carries padding). The accumulated Gaussian weight of a voxel is summed
/// when its row is finished, over the tiles that cover it in tile order, which is the very sum (same terms, same
/// order, float32) that a weights volume would have accumulated: results are bit-identical to the straightforward
/// whole-volume aggregation. Padding is virtual (tiles read zeros outside the volume).
///
/// Several networks (the folds of a model, sharing the patch size) are averaged per tile, before the Gaussian
/// weighting: mathematically v1's average of the per-fold probability volumes (the weights do not depend on the
/// fold), equal up to float rounding, without one probability volume per fold. With one network it is exact.
public struct SlidingWindowPredictor {
    /// The trained networks (folds) whose probabilities are averaged; each is switched to evaluation mode when
    /// predicting.
    public var networks: [Module]
    /// The first network; setting it replaces ``networks`` by this one network.
    public var network: Module {
        get { networks[0] }
        set { networks = [newValue] }
    }
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
    /// Threads for finishing rows (dividing by the weights); the networks use the kernels' own setting.
    public var threads = ThreadSettings.defaultThreads
    /// Rows per slab when a `GenericUNet`'s full-resolution stage is evaluated in slabs
    /// (`GenericUNet.forwardInSlabs(_:slabDepth:)` of NNUNetCore: a fraction of the activation memory for about 4 to 5
    /// times the time), or nil to run each patch through the network whole (the default, fastest). Other networks
    /// always run whole.
    public var slabDepth: Int?
    /// Most voxels (batch × patch) per network call when the mirrored copies of a patch go through the network as
    /// one batch: the deep, small stages then run as wider matrix products. Activation memory grows with the batch;
    /// a patch larger than this runs its copies one by one. Ignored with ``slabDepth``.
    public var mirrorBatchVoxels = 1 << 20

    /// Creates a predictor for one network; `mirrorAxes` defaults to every axis of the patch.
    public init(network: Module, patchSize: [Int], classCount: Int, mirrorAxes: [Int]? = nil) {
        self.init(networks: [network], patchSize: patchSize, classCount: classCount, mirrorAxes: mirrorAxes)
    }

    /// Creates a predictor that averages several networks of the same patch size and classes (the folds of a model).
    public init(networks: [Module], patchSize: [Int], classCount: Int, mirrorAxes: [Int]? = nil) {
        precondition(!networks.isEmpty, "SlidingWindowPredictor needs at least one network")
        self.networks = networks
        self.patchSize = patchSize
        self.classCount = classCount
        self.mirrorAxes = mirrorAxes ?? Array(0..<patchSize.count)
    }

    /// Class probabilities `[K, Z, Y, X]` for `data` `[C, Z, Y, X]`.
    ///
    /// Collects the slabs of ``forEachProbabilitySlab(_:channels:shape:_:)``; costs K × the volume for the result.
    public func predictProbabilities(_ data: [Float], channels: Int, shape: [Int]) -> [Float] {
        var output = [Float](repeating: 0, count: classCount * shape.reduce(1, *))
        forEachProbabilitySlab(data, channels: channels, shape: shape) { $0.copy(into: &output, depth: shape[0]) }
        return output
    }

    /// Predicts `data` `[C, Z, Y, X]` and lends out the finished class probabilities in consecutive slabs along
    /// axis 0 (rows ascending, covering `0..<Z` exactly once); a slab is valid only inside `body`.
    ///
    /// Besides the input, memory holds one patch depth of the aggregate (see the type's "Memory" section).
    /// - Throws: what `body` throws (prediction stops there).
    public func forEachProbabilitySlab(_ data: [Float], channels: Int, shape: [Int],
                                       _ body: (ProbabilitySlab) throws -> Void) rethrows {
        precondition(shape.count == 3 && data.count == channels * shape.reduce(1, *),
                     "forEachProbabilitySlab: data of \(data.count) values for \(channels) x \(shape)")
        precondition(patchSize.count == 2 || patchSize.count == 3, "patch size \(patchSize) must have 2 or 3 entries")
        for network in networks { network.eval() }
        try withoutGradients {
            try aggregate(data, channels: channels, shape: shape, body)
        }
    }

    /// The tiling in 3D: a 2D network's patch is a tile of depth 1 and every slice is its own row of tiles, so both
    /// kinds share one aggregation (same tiles, same order, same sums as slice-by-slice 2D prediction).
    private func aggregate(_ data: [Float], channels: Int, shape: [Int],
                           _ body: (ProbabilitySlab) throws -> Void) rethrows {
        let isTwoD = patchSize.count == 2
        let tile = isTwoD ? [1] + patchSize : patchSize
        let padding = isTwoD ? [(before: 0, after: 0)] + SlidingWindow.padding(imageSize: Array(shape[1...]),
                                                                              patchSize: patchSize)
            : SlidingWindow.padding(imageSize: shape, patchSize: patchSize)
        let padded = zip(shape, padding).map { $0 + $1.before + $1.after }
        let steps = isTwoD ? [Array(0..<shape[0])] + SlidingWindow.steps(imageSize: Array(padded[1...]),
                                                                        patchSize: patchSize, stepSize: stepSize)
            : SlidingWindow.steps(imageSize: padded, patchSize: patchSize, stepSize: stepSize)
        // v1 weights only when a volume (a slice for 2D networks) has more than one tile.
        let tilesPerVolume = steps[1].count * steps[2].count * (isTwoD ? 1 : steps[0].count)
        let patchVoxels = tile.reduce(1, *)
        let gaussian = usesGaussian && tilesPerVolume > 1
            ? SlidingWindow.gaussianImportanceMap(patchSize: patchSize) : [Float](repeating: 1, count: patchVoxels)
        let window = [tile[0], padded[1], padded[2]]  // the aggregate: one patch depth of padded rows
        let windowPlane = padded[1] * padded[2]
        var aggregate = [Float](repeating: 0, count: classCount * tile[0] * windowPlane)
        let weights = TileWeights(steps: steps, tile: tile, gaussian: gaussian)

        for (index, top) in steps[0].enumerated() {
            // `aggregate` row r is padded row top + r.
            for y in steps[1] {
                for x in steps[2] {
                    let patch = Box.copy(data, channels: channels, shape: shape,
                                         corner: [top - padding[0].before, y - padding[1].before,
                                                  x - padding[2].before], size: tile)
                    var probabilities = predictPatch(patch, channels: channels)
                    for k in 0..<classCount {
                        for i in 0..<patchVoxels { probabilities[k * patchVoxels + i] *= gaussian[i] }
                    }
                    Box.add(probabilities, channels: classCount, size: tile, into: &aggregate, shape: window,
                            corner: [0, y, x])
                }
            }
            // Rows before the next tile position are final.
            let next = index + 1 < steps[0].count ? steps[0][index + 1] : padded[0]
            precondition(next - top <= tile[0], "tile positions \(steps[0]) leave rows uncovered")
            let first = max(top, padding[0].before), last = min(next, padding[0].before + shape[0])
            if first < last {
                try lendFinishedRows(&aggregate, rows: (first - top)..<(last - top), top: top, weights: weights,
                                     padding: padding, shape: shape, window: window, body)
            }
            // Slide the window: rows from `next` on move to the front, the rest starts again from zero.
            let done = next - top, kept = tile[0] - done
            aggregate.withUnsafeMutableBufferPointer { buffer in
                for k in 0..<classCount {
                    let channel = buffer.baseAddress! + k * tile[0] * windowPlane
                    if kept > 0 {  // overlapping ranges: memmove
                        UnsafeMutableRawPointer(channel).copyMemory(from: channel + done * windowPlane,
                                                                    byteCount: kept * windowPlane * 4)
                    }
                    (channel + kept * windowPlane).update(repeating: 0, count: done * windowPlane)
                }
            }
        }
    }

    /// Divides the window rows `rows` (padded row `top + r` for window row r) by their accumulated weights in place
    /// and lends them to `body` without the padding: a view of the window, or a compact copy when the window is
    /// padded in-plane.
    private func lendFinishedRows(_ aggregate: inout [Float], rows: Range<Int>, top: Int, weights: TileWeights,
                                  padding: [(before: Int, after: Int)], shape: [Int], window: [Int],
                                  _ body: (ProbabilitySlab) throws -> Void) rethrows {
        let (height, width) = (shape[1], shape[2])
        let windowPlane = window[1] * window[2], windowVolume = window[0] * windowPlane
        let classes = classCount
        aggregate.withUnsafeMutableBufferPointer { buffer in
            let values = buffer.baseAddress!
            parallelFor(rows.count * height, threads: threads, minimumChunk: 8) { lines in
                var sums = [Float](repeating: 0, count: width)
                for line in lines {
                    let r = rows.lowerBound + line / height, py = line % height + padding[1].before
                    weights.row(z: top + r, y: py, x: padding[2].before, count: width, into: &sums)
                    let from = r * windowPlane + py * window[2] + padding[2].before
                    for k in 0..<classes {
                        let row = values + k * windowVolume + from
                        for x in 0..<width { row[x] /= sums[x] }
                    }
                }
            }
        }
        let caseRows = (top + rows.lowerBound - padding[0].before)..<(top + rows.upperBound - padding[0].before)
        if window[1] == height && window[2] == width {
            try aggregate.withUnsafeBufferPointer {
                try body(ProbabilitySlab(rows: caseRows, classCount: classes, plane: windowPlane,
                                         base: $0.baseAddress! + rows.lowerBound * windowPlane,
                                         classStride: windowVolume))
            }
            return
        }
        let plane = height * width
        var compact = [Float](repeating: 0, count: classes * rows.count * plane)
        for k in 0..<classes {
            for r in 0..<rows.count {
                for y in 0..<height {
                    let from = k * windowVolume + (rows.lowerBound + r) * windowPlane
                        + (y + padding[1].before) * window[2] + padding[2].before
                    let to = (k * rows.count + r) * plane + y * width
                    compact.replaceSubrange(to..<(to + width), with: aggregate[from..<(from + width)])
                }
            }
        }
        try ProbabilitySlab.lending(compact, rows: caseRows, classCount: classes, body)
    }

    /// Softmax of one patch, averaged over the mirror combinations and then over the networks.
    private func predictPatch(_ patch: [Float], channels: Int) -> [Float] {
        var sum = predictPatch(patch, channels: channels, network: networks[0])
        guard networks.count > 1 else { return sum }
        for network in networks.dropFirst() {
            let probabilities = predictPatch(patch, channels: channels, network: network)
            for i in sum.indices { sum[i] += probabilities[i] }
        }
        let scale = 1 / Float(networks.count)
        for i in sum.indices { sum[i] *= scale }
        return sum
    }

    /// Softmax of one patch with one network, averaged over the mirror combinations (in v1's order, whatever the
    /// batching). The mirrored copies go through the network together, up to ``mirrorBatchVoxels`` voxels per batch.
    private func predictPatch(_ patch: [Float], channels: Int, network: Module) -> [Float] {
        let combinations = usesMirroring ? mirrorCombinations() : [[]]
        let patchVoxels = patchSize.reduce(1, *), sampleCount = classCount * patchVoxels
        var sum = [Float](repeating: 0, count: sampleCount)
        let scale = 1 / Float(combinations.count)
        let unet = slabDepth == nil ? nil : network as? GenericUNet
        let batch = unet == nil ? max(1, min(combinations.count, mirrorBatchVoxels / max(1, patchVoxels))) : 1
        for first in stride(from: 0, to: combinations.count, by: batch) {
            let group = combinations[first..<min(first + batch, combinations.count)]
            var input = [Float]()
            input.reserveCapacity(group.count * channels * patchVoxels)
            for axes in group { input += Box.flip(patch, channels: channels, shape: patchSize, axes: axes) }
            let tensor = Tensor(shape: [group.count, channels] + patchSize, data: input)
            let logits: Tensor
            if let unet, let slabDepth {
                logits = unet.forwardInSlabs(tensor, slabDepth: slabDepth)
            } else {
                logits = network(tensor)
            }
            let probabilities = softmax(logits, axis: 1).data
            for (j, axes) in group.enumerated() {
                let sample = Array(probabilities[(j * sampleCount)..<((j + 1) * sampleCount)])
                let flipped = Box.flip(sample, channels: classCount, shape: patchSize, axes: axes)
                for i in sum.indices { sum[i] += scale * flipped[i] }
            }
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

    /// The box of `size` at `corner` out of `data` (channels × `shape`); parts of the box outside the volume
    /// (negative corner entries or beyond the end) read 0, as constant zero padding would.
    static func copy(_ data: [Float], channels: Int, shape: [Int], corner: [Int], size: [Int]) -> [Float] {
        let volume = shape.reduce(1, *), boxVolume = size.reduce(1, *)
        var out = [Float](repeating: 0, count: channels * boxVolume)
        // The part of the box inside the volume, in box coordinates.
        let lower = zip(corner, shape).map { max(0, -$0.0) }
        let upper = (0..<shape.count).map { min(size[$0], shape[$0] - corner[$0]) }
        guard zip(lower, upper).allSatisfy({ $0 < $1 }) else { return out }
        let inside = zip(lower, upper).map { $1 - $0 }
        let boxStrides = (0..<size.count).map { size[($0 + 1)...].reduce(1, *) }
        let offset = zip(lower, boxStrides).reduce(0) { $0 + $1.0 * $1.1 }
        let width = inside.last ?? 1
        data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                var row = 0
                forEachRow(shape: shape, corner: zip(corner, lower).map { $0 + $1 }, size: inside) { big, _ in
                    // Row `row` of the inside part sits at box coordinates lower + its index.
                    var rest = row, small = offset
                    for a in stride(from: size.count - 2, through: 0, by: -1) {
                        small += (rest % inside[a]) * boxStrides[a]
                        rest /= inside[a]
                    }
                    for c in 0..<channels {
                        (dst.baseAddress! + c * boxVolume + small).update(from: src.baseAddress! + c * volume + big,
                                                                            count: width)
                    }
                    row += 1
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
