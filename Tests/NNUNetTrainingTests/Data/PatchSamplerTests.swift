import Foundation
import Testing
import NNUNetCore
@testable import NNUNetTraining

@Suite("Patch sampling")
struct PatchSamplerTests {
    @Test("corner ranges follow §7.1 (worked numbers)")
    func cornerRanges() {
        // Hippocampus 3d_fullres: basic 73×80×64, final 40×56×40, a 36×50×35 case.
        // z: need 33, 33 + 36 < 73 → need 37: [−ceil(37/2), 36 + 19 − 73] = [−19, −18].
        #expect(PatchSampler.cornerRange(size: 36, patch: 73, need: 33) == -19...(-18))
        // y: need 24, 24 + 50 < 80 → need 30: [−15, 50 + 15 − 80] = [−15, −15].
        #expect(PatchSampler.cornerRange(size: 50, patch: 80, need: 24) == -15...(-15))
        // A large case: size 200, patch 205, need 77 (128³ final): [−39, 200 + 39 − 205] = [−39, 34].
        #expect(PatchSampler.cornerRange(size: 200, patch: 205, need: 77) == -39...34)
        // Validation (need 0) on a case larger than the patch: [0, size − patch].
        #expect(PatchSampler.cornerRange(size: 60, patch: 40, need: 0) == 0...20)
        // Validation on a smaller case: need = patch − size = 5 → [−3, 35 + 3 − 40] = [−3, −2].
        #expect(PatchSampler.cornerRange(size: 35, patch: 40, need: 0) == -3...(-2))
    }

    @Test("forced-foreground rule: j ≥ round(B · 0.67)", arguments: [(2, [1]), (9, [6, 7, 8]), (1, []), (4, [3]),
                                                                   (12, [8, 9, 10, 11])])
    func oversampleRule(batchSize: Int, forced: [Int]) {
        let sampler = PatchSampler(patchSize: [4, 4, 4], finalPatchSize: [4, 4, 4], batchSize: batchSize)
        #expect((0..<batchSize).filter { sampler.isForcedForeground(sampleIndex: $0) } == forced)
    }

    @Test("over 1000 batches: oversampled fraction, corner ranges, uniform cases, foreground in forced samples")
    func statistics() throws {
        try TestSupport.withTemporaryFolder { folder in
            let shapes = [[12, 14, 10], [9, 16, 18], [14, 8, 12]]
            for (index, shape) in shapes.enumerated() {
                try TestSupport.writeCase("case_\(index)", shape: shape, into: folder)
            }
            let dataset = try PreprocessedDataset(folder: folder)
            let sampler = PatchSampler(patchSize: [13, 12, 14], finalPatchSize: [8, 8, 8], batchSize: 3)
            var random = SeededGenerator(seed: 99)
            var caseCounts: [String: Int] = [:]
            var forcedWithForeground = 0, forcedTotal = 0
            var corners: [String: [Set<Int>]] = [:]
            for _ in 0..<1000 {
                let batch = try sampler.sampleBatch(from: dataset, random: &random)
                #expect(batch.spatialShape == [13, 12, 14] && batch.data.count == 3 * 13 * 12 * 14)
                for j in 0..<3 {
                    let id = batch.caseIdentifiers[j]
                    caseCounts[id, default: 0] += 1
                    let seg = batch.segmentation[(j * 2184)..<((j + 1) * 2184)]
                    let hasForeground = seg.contains { $0 > 0 }
                    if sampler.isForcedForeground(sampleIndex: j) {
                        forcedTotal += 1
                        if hasForeground { forcedWithForeground += 1 }
                    }
                    // Recover the corner from the data (value = flat index + 1 in the case, 0 = padding).
                    let item = dataset.cases.first { $0.identifier == id }
                    if let item, let corner = TestSupport.corner(of: Array(batch.data[(j * 2184)..<((j + 1) * 2184)]),
                                                                 patch: [13, 12, 14], caseShape: item.spatialShape) {
                        var sets = corners[id, default: [[], [], []]]
                        for d in 0..<3 { sets[d].insert(corner[d]) }
                        corners[id] = sets
                        if !sampler.isForcedForeground(sampleIndex: j) {
                            for d in 0..<3 {
                                let range = PatchSampler.cornerRange(size: item.spatialShape[d],
                                                                     patch: [13, 12, 14][d], need: [5, 4, 6][d])
                                #expect(range.contains(corner[d]))
                            }
                        }
                    }
                }
            }
            // One of three samples is forced (round(3 · 0.67) = 2), and every forced one contains foreground.
            #expect(forcedTotal == 1000 && forcedWithForeground == 1000)
            // Cases are uniform with replacement: 1000 draws each, 3σ ≈ 77.
            for shape in shapes.indices { #expect(abs((caseCounts["case_\(shape)"] ?? 0) - 1000) < 80) }
            // Random corners cover the whole §7.1 range (lower and upper bounds are reached).
            for (id, sets) in corners {
                let item = dataset.cases.first { $0.identifier == id }
                for d in 0..<3 {
                    let range = PatchSampler.cornerRange(size: item?.spatialShape[d] ?? 0, patch: [13, 12, 14][d],
                                                         need: [5, 4, 6][d])
                    #expect(sets[d].contains(range.lowerBound) && sets[d].contains(range.upperBound))
                }
            }
        }
    }

    @Test("padding: data 0 and segmentation −1 outside the case; values copied exactly inside")
    func padding() throws {
        try TestSupport.withTemporaryFolder { folder in
            try TestSupport.writeCase("small", shape: [3, 4, 5], into: folder)
            let dataset = try PreprocessedDataset(folder: folder)
            let sampler = PatchSampler(patchSize: [6, 6, 6], finalPatchSize: [6, 6, 6], batchSize: 1)
            var random = SeededGenerator(seed: 1)
            let batch = try sampler.sampleBatch(from: dataset, random: &random)
            // need = patch − size: corner range [−2, −1] etc.; every case voxel appears exactly once.
            let inside = batch.data.filter { $0 != 0 }
            #expect(Set(inside) == Set((1...60).map(Float.init)) && inside.count == 60)
            let segInside = zip(batch.data, batch.segmentation).filter { $0.0 != 0 }.map(\.1)
            #expect(segInside.sorted() == TestSupport.segmentation(shape: [3, 4, 5]).sorted())
            let segOutside = zip(batch.data, batch.segmentation).filter { $0.0 == 0 }.map(\.1)
            #expect(segOutside.allSatisfy { $0 == -1 })
        }
    }

    @Test("2D sampling: one slice along axis 0; forced samples lie on a slice with the chosen class")
    func slices() throws {
        try TestSupport.withTemporaryFolder { folder in
            try TestSupport.writeCase("case_a", shape: [7, 10, 9], into: folder)
            let dataset = try PreprocessedDataset(folder: folder)
            let sampler = PatchSampler(patchSize: [12, 11], finalPatchSize: [8, 8], batchSize: 2)
            var random = SeededGenerator(seed: 4)
            var slicesSeen = Set<Int>()
            for _ in 0..<300 {
                let batch = try sampler.sampleBatch(from: dataset, random: &random)
                #expect(batch.spatialShape == [12, 11])
                for j in 0..<2 {
                    let values = batch.data[(j * 132)..<((j + 1) * 132)].filter { $0 > 0 }
                    // All voxels of the patch come from one z slice (value − 1 = flat index).
                    let slices = Set(values.map { (Int($0) - 1) / 90 })
                    #expect(slices.count == 1)
                    slicesSeen.formUnion(slices)
                    if j == 1 { #expect(batch.segmentation[132...].contains { $0 > 0 }) }
                }
            }
            #expect(slicesSeen == Set(0..<7))
        }
    }

    @Test("a case without foreground falls back to a random patch")
    func noForeground() throws {
        try TestSupport.withTemporaryFolder { folder in
            try TestSupport.writeCase("empty", shape: [5, 5, 5], into: folder, foreground: false)
            let dataset = try PreprocessedDataset(folder: folder)
            var random = SeededGenerator(seed: 4)
            let batch = try PatchSampler(patchSize: [4, 4, 4], finalPatchSize: [4, 4, 4], batchSize: 2)
                .sampleBatch(from: dataset, random: &random)
            #expect(!batch.segmentation.contains { $0 > 0 })
        }
    }

    @Test("the cascade: segmentation channel 1 is the same patch of the 3d_lowres segmentation, 0 outside")
    func previousStageChannel() throws {
        try TestSupport.withTemporaryFolder { folder in
            let shape = [9, 10, 11], n = 990
            try TestSupport.writeCase("case_0", shape: shape, into: folder)
            let store = PreviousStageSegmentations(folder: folder.appendingPathComponent("pred_next_stage"))
            let previous = (0..<n).map { UInt8(($0 / 13) % 3) }
            try store.write(labels: previous, shape: shape, identifier: "case_0")
            var dataset = try PreprocessedDataset(folder: folder)
            dataset.previousStage = store
            let sampler = PatchSampler(patchSize: [12, 8, 13], finalPatchSize: [8, 8, 8], batchSize: 2)
            var random = SeededGenerator(seed: 5)
            let patch = [12, 8, 13], voxels = 12 * 8 * 13
            for _ in 0..<20 {
                let batch = try sampler.sampleBatch(from: dataset, random: &random)
                #expect(batch.segmentationChannels == 2)
                for j in 0..<2 {
                    let data = Array(batch.data[(j * voxels)..<((j + 1) * voxels)])
                    let corner = try #require(TestSupport.corner(of: data, patch: patch, caseShape: shape))
                    let channel = Array(batch.segmentation[((2 * j + 1) * voxels)..<((2 * j + 2) * voxels)])
                    for i in 0..<voxels {
                        let p = [i / (8 * 13), (i / 13) % 8, i % 13]
                        let v = (0..<3).map { p[$0] + corner[$0] }
                        let inside = (0..<3).allSatisfy { v[$0] >= 0 && v[$0] < shape[$0] }
                        let expected = inside ? Float(previous[(v[0] * shape[1] + v[1]) * shape[2] + v[2]]) : 0
                        if channel[i] != expected { Issue.record("voxel \(v): \(channel[i]) vs \(expected)"); return }
                    }
                }
            }
            // A store without the case names it.
            dataset.previousStage = PreviousStageSegmentations(folder: folder.appendingPathComponent("elsewhere"))
            #expect(throws: TrainingError.self) { try sampler.sampleBatch(from: dataset, random: &random) }
        }
    }
}
