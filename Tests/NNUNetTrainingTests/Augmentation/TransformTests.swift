import Foundation
import Testing
@testable import NNUNetCore
@testable import NNUNetTraining

/// A batch of smooth random data and a 3-label segmentation (−1 at the borders), seeded.
func makeBatch(batchSize: Int = 2, channels: Int = 2, shape: [Int], seed: UInt64 = 1) -> Batch {
    var random = SeededGenerator(seed: seed)
    let n = shape.reduce(1, *)
    let data = (0..<(batchSize * channels * n)).map { i in
        Float(sin(Double(i % n) * 0.37) * 2 + random.nextUniform(in: -0.5...0.5))
    }
    let seg = (0..<(batchSize * n)).map { i -> Float in
        let v = i % n
        if v % 17 == 0 { return -1 }
        return Float((v / 5 + Int(random.nextUniform(in: 0...1.5))) % 3)
    }
    return Batch(data: data, segmentation: seg, batchSize: batchSize, dataChannels: channels, segmentationChannels: 1,
                 spatialShape: shape, caseIdentifiers: (0..<batchSize).map { "case_\($0)" })
}

@Suite("Augmentation transforms")
struct TransformTests {
    @Test("mirroring twice with the same draws is the identity; each axis flips with p 0.5",
          arguments: [[6, 5, 4], [7, 6]])
    func mirrorTwice(shape: [Int]) {
        let original = makeBatch(shape: shape)
        var batch = original
        let mirror = MirrorTransform(axes: shape.count == 3 ? [0, 1, 2] : [0, 1])
        var first = SeededGenerator(seed: 5), second = SeededGenerator(seed: 5)
        mirror.apply(&batch, random: &first)
        #expect(batch.data != original.data)
        mirror.apply(&batch, random: &second)
        #expect(batch.data == original.data && batch.segmentation == original.segmentation)

        // A forced flip of axis 0 reverses slices.
        var flipped = original
        MirrorTransform(axes: [0], axisProbability: 1).apply(&flipped, random: &first)
        let inner = shape[1...].reduce(1, *)
        #expect(Array(flipped.data[0..<inner]) == Array(original.data[((shape[0] - 1) * inner)..<(shape[0] * inner)]))
    }

    @Test("spatial transform with rotation 0 and scale 1 reproduces the centre crop exactly",
          arguments: [([10, 12, 14], [6, 8, 8]), ([14, 10], [8, 6])])
    func identitySpatial(input: [Int], patch: [Int]) {
        let original = makeBatch(shape: input)
        var rotated = original, cropped = original
        var random = SeededGenerator(seed: 3)
        SpatialTransform(patchSize: patch, rotationX: 0...0, rotationY: 0...0, rotationZ: 0...0, rotationProbability: 1,
                         scaleRange: 1...1, scaleProbability: 1).apply(&rotated, random: &random)
        SpatialTransform(patchSize: patch, rotationX: 0...0, rotationY: 0...0, rotationZ: 0...0, rotationProbability: 0,
                         scaleProbability: 0).apply(&cropped, random: &random)
        #expect(rotated.data == cropped.data && rotated.segmentation == cropped.segmentation)
        // The crop is at (size − patch) // 2.
        let p3 = patch.count == 3 ? patch : [1] + patch, s3 = input.count == 3 ? input : [1] + input
        let offsets = (0..<3).map { (s3[$0] - p3[$0]) / 2 }
        for z in 0..<p3[0] {
            for y in 0..<p3[1] {
                for x in 0..<p3[2] {
                    let src = ((z + offsets[0]) * s3[1] + y + offsets[1]) * s3[2] + x + offsets[2]
                    #expect(cropped.data[(z * p3[1] + y) * p3[2] + x] == original.data[src])
                }
            }
        }
    }

    @Test("a centred rotation of the data by a tiny angle stays close to the crop (cubic interpolation)")
    func nearIdentityRotation() {
        let original = makeBatch(batchSize: 1, channels: 1, shape: [12, 12, 12])
        var rotated = original, cropped = original
        var random = SeededGenerator(seed: 3)
        SpatialTransform(patchSize: [8, 8, 8], rotationX: 1e-9...1e-9, rotationY: 0...0, rotationZ: 0...0,
                         rotationProbability: 1, scaleProbability: 0).apply(&rotated, random: &random)
        SpatialTransform(patchSize: [8, 8, 8], rotationX: 0...0, rotationY: 0...0, rotationZ: 0...0,
                         rotationProbability: 0, scaleProbability: 0).apply(&cropped, random: &random)
        for i in 0..<rotated.data.count { #expect(abs(rotated.data[i] - cropped.data[i]) < 1e-4) }
        #expect(rotated.segmentation == cropped.segmentation)
    }

    @Test("segmentation labels stay within the label set after rotation and scaling", arguments: [false, true])
    func labelsStayInSet(twoD: Bool) {
        var batch = makeBatch(batchSize: 4, shape: twoD ? [30, 26] : [20, 22, 18])
        let labelSet = Set(batch.segmentation).union([0])
        var random = SeededGenerator(seed: 8)
        let full = -Double.pi...Double.pi
        SpatialTransform(patchSize: twoD ? [16, 14] : [12, 12, 10], rotationX: full, rotationY: full, rotationZ: full,
                         rotationProbability: 1, scaleRange: 0.7...1.4, scaleProbability: 1).apply(&batch, random: &random)
        #expect(Set(batch.segmentation).isSubset(of: labelSet))
        #expect(batch.spatialShape == (twoD ? [16, 14] : [12, 12, 10]))
        #expect(Set(batch.segmentation).count > 2)
    }

    @Test("intensity transforms keep shape; contrast preserves the range; gamma retains mean and std")
    func intensityRules() {
        let original = makeBatch(shape: [8, 9, 10])
        var random = SeededGenerator(seed: 2)
        let transforms: [any Transform] = [
            GaussianNoiseTransform(probability: 1), GaussianBlurTransform(probability: 1, channelProbability: 1),
            BrightnessMultiplicativeTransform(probability: 1), ContrastAugmentationTransform(probability: 1),
            SimulateLowResolutionTransform(probability: 1, channelProbability: 1),
            GammaTransform(invertsImage: true, probability: 1), GammaTransform(invertsImage: false, probability: 1),
        ]
        for transform in transforms {
            var batch = original
            transform.apply(&batch, random: &random)
            #expect(batch.data.count == original.data.count && batch.spatialShape == original.spatialShape)
            #expect(batch.segmentation == original.segmentation)
            #expect(batch.data != original.data, "\(type(of: transform)) changed nothing")
            #expect(batch.data.allSatisfy { $0.isFinite })
        }
        let n = original.voxelsPerChannel
        for contrastRange in [0.75...0.75, 1.25...1.25] {
            var batch = original
            ContrastAugmentationTransform(contrastRange: contrastRange, probability: 1).apply(&batch, random: &random)
            for channel in 0..<4 {
                let before = ChannelStatistics(original.data[(channel * n)..<((channel + 1) * n)])
                let after = ChannelStatistics(batch.data[(channel * n)..<((channel + 1) * n)])
                #expect(after.minimum >= before.minimum && after.maximum <= before.maximum)
                if contrastRange.lowerBound < 1 { #expect(after.standardDeviation < before.standardDeviation) }
                // Increasing contrast clips at the prior extremes.
                if contrastRange.lowerBound > 1 {
                    #expect(after.minimum == before.minimum && after.maximum == before.maximum)
                }
            }
        }
        for inverted in [false, true] {
            var batch = original
            GammaTransform(invertsImage: inverted, probability: 1).apply(&batch, random: &random)
            for channel in 0..<4 {
                let before = ChannelStatistics(original.data[(channel * n)..<((channel + 1) * n)])
                let after = ChannelStatistics(batch.data[(channel * n)..<((channel + 1) * n)])
                #expect(abs(after.mean - before.mean) < 1e-4)
                #expect(abs(after.standardDeviation - before.standardDeviation) < 1e-4)
            }
        }
    }

    @Test("low-resolution simulation at zoom 1 is the identity; dummy-2D leaves axis 0 alone")
    func lowResolution() {
        let original = makeBatch(batchSize: 1, channels: 1, shape: [4, 12, 12])
        var batch = original
        var random = SeededGenerator(seed: 1)
        SimulateLowResolutionTransform(zoomRange: 1...1, probability: 1, channelProbability: 1)
            .apply(&batch, random: &random)
        for i in 0..<batch.data.count { #expect(abs(batch.data[i] - original.data[i]) < 1e-5) }
        // With axis 0 ignored, every z slice is resampled on its own: a volume constant along z stays so.
        let slice = Array(original.data[0..<144])
        var stacked = original
        stacked.data = slice + slice + slice + slice
        SimulateLowResolutionTransform(zoomRange: 0.5...0.5, probability: 1, channelProbability: 1, ignoredAxes: [0])
            .apply(&stacked, random: &random)
        for i in 0..<144 { #expect(abs(stacked.data[i] - stacked.data[432 + i]) < 1e-5) }
        #expect(Array(stacked.data[0..<144]) != slice)
    }

    @Test("deep-supervision targets: halving picks voxels 1, 3, 5, ...; shapes round half to even")
    func deepSupervision() {
        var batch = makeBatch(batchSize: 1, channels: 1, shape: [8, 8, 6])
        batch.segmentation = (0..<384).map(Float.init)
        var random = SeededGenerator(seed: 1)
        DownsampleSegmentationForDeepSupervisionTransform(scales: [[1, 1, 1], [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]])
            .apply(&batch, random: &random)
        #expect(batch.targets.map(\.spatialShape) == [[8, 8, 6], [4, 4, 3], [2, 2, 2]])
        #expect(batch.targets[0].values == batch.segmentation)
        let half = batch.targets[1].values
        for z in 0..<4 {
            for y in 0..<4 {
                for x in 0..<3 {
                    #expect(half[(z * 4 + y) * 3 + x] == Float(((2 * z + 1) * 8 + 2 * y + 1) * 6 + 2 * x + 1))
                }
            }
        }
        // 6 · 0.25 = 1.5 → 2 (numpy rounds half to even). skimage resize(arange(384).reshape(8, 8, 6), (2, 2, 2),
        // order=0, mode='edge', anti_aliasing=False) gives these (skimage 0.26 in the peer venv):
        #expect(batch.targets[2].values == [109, 112, 133, 136, 301, 304, 325, 328])
        #expect(DownsampleSegmentationForDeepSupervisionTransform.scales(poolKernelSizes: [[2, 2, 2], [1, 2, 2], [2, 2, 2]])
            == [[1, 1, 1], [0.5, 0.5, 0.5], [0.5, 0.25, 0.25]])
    }

    @Test("mask zeroes masked channels where seg < 0; −1 → 0; channel selection; dummy-2D fold round trip")
    func utilityTransforms() {
        let original = makeBatch(shape: [5, 6, 7])
        var random = SeededGenerator(seed: 1)
        var batch = original
        MaskTransform(usesMask: [true, false]).apply(&batch, random: &random)
        let n = original.voxelsPerChannel
        for b in 0..<2 {
            for i in 0..<n {
                let negative = original.segmentation[b * n + i] < 0
                #expect(batch.data[(b * 2) * n + i] == (negative ? 0 : original.data[(b * 2) * n + i]))
                #expect(batch.data[(b * 2 + 1) * n + i] == original.data[(b * 2 + 1) * n + i])
            }
        }
        RemoveLabelTransform().apply(&batch, random: &random)
        #expect(!batch.segmentation.contains(-1) && batch.segmentation.contains(0))
        SegmentationChannelSelectionTransform(channels: [0]).apply(&batch, random: &random)
        #expect(batch.segmentationChannels == 1)

        var folded = original
        Convert3DTo2DTransform().apply(&folded, random: &random)
        #expect(folded.spatialShape == [6, 7] && folded.dataChannels == 10 && folded.segmentationChannels == 5)
        Convert2DTo3DTransform().apply(&folded, random: &random)
        #expect(folded.spatialShape == [5, 6, 7] && folded.dataChannels == 2 && folded.data == original.data)
    }

    @Test("measured probabilities match the configured ones (3σ binomial tolerance)")
    func probabilities() {
        let trials = 4000
        func fraction(_ transform: any Transform, channels: Int = 1) -> Double {
            var random = SeededGenerator(seed: 77)
            let base = makeBatch(batchSize: 1, channels: channels, shape: [3, 4, 4])
            var changed = 0, total = 0
            for _ in 0..<trials {
                var batch = base
                transform.apply(&batch, random: &random)
                let n = base.voxelsPerChannel
                for c in 0..<channels {
                    total += 1
                    if batch.data[(c * n)..<((c + 1) * n)] != base.data[(c * n)..<((c + 1) * n)] { changed += 1 }
                }
            }
            return Double(changed) / Double(total)
        }
        func expectClose(_ measured: Double, _ p: Double, count: Int = 4000) {
            let sigma = (p * (1 - p) / Double(count)).squareRoot()
            #expect(abs(measured - p) < 3 * sigma + 1e-9, "measured \(measured), configured \(p)")
        }
        expectClose(fraction(GaussianNoiseTransform(sigmaRange: 0.05...0.1, probability: 0.1)), 0.1)
        expectClose(fraction(BrightnessMultiplicativeTransform(probability: 0.15)), 0.15)
        expectClose(fraction(ContrastAugmentationTransform(probability: 0.15)), 0.15)
        expectClose(fraction(GammaTransform(invertsImage: false, probability: 0.3)), 0.3)
        // Per sample × per channel.
        expectClose(fraction(GaussianBlurTransform(probability: 0.2, channelProbability: 0.5), channels: 2), 0.1,
                    count: 8000)
        expectClose(fraction(SimulateLowResolutionTransform(zoomRange: 0.5...0.6, probability: 0.25,
                                                           channelProbability: 0.5), channels: 2), 0.125, count: 8000)

        // Spatial: rotation 0.2 and scale 0.2 independently → modified with 1 − 0.8² = 0.36.
        let spatial = SpatialTransform(patchSize: [2, 3, 3], rotationX: 0.3...0.5, rotationY: 0.3...0.5,
                                       rotationZ: 0.3...0.5)
        var random = SeededGenerator(seed: 12)
        var modified = 0, scaledUp = 0, scaledDown = 0, scaled = 0
        for _ in 0..<trials {
            let map = spatial.drawMap(dims: 3, inShape: [3, 4, 4], outShape: [2, 3, 3], random: &random)
            if map.integralTranslation == nil { modified += 1 }
        }
        expectClose(Double(modified) / Double(trials), 0.36)
        let scaleOnly = SpatialTransform(patchSize: [2, 3, 3], rotationX: 0...0, rotationY: 0...0, rotationZ: 0...0,
                                         rotationProbability: 0, scaleProbability: 1)
        for _ in 0..<trials {
            let factor = scaleOnly.drawMap(dims: 3, inShape: [3, 4, 4], outShape: [2, 3, 3], random: &random).matrix[0]
            #expect(factor >= 0.7 && factor <= 1.4)
            scaled += 1
            if factor < 1 { scaledDown += 1 } else { scaledUp += 1 }
        }
        expectClose(Double(scaledDown) / Double(scaled), 0.5)

        // Mirroring: each axis with p 0.5.
        var flips = [0, 0, 0]
        for _ in 0..<trials {
            var batch = makeBatch(batchSize: 1, channels: 1, shape: [2, 2, 2])
            let before = batch.data
            MirrorTransform(axes: [0, 1, 2]).apply(&batch, random: &random)
            // Voxel 0 moves to the corner given by the flipped axes.
            let index = batch.data.firstIndex(of: before[0]) ?? 0
            for axis in 0..<3 where (index >> (2 - axis)) & 1 == 1 { flips[axis] += 1 }
        }
        for axis in 0..<3 { expectClose(Double(flips[axis]) / Double(trials), 0.5) }
    }

    @Test("the v1 pipelines have v1's order and run on 3D, dummy-2D and 2D batches")
    func pipelines() {
        let parameters = AugmentationParameters.nnUNetTrainerV2(patchSize: [8, 10, 8], doesDummy2DAugmentation: false,
                                                                usesMaskForNormalization: [false])
        let names = AugmentationPipeline.training(parameters, deepSupervisionScales: [[1, 1, 1], [0.5, 0.5, 0.5]])
            .map { String(describing: type(of: $0)) }
        #expect(names == ["SegmentationChannelSelectionTransform", "SpatialTransform", "GaussianNoiseTransform",
                          "GaussianBlurTransform", "BrightnessMultiplicativeTransform", "ContrastAugmentationTransform",
                          "SimulateLowResolutionTransform", "GammaTransform", "GammaTransform", "MirrorTransform",
                          "MaskTransform", "RemoveLabelTransform",
                          "DownsampleSegmentationForDeepSupervisionTransform"])
        let validation = AugmentationPipeline.validation(parameters, deepSupervisionScales: [[1, 1, 1]])
            .map { String(describing: type(of: $0)) }
        #expect(validation == ["RemoveLabelTransform", "SegmentationChannelSelectionTransform",
                               "DownsampleSegmentationForDeepSupervisionTransform"])

        for (patch, dummy) in [([6, 10, 8], false), ([4, 10, 8], true), ([10, 8], false)] {
            let p = AugmentationParameters.nnUNetTrainerV2(patchSize: patch, doesDummy2DAugmentation: dummy,
                                                           usesMaskForNormalization: [true, false])
            let batch = makeBatch(batchSize: 3, channels: 2, shape: p.basicPatchSize)
            var random = SeededGenerator(seed: 4)
            let scales = patch.count == 3 ? [[1.0, 1, 1], [1, 0.5, 0.5]] : [[1.0, 1], [0.5, 0.5]]
            for _ in 0..<5 {
                var copy = batch
                AugmentationPipeline.training(p, deepSupervisionScales: scales).apply(&copy, random: &random)
                #expect(copy.spatialShape == patch && copy.dataChannels == 2 && copy.targets.count == 2)
                #expect(!copy.segmentation.contains(-1))
            }
        }
    }
}

@Suite("Spatial transform geometry")
struct SpatialGeometryTests {
    static func apply(_ map: AffineCoordinateMap, _ o: [Double]) -> [Double] {
        (0..<3).map { r in (0..<3).reduce(map.offset[r]) { $0 + map.matrix[r * 3 + $1] * o[$1] } }
    }

    @Test("coordinates equal batchgenerators' rotate_coords + scale_coords + centre (golden, batchgenerators 0.25.5)")
    func matchesBatchgenerators() {
        // create_zero_centered_coordinate_mesh((2,3,4)); rotate_coords_3d(c, 0.1, -0.2, 0.3); scale_coords(c, 1.2);
        // c[d] += S[d]/2 - 0.5 with S = (5, 6, 7).
        let map3 = SpatialTransform.coordinateMap(angles: [0.1, -0.2, 0.3], scale: 1.2, dims: 3, inShape: [5, 6, 7],
                                                  outShape: [2, 3, 4])
        let golden3: [([Double], [Double])] = [
            ([0, 0, 0], [0.715077771404186, 1.4595449592119052, 1.4813070835224749]),
            ([1, 2, 3], [3.284922228595814, 3.540455040788095, 4.518692916477525]),
            ([1, 0, 2], [2.3626713992564277, 1.2006864185203867, 3.5833126718527595]),
        ]
        for (o, expected) in golden3 {
            let c = Self.apply(map3, o)
            for d in 0..<3 { #expect(abs(c[d] - expected[d]) < 1e-12) }
        }
        // 2D: rotate_coords_2d(mesh((3,4)), 0.7); scale 0.8; S = (6, 7).
        let map2 = SpatialTransform.coordinateMap(angles: [0.7], scale: 0.8, dims: 2, inShape: [1, 6, 7],
                                                  outShape: [1, 3, 4])
        let golden2: [([Double], [Double])] = [
            ([0, 0, 0], [0, 1.11506502548718, 2.5975635250487668]),
            ([0, 2, 3], [0, 3.88493497451282, 3.4024364749512332]),
            ([0, 1, 2], [0, 2.7576870748950766, 3.3059368749137956]),
        ]
        for (o, expected) in golden2 {
            let c = Self.apply(map2, o)
            for d in 0..<3 { #expect(abs(c[d] - expected[d]) < 1e-12) }
        }
    }
}
