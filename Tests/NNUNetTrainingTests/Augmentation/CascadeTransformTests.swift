import Foundation
import Testing
@testable import NNUNetCore
@testable import NNUNetTraining

/// The cascade's transforms: the previous stage moves into the data as one-hot channels, which are then augmented
/// without breaking the one-hot property.
@Suite("Cascade augmentation")
struct CascadeTransformTests {
    /// Two samples, one modality, segmentation channels (target, previous stage) with labels 0...2.
    static func cascadeBatch(shape: [Int] = [6, 7, 8]) -> Batch {
        let n = shape.reduce(1, *)
        var segmentation: [Float] = []
        for b in 0..<2 {
            segmentation += (0..<n).map { Float(($0 / 7 + b) % 3) }            // target
            segmentation += (0..<n).map { Float(($0 / 11 + 2 * b) % 3) }       // previous stage
        }
        return Batch(data: (0..<(2 * n)).map { Float($0) }, segmentation: segmentation, batchSize: 2, dataChannels: 1,
                     segmentationChannels: 2, spatialShape: shape, caseIdentifiers: ["a", "b"])
    }

    @Test("MoveSegmentationAsOneHotToData: modalities kept, one channel per label appended, channel 1 removed")
    func move() {
        let original = Self.cascadeBatch()
        var batch = original
        var random = SeededGenerator(seed: 1)
        MoveSegmentationAsOneHotToDataTransform(segmentationChannel: 1, labels: [1, 2]).apply(&batch, random: &random)
        let n = original.voxelsPerChannel
        #expect(batch.dataChannels == 3 && batch.segmentationChannels == 1 && batch.data.count == 2 * 3 * n)
        for b in 0..<2 {
            #expect(Array(batch.data[(b * 3 * n)..<(b * 3 * n + n)])
                    == Array(original.data[(b * n)..<((b + 1) * n)]))
            #expect(Array(batch.segmentation[(b * n)..<((b + 1) * n)])
                    == Array(original.segmentation[(2 * b * n)..<((2 * b + 1) * n)]))
            for i in 0..<n {
                let previous = original.segmentation[(2 * b + 1) * n + i]
                #expect(batch.data[(b * 3 + 1) * n + i] == (previous == 1 ? 1 : 0))
                #expect(batch.data[(b * 3 + 2) * n + i] == (previous == 2 ? 1 : 0))
            }
        }
    }

    /// After moving: data channels 1 and 2 are one-hot (at most one of them is 1 per voxel).
    static func oneHotBatch() -> Batch {
        var batch = cascadeBatch(shape: [10, 12, 11])
        var random = SeededGenerator(seed: 2)
        MoveSegmentationAsOneHotToDataTransform(segmentationChannel: 1, labels: [1, 2]).apply(&batch, random: &random)
        return batch
    }

    @Test("random binary operators: seeded, change the channels, keep them one-hot and binary")
    func binaryOperators() {
        let original = Self.oneHotBatch()
        let transform = RandomBinaryOperatorTransform(channels: [-2, -1], probability: 1, radiusRange: 1...2.5)
        var changed = 0
        for seed in UInt64(1)...6 {
            var first = original, second = original
            var r1 = SeededGenerator(seed: seed), r2 = SeededGenerator(seed: seed)
            transform.apply(&first, random: &r1)
            transform.apply(&second, random: &r2)
            #expect(first.data == second.data)
            let n = first.voxelsPerChannel
            for b in 0..<2 {
                #expect(Array(first.data[(b * 3 * n)..<(b * 3 * n + n)]) == Array(original.data[(b * 3 * n)..<(b * 3 * n + n)]))
                for i in 0..<n {
                    let one = first.data[(b * 3 + 1) * n + i], two = first.data[(b * 3 + 2) * n + i]
                    #expect((one == 0 || one == 1) && (two == 0 || two == 1) && one + two <= 1)
                }
            }
            if first.data != original.data { changed += 1 }
        }
        #expect(changed == 6)
        // Probability 0 leaves the batch alone.
        var untouched = original
        var random = SeededGenerator(seed: 3)
        RandomBinaryOperatorTransform(channels: [-2, -1], probability: 0).apply(&untouched, random: &random)
        #expect(untouched.data == original.data)
    }

    @Test("component removal deletes one small component and never a large one (v1 never removes: fixed)")
    func componentRemoval() {
        let shape = [8, 8, 8], n = 512
        // Channel 1: a large block (27 % of the patch) and two single voxels; channel 2 empty.
        var data = [Float](repeating: 0, count: 3 * n)
        for z in 0..<5 { for y in 0..<5 { for x in 0..<5 { data[n + (z * 8 + y) * 8 + x] = 1 } } }
        data[n + (7 * 8 + 7) * 8 + 7] = 1
        data[n + (7 * 8 + 0) * 8 + 7] = 1
        let original = Batch(data: data, segmentation: [Float](repeating: 0, count: n), batchSize: 1, dataChannels: 3,
                             segmentationChannels: 1, spatialShape: shape, caseIdentifiers: ["a"])
        var batch = original
        var random = SeededGenerator(seed: 4)
        RemoveRandomConnectedComponentTransform(channels: [-2, -1], probability: 1).apply(&batch, random: &random)
        let before = original.data[n..<(2 * n)].reduce(0, +), after = batch.data[n..<(2 * n)].reduce(0, +)
        #expect(before - after == 1)
        #expect(batch.data[n] == 1)  // the block survives
        // v1's swapped arguments: a threshold of 0 removes nothing.
        var v1 = original
        RemoveRandomConnectedComponentTransform(channels: [-2, -1], probability: 1, maximumFraction: 0)
            .apply(&v1, random: &random)
        #expect(v1.data == original.data)
    }

    @Test("the cascade pipelines end with one segmentation channel and C + K − 1 data channels")
    func pipelines() {
        var parameters = AugmentationParameters.nnUNetTrainerV2(patchSize: [6, 7, 8], doesDummy2DAugmentation: false,
                                                               usesMaskForNormalization: [false])
        parameters.selectedSegmentationChannels = [0, 1]
        parameters.previousStageLabels = [1, 2]
        for transforms in [AugmentationPipeline.training(parameters, deepSupervisionScales: [[1, 1, 1], [0.5, 0.5, 0.5]]),
                           AugmentationPipeline.validation(parameters, deepSupervisionScales: [[1, 1, 1], [0.5, 0.5, 0.5]])] {
            var batch = Self.cascadeBatch()
            var random = SeededGenerator(seed: 9)
            transforms.apply(&batch, random: &random)
            #expect(batch.dataChannels == 3 && batch.segmentationChannels == 1 && batch.targets.count == 2)
        }
    }
}
