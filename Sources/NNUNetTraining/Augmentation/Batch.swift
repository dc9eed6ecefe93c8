import Foundation

/// One training or validation batch as it flows through the augmentation pipeline.
///
/// Layout (C-order, Float32): `data` is (B, C, Z, Y, X) for 3D patches or (B, C, Y, X) for 2D ones; `segmentation`
/// is (B, S, ...) with the same spatial shape (S = 1 segmentation channel; labels stored as floats, −1 marks voxels
/// outside the image or the nonzero mask until ``RemoveLabelTransform`` maps it to 0). Legend: B batch, C modalities,
/// S segmentation channels, Z/Y/X the spatial axes in nnU-Net's (z, y, x) order.
///
/// After ``DownsampleSegmentationForDeepSupervisionTransform`` runs, ``targets`` holds the segmentation at every
/// deep-supervision scale (highest resolution first), as v1's `target` list.
public struct Batch: Sendable {
    /// Image values, (B, C, spatial...) C order.
    public var data: [Float]
    /// Label values as floats, (B, S, spatial...) C order.
    public var segmentation: [Float]
    /// Number of samples B.
    public var batchSize: Int
    /// Number of data channels C (modalities; times Z while a dummy-2D batch is folded).
    public var dataChannels: Int
    /// Number of segmentation channels S (times Z while a dummy-2D batch is folded).
    public var segmentationChannels: Int
    /// 2 or 3 entries.
    public var spatialShape: [Int]
    /// The case each sample was drawn from (v1's `keys`).
    public var caseIdentifiers: [String]
    /// Deep-supervision targets; empty until the downsampling transform has run.
    public var targets: [SegmentationTarget]
    /// Set while a dummy-2D batch has its axis 0 folded into the channels (the folded depth).
    public var foldedDepth: Int?

    /// Creates a batch; the array sizes must match B, the channel counts and the spatial shape.
    public init(data: [Float], segmentation: [Float], batchSize: Int, dataChannels: Int, segmentationChannels: Int,
                spatialShape: [Int], caseIdentifiers: [String], targets: [SegmentationTarget] = []) {
        precondition(data.count == batchSize * dataChannels * spatialShape.reduce(1, *),
                     "Batch: \(data.count) data values for B \(batchSize), C \(dataChannels), \(spatialShape)")
        precondition(segmentation.count == batchSize * segmentationChannels * spatialShape.reduce(1, *),
                     "Batch: \(segmentation.count) seg values for B \(batchSize), S \(segmentationChannels)")
        self.data = data
        self.segmentation = segmentation
        self.batchSize = batchSize
        self.dataChannels = dataChannels
        self.segmentationChannels = segmentationChannels
        self.spatialShape = spatialShape
        self.caseIdentifiers = caseIdentifiers
        self.targets = targets
    }

    /// The samples of `batches` in order, as one batch (they must agree in everything but the batch size).
    public static func concatenating(_ batches: [Batch]) -> Batch {
        guard var result = batches.first else { preconditionFailure("Batch.concatenating: no batch") }
        for batch in batches.dropFirst() {
            precondition(batch.dataChannels == result.dataChannels
                         && batch.segmentationChannels == result.segmentationChannels
                         && batch.spatialShape == result.spatialShape && batch.foldedDepth == result.foldedDepth
                         && batch.targets.map(\.spatialShape) == result.targets.map(\.spatialShape),
                         "Batch.concatenating: batches of different layouts")
            result.data += batch.data
            result.segmentation += batch.segmentation
            result.batchSize += batch.batchSize
            result.caseIdentifiers += batch.caseIdentifiers
            for scale in result.targets.indices { result.targets[scale].values += batch.targets[scale].values }
        }
        return result
    }

    /// Number of voxels of one channel.
    public var voxelsPerChannel: Int { spatialShape.reduce(1, *) }

    /// The spatial shape as three entries (z = 1 for 2D), as the kernels expect.
    var spatialShape3D: [Int] { spatialShape.count == 3 ? spatialShape : [1] + spatialShape }

    /// Offset of (sample, channel) in `data`.
    func dataOffset(sample: Int, channel: Int) -> Int { (sample * dataChannels + channel) * voxelsPerChannel }

    /// Offset of (sample, channel) in `segmentation`.
    func segmentationOffset(sample: Int, channel: Int) -> Int {
        (sample * segmentationChannels + channel) * voxelsPerChannel
    }
}

/// The segmentation at one deep-supervision scale: (B, S, spatial...) values.
public struct SegmentationTarget: Sendable, Equatable {
    /// Label values as floats, (B, S, spatial...) C order.
    public var values: [Float]
    /// Spatial shape at this scale, 2 or 3 entries.
    public var spatialShape: [Int]

    /// Creates a target; `values.count` must be B · S · the product of `spatialShape`.
    public init(values: [Float], spatialShape: [Int]) {
        self.values = values
        self.spatialShape = spatialShape
    }
}
