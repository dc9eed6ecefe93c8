import Foundation
import NNUNetCore

/// Draws a batch of patches from preprocessed cases: uniform case sampling with replacement, foreground
/// oversampling, padding outside the image (data 0, segmentation −1).
///
/// Port of v1 `training/dataloading/dataset_loading.py` `DataLoader3D` / `DataLoader2D` (`generate_train_batch`),
/// as nnUNetTrainer sets them up (`pad_mode="constant"`, no extra padding, one segmentation channel):
/// - sample j of a batch is forced onto foreground iff j ≥ round(B · (1 − 0.33)) (B = 2: the second; B = 9: the last 3);
/// - per axis, need = patch − final patch (enlarged to patch − size if the case is smaller than the patch), and the
///   patch's lower corner lies in [−ceil(need/2), size + ceil(need/2) − patch] (``cornerRange(size:patch:need:)``);
/// - random samples: corner uniform in that range; forced ones: a foreground class uniformly among those with stored
///   locations, a stored voxel uniformly, corner = max(lower bound, voxel − patch // 2) (no upper clamp); a case
///   without foreground falls back to a random corner;
/// - 2D (a 2-entry patch): a slice along axis 0 first (random, or uniformly among the slices holding the chosen
///   class), then the in-plane corner as above.
///
/// Output: data (B, C, patch...), segmentation (B, 1, patch...). Randomness comes only from the generator passed in.
/// With the dataset's ``PreprocessedDataset/previousStage`` set (the cascade), the segmentation gets a second channel:
/// the same patch of the 3d_lowres segmentation, 0 outside the image (v1 pads `seg_from_previous_stage` with 0).
public struct PatchSampler: Sendable {
    /// The patch drawn from the case (the enlarged basic patch for training, the final patch for validation).
    public var patchSize: [Int]
    /// The network's patch; `patchSize − finalPatchSize` is the extra room allowed outside the image.
    public var finalPatchSize: [Int]
    /// Number of patches B per batch (the plans' `batch_size`).
    public var batchSize: Int
    /// v1: 0.33.
    public var oversampleForegroundPercent: Double

    /// Creates a sampler; `patchSize` and `finalPatchSize` must both have 2 or 3 entries.
    public init(patchSize: [Int], finalPatchSize: [Int], batchSize: Int, oversampleForegroundPercent: Double = 0.33) {
        precondition(patchSize.count == finalPatchSize.count && (2...3).contains(patchSize.count),
                     "PatchSampler: patch \(patchSize) and final patch \(finalPatchSize) must both be 2D or 3D")
        self.patchSize = patchSize
        self.finalPatchSize = finalPatchSize
        self.batchSize = batchSize
        self.oversampleForegroundPercent = oversampleForegroundPercent
    }

    /// Whether sample `index` of a batch is forced onto foreground (v1 `get_do_oversample`; Python's round-half-even).
    public func isForcedForeground(sampleIndex index: Int) -> Bool {
        let randomCount = (Double(batchSize) * (1 - oversampleForegroundPercent)).rounded(.toNearestOrEven)
        return !(Double(index) < randomCount)
    }

    /// The range of the patch's lower corner along one axis.
    ///
    /// need is replaced by patch − size if need + size < patch; lower bound −ceil(need/2) (v1: `-need // 2`), upper
    /// bound size + ceil(need/2) − patch. Example (Hippocampus, axis 0): size 36, patch 73, need 73 − 40 = 33;
    /// 33 + 36 < 73, so need = 37 and the range is [−19, −18].
    public static func cornerRange(size: Int, patch: Int, need: Int) -> ClosedRange<Int> {
        var need = need
        if need + size < patch { need = patch - size }
        let half = (need + 1) / 2
        return -half...(size + half - patch)
    }

    /// Draws one batch.
    ///
    /// - Throws: ``TrainingError/unreadableCase(identifier:path:reason:)`` naming the case whose voxels could not be
    ///   read.
    public func sampleBatch(from dataset: PreprocessedDataset, random: inout SeededGenerator) throws -> Batch {
        try sample(forcedForeground: (0..<batchSize).map { isForcedForeground(sampleIndex: $0) }, from: dataset,
                   random: &random)
    }

    /// Draws sample `slot` of a batch alone (a batch of one), forced onto foreground as sample `slot` of a whole batch
    /// is: what a rank of a data-parallel run draws for each of its slots of the global batch.
    ///
    /// - Throws: ``TrainingError/unreadableCase(identifier:path:reason:)`` naming the case whose voxels could not be
    ///   read.
    public func sampleSlot(_ slot: Int, from dataset: PreprocessedDataset, random: inout SeededGenerator) throws
        -> Batch {
        try sample(forcedForeground: [isForcedForeground(sampleIndex: slot)], from: dataset, random: &random)
    }

    /// Draws one patch per entry of `forcedForeground`, forced onto foreground where it is true.
    func sample(forcedForeground: [Bool], from dataset: PreprocessedDataset, random: inout SeededGenerator) throws
        -> Batch {
        let batchSize = forcedForeground.count
        let is2D = patchSize.count == 2
        let patch3 = is2D ? [1] + patchSize : patchSize
        let need = zip(patchSize, finalPatchSize).map { $0 - $1 }
        let need3 = is2D ? [0] + need : need
        let voxels = patch3.reduce(1, *)
        let channels = dataset.cases[0].modalityCount
        var data = [Float](repeating: 0, count: batchSize * channels * voxels)
        let previous = dataset.previousStage
        let segmentationChannels = previous == nil ? 1 : 2
        var seg = [Float](repeating: -1, count: batchSize * segmentationChannels * voxels)
        if previous != nil {
            for j in 0..<batchSize { seg.replaceSubrange(((2 * j + 1) * voxels)..<((2 * j + 2) * voxels),
                                                         with: repeatElement(0, count: voxels)) }
        }
        var identifiers: [String] = []
        for j in 0..<batchSize {
            let item = dataset.cases[Int.random(in: 0..<dataset.cases.count, using: &random)]
            identifiers.append(item.identifier)
            guard item.modalityCount == channels else {
                throw TrainingError.unreadableCase(
                    identifier: item.identifier, path: item.arrayURL.path,
                    reason: "it has \(item.modalityCount) modalities, the first case has \(channels)")
            }
            let corner = drawCorner(for: item, forced: forcedForeground[j], patch3: patch3,
                                    need3: need3, is2D: is2D, random: &random)
            try dataset.withVoxels(of: item) { source in
                data.withUnsafeMutableBufferPointer { d in
                    seg.withUnsafeMutableBufferPointer { s in
                        Self.copyPatch(from: source, shape: item.shape, corner: corner, patch: patch3,
                                       data: UnsafeMutableBufferPointer(rebasing: d[(j * channels * voxels)...]),
                                       segmentation: UnsafeMutableBufferPointer(
                                           rebasing: s[(j * segmentationChannels * voxels)...]))
                    }
                }
            }
            if let previous {
                let labels = try previous.labels(for: item.identifier, shape: item.spatialShape)
                labels.withUnsafeBufferPointer { source in
                    seg.withUnsafeMutableBufferPointer { s in
                        Self.copyPatch(from: source, shape: [1] + item.spatialShape, corner: corner, patch: patch3,
                                       data: UnsafeMutableBufferPointer(start: nil, count: 0),
                                       segmentation: UnsafeMutableBufferPointer(rebasing: s[((2 * j + 1) * voxels)...]))
                    }
                }
            }
        }
        return Batch(data: data, segmentation: seg, batchSize: batchSize, dataChannels: channels,
                     segmentationChannels: segmentationChannels, spatialShape: patchSize, caseIdentifiers: identifiers)
    }

    /// The patch's lower corner in (z, y, x); for 2D, z is the slice.
    func drawCorner(for item: PreprocessedCase, forced: Bool, patch3: [Int], need3: [Int], is2D: Bool,
                    random: inout SeededGenerator) -> [Int] {
        let shape = item.spatialShape
        let ranges = (0..<3).map { axis in
            is2D && axis == 0 ? 0...0 : Self.cornerRange(size: shape[axis], patch: patch3[axis], need: need3[axis])
        }
        let classes = item.classLocations.filter { $0.key > 0 && !$0.value.isEmpty }.keys.sorted()
        guard forced, !classes.isEmpty else {
            var corner = ranges.map { Int.random(in: $0, using: &random) }
            if is2D { corner[0] = Int.random(in: 0..<shape[0], using: &random) }
            return corner
        }
        let label = classes[Int.random(in: 0..<classes.count, using: &random)]
        var voxels = item.classLocations[label] ?? []
        if is2D {
            let slices = Array(Set(voxels.map { $0[0] })).sorted()
            let slice = slices[Int.random(in: 0..<slices.count, using: &random)]
            voxels = voxels.filter { $0[0] == slice }
        }
        let voxel = voxels[Int.random(in: 0..<voxels.count, using: &random)]
        return (0..<3).map { axis in
            is2D && axis == 0 ? voxel[0] : max(ranges[axis].lowerBound, voxel[axis] - patch3[axis] / 2)
        }
    }

    /// Copies the patch at `corner` (any part may lie outside) from a (C + 1, Z, Y, X) case: modalities into `data`
    /// (C × patch), the last channel into `segmentation` (patch). Outside voxels keep the caller's fill (data 0,
    /// segmentation −1).
    static func copyPatch(from source: UnsafeBufferPointer<Float>, shape: [Int], corner: [Int], patch: [Int],
                          data: UnsafeMutableBufferPointer<Float>, segmentation: UnsafeMutableBufferPointer<Float>) {
        let (nz, ny, nx) = (shape[1], shape[2], shape[3])
        let (pz, py, px) = (patch[0], patch[1], patch[2])
        let x0 = max(0, corner[2]), x1 = min(nx, corner[2] + px)
        guard x1 > x0 else { return }
        let channelVoxels = nz * ny * nx, patchVoxels = pz * py * px
        for channel in 0..<shape[0] {
            let destination = channel == shape[0] - 1 ? segmentation : UnsafeMutableBufferPointer(
                rebasing: data[(channel * patchVoxels)...])
            for z in max(0, corner[0])..<min(nz, corner[0] + pz) {
                for y in max(0, corner[1])..<min(ny, corner[1] + py) {
                    let src = channel * channelVoxels + (z * ny + y) * nx + x0
                    let dst = ((z - corner[0]) * py + (y - corner[1])) * px + (x0 - corner[2])
                    guard let from = source.baseAddress, let to = destination.baseAddress else { continue }
                    (to + dst).update(from: from + src, count: x1 - x0)
                }
            }
        }
    }
}
