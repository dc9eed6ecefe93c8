import Foundation
import NNUNetCore
import NNUNetPlanning
import Testing
@testable import NNUNetTraining

/// The slab-wise sliding window (window aggregate, weights summed when a row is finished, virtual padding) against
/// the straightforward whole-volume aggregation it replaced: padded input copy, K × volume aggregate and a weights
/// volume, tile after tile.
@Suite("Slab-wise sliding window")
struct SlabPredictionTests {
    /// A tiny Generic U-Net (2 modalities, base 2 features, one pooling) with seeded weights.
    static func network(rank: Int, classes: Int = 3, seed: UInt64 = 1) -> GenericUNet {
        var generator = SeededGenerator(seed: seed)
        let kernel = [Int](repeating: 3, count: rank), pool = [Int](repeating: 2, count: rank)
        return GenericUNet(inputChannels: 2, baseFeatures: 2, classCount: classes, poolKernels: [pool],
                           convKernels: [kernel, kernel], generator: &generator)
    }

    /// Seeded values in [-1, 1).
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Float(generator.nextUniform(in: -1...1)) }
    }

    /// The aggregation as it was before slabs: per 3D volume (or 2D slice) pad, tile, accumulate Σ w·p and Σ w over
    /// the whole padded volume, divide, crop.
    static func referenceProbabilities(_ predictor: SlidingWindowPredictor, data: [Float], channels: Int,
                                       shape: [Int]) -> [Float] {
        predictor.network.eval()
        return withoutGradients {
            if predictor.patchSize.count == 3 { return referenceVolume(predictor, data, channels, shape) }
            let plane = shape[1] * shape[2], volume = shape.reduce(1, *), classes = predictor.classCount
            var output = [Float](repeating: 0, count: classes * volume)
            for z in 0..<shape[0] {
                var slice: [Float] = []
                for c in 0..<channels {
                    slice += data[(c * volume + z * plane)..<(c * volume + (z + 1) * plane)]
                }
                let probabilities = referenceVolume(predictor, slice, channels, [shape[1], shape[2]])
                for k in 0..<classes {
                    output.replaceSubrange((k * volume + z * plane)..<(k * volume + (z + 1) * plane),
                                           with: probabilities[(k * plane)..<((k + 1) * plane)])
                }
            }
            return output
        }
    }

    static func referenceVolume(_ predictor: SlidingWindowPredictor, _ data: [Float], _ channels: Int,
                                _ shape: [Int]) -> [Float] {
        let patch = predictor.patchSize, classes = predictor.classCount
        let padding = SlidingWindow.padding(imageSize: shape, patchSize: patch)
        let padded = zip(shape, padding).map { $0 + $1.before + $1.after }
        let steps = SlidingWindow.steps(imageSize: padded, patchSize: patch, stepSize: predictor.stepSize)
        var input = [Float](repeating: 0, count: channels * padded.reduce(1, *))
        Box.add(data, channels: channels, size: shape, into: &input, shape: padded, corner: padding.map(\.before))
        let paddedVoxels = padded.reduce(1, *), patchVoxels = patch.reduce(1, *)
        let tiles = steps.reduce(1) { $0 * $1.count }
        let gaussian = predictor.usesGaussian && tiles > 1
            ? SlidingWindow.gaussianImportanceMap(patchSize: patch) : [Float](repeating: 1, count: patchVoxels)
        var aggregate = [Float](repeating: 0, count: classes * paddedVoxels)
        var weights = [Float](repeating: 0, count: paddedVoxels)
        var corner = [Int](repeating: 0, count: patch.count)
        for tile in 0..<tiles {
            var rest = tile
            for a in stride(from: patch.count - 1, through: 0, by: -1) {
                corner[a] = steps[a][rest % steps[a].count]
                rest /= steps[a].count
            }
            let box = Box.copy(input, channels: channels, shape: padded, corner: corner, size: patch)
            let combinations = predictor.usesMirroring ? predictor.mirrorCombinations() : [[]]
            var probabilities = [Float](repeating: 0, count: classes * patchVoxels)
            let scale = 1 / Float(combinations.count)
            for axes in combinations {
                let flipped = Box.flip(box, channels: channels, shape: patch, axes: axes)
                let logits = predictor.network(Tensor(shape: [1, channels] + patch, data: flipped))
                let p = Box.flip(softmax(logits, axis: 1).data, channels: classes, shape: patch, axes: axes)
                for i in probabilities.indices { probabilities[i] += scale * p[i] }
            }
            for k in 0..<classes {
                for i in 0..<patchVoxels { probabilities[k * patchVoxels + i] *= gaussian[i] }
            }
            Box.add(probabilities, channels: classes, size: patch, into: &aggregate, shape: padded, corner: corner)
            Box.add(gaussian, channels: 1, size: patch, into: &weights, shape: padded, corner: corner)
        }
        for k in 0..<classes {
            for i in 0..<paddedVoxels { aggregate[k * paddedVoxels + i] /= weights[i] }
        }
        return Box.copy(aggregate, channels: classes, shape: padded, corner: padding.map(\.before), size: shape)
    }

    @Test("weights summed per finished row equal the accumulated weights volume bit for bit",
          arguments: [([13, 21, 9], [5, 8, 4], 0.5), ([17, 10, 23], [6, 10, 7], 0.3), ([8, 8, 8], [8, 4, 3], 1.0),
                      ([11, 30, 19], [3, 9, 11], 0.65)])
    func weights(padded: [Int], tile: [Int], stepSize: Double) {
        let steps = SlidingWindow.steps(imageSize: padded, patchSize: tile, stepSize: stepSize)
        let gaussian = SlidingWindow.gaussianImportanceMap(patchSize: tile)
        var accumulated = [Float](repeating: 0, count: padded.reduce(1, *))
        for z in steps[0] {
            for y in steps[1] {
                for x in steps[2] {
                    Box.add(gaussian, channels: 1, size: tile, into: &accumulated, shape: padded, corner: [z, y, x])
                }
            }
        }
        let computed = TileWeights(steps: steps, tile: tile, gaussian: gaussian).volume()
        #expect(computed == accumulated)
        #expect(!computed.contains(0))
        // 2D networks: every slice is its own row of tiles (depth 1).
        let slices = [Array(0..<padded[0])] + Array(steps.dropFirst())
        let map2D = SlidingWindow.gaussianImportanceMap(patchSize: Array(tile.dropFirst()))
        var perSlice = [Float](repeating: 0, count: padded.reduce(1, *))
        for z in slices[0] {
            for y in slices[1] {
                for x in slices[2] {
                    Box.add(map2D, channels: 1, size: [1] + tile.dropFirst(), into: &perSlice, shape: padded,
                            corner: [z, y, x])
                }
            }
        }
        #expect(TileWeights(steps: slices, tile: [1] + tile.dropFirst(), gaussian: map2D).volume() == perSlice)
    }

    @Test("3D: slab-wise probabilities equal the whole-volume aggregation bit for bit",
          arguments: [([5, 19, 13], true, 0.5), ([17, 11, 9], false, 0.5), ([12, 8, 21], true, 0.35),
                      ([10, 6, 11], false, 0.5)])
    func threeD(shape: [Int], mirroring: Bool, stepSize: Double) {
        var predictor = SlidingWindowPredictor(network: Self.network(rank: 3), patchSize: [8, 8, 8], classCount: 3)
        predictor.usesMirroring = mirroring
        predictor.stepSize = stepSize
        let data = Self.values(2 * shape.reduce(1, *), seed: UInt64(shape[0]))
        var rows: [Range<Int>] = []
        predictor.forEachProbabilitySlab(data, channels: 2, shape: shape) { slab in
            #expect(slab.values.count == 3 * slab.rows.count * shape[1] * shape[2])
            rows.append(slab.rows)
        }
        #expect(rows.first?.lowerBound == 0 && rows.last?.upperBound == shape[0])
        #expect(zip(rows, rows.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        #expect(rows.count > 1 || shape[0] <= 8)
        let expected = Self.referenceProbabilities(predictor, data: data, channels: 2, shape: shape)
        #expect(predictor.predictProbabilities(data, channels: 2, shape: shape) == expected)
    }

    @Test("mirrored copies through the network in batches of 8, 3 (3 + 3 + 2) or 1 give the same bits",
          arguments: [3, 2])
    func mirrorBatches(rank: Int) {
        let patch = [Int](repeating: 8, count: rank), shape = rank == 3 ? [9, 14, 11] : [2, 13, 10]
        var predictor = SlidingWindowPredictor(network: Self.network(rank: rank), patchSize: patch, classCount: 3)
        let data = Self.values(2 * shape.reduce(1, *), seed: 5)
        let combinations = predictor.mirrorCombinations().count
        #expect(combinations == (rank == 3 ? 8 : 4))
        #expect(predictor.mirrorBatchVoxels >= combinations * patch.reduce(1, *), "the default batches all copies")
        let together = predictor.predictProbabilities(data, channels: 2, shape: shape)
        for copies in [3, 1] {
            predictor.mirrorBatchVoxels = copies * patch.reduce(1, *)
            #expect(predictor.predictProbabilities(data, channels: 2, shape: shape) == together, "\(copies) per batch")
        }
    }

    @Test("2D network: slab-wise probabilities equal slice-by-slice aggregation bit for bit",
          arguments: [[3, 13, 10], [2, 5, 9]])
    func twoD(shape: [Int]) {
        let predictor = SlidingWindowPredictor(network: Self.network(rank: 2), patchSize: [8, 8], classCount: 3)
        let data = Self.values(2 * shape.reduce(1, *), seed: 7)
        var rows: [Range<Int>] = []
        predictor.forEachProbabilitySlab(data, channels: 2, shape: shape) { rows.append($0.rows) }
        #expect(rows == (0..<shape[0]).map { $0..<($0 + 1) })
        #expect(predictor.predictProbabilities(data, channels: 2, shape: shape)
                == Self.referenceProbabilities(predictor, data: data, channels: 2, shape: shape))
    }

    @Test("several networks are averaged per tile: v1's average of the per-fold volumes up to rounding")
    func folds() {
        let shape = [9, 14, 11]
        let networks = [Self.network(rank: 3, seed: 1), Self.network(rank: 3, seed: 2)]
        var predictor = SlidingWindowPredictor(networks: networks, patchSize: [8, 8, 8], classCount: 3)
        predictor.usesMirroring = false
        let data = Self.values(2 * shape.reduce(1, *), seed: 3)
        let averaged = predictor.predictProbabilities(data, channels: 2, shape: shape)
        var expected = [Float](repeating: 0, count: averaged.count)
        for network in networks {
            var one = predictor
            one.network = network
            let p = Self.referenceProbabilities(one, data: data, channels: 2, shape: shape)
            for i in expected.indices { expected[i] += p[i] }
        }
        let worst = zip(averaged, expected).map { abs($0 - $1 * 0.5) }.max() ?? 0
        #expect(worst < 1e-6, "largest difference \(worst)")
    }

    @Test("predictCase equals crop, preprocess, whole-volume aggregation and whole-volume export")
    func wholeCase() throws {
        try TestSupport.withTemporaryFolder { folder in
            // Two modalities, zero outside an ellipsoid (cropping and nonzero-mask normalisation have work to do),
            // spacing anisotropic enough for the separate-z export path.
            let shape = [7, 22, 19], spacing = [3.6, 1.0, 1.1]
            var generator = SeededGenerator(seed: 9)
            var files: [URL] = []
            for m in 0..<2 {
                var values = [Float](repeating: 0, count: shape.reduce(1, *))
                for z in 0..<shape[0] {
                    for y in 0..<shape[1] {
                        for x in 0..<shape[2] {
                            let d = pow(Double(z - 3) / 3.5, 2) + pow(Double(y - 11) / 9, 2) + pow(Double(x - 8) / 8, 2)
                            if d <= 1 {
                                values[(z * shape[1] + y) * shape[2] + x] = Float(generator.nextUniform(in: 1...3 + Double(m)))
                            }
                        }
                    }
                }
                let url = folder.appendingPathComponent("case_000\(m).nii.gz")
                try NIfTI.write(Volume(data: values, shape: shape, geometry: ImageGeometry(spacing: spacing)), to: url)
                files.append(url)
            }
            let stage = StagePlan(batchSize: 2, numPoolPerAxis: [1, 1, 1], patchSize: [8, 8, 8],
                                  medianPatientSizeInVoxels: [8, 20, 20], currentSpacing: [3, 1.2, 1],
                                  originalSpacing: [3, 1.2, 1], doDummy2DDataAug: false,
                                  poolOpKernelSizes: [[2, 2, 2]], convKernelSizes: [[3, 3, 3], [3, 3, 3]])
            let plans = Plans(numStages: 1, numModalities: 2, modalities: [0: "MRI", 1: "MRI"],
                              normalizationSchemes: [0: "nonCT", 1: "nonCT"], datasetProperties: nil,
                              listOfNpzFiles: [], originalSpacings: [], originalSizes: [], preprocessedDataFolder: "",
                              numClasses: 2, allClasses: [1, 2], baseNumFeatures: 2, useMaskForNorm: [0: true, 1: false],
                              transposeForward: [0, 1, 2], transposeBackward: [0, 1, 2], dataIdentifier: "test",
                              plansPerStage: [0: stage], preprocessorName: "GenericPreprocessor", convPerStage: 2)
            let configuration = try TrainingConfiguration(plans: plans, configuration: .fullres,
                                                          taskName: "Task999_Slabs", fold: 0,
                                                          plansIdentifier: "nnUNetPlansv2.1",
                                                          preprocessedTaskFolder: nil)
            let network = Self.network(rank: 3)
            let trainerFolder = folder.appendingPathComponent("nnUNetTrainerV2__nnUNetPlansv2.1")
            try TrainedModel.writeModelFolder(plans: plans, configuration: configuration, network: network,
                                              trainerFolder: trainerFolder)
            let model = try TrainedModel(trainerFolder: trainerFolder)
            var phases: [TrainedModel.PredictionPhase] = []
            model.phaseObserver = { phases.append($0) }
            let prediction = try model.predictCase(imageFiles: files, keepingProbabilities: true)
            #expect(phases == TrainedModel.PredictionPhase.allCases)

            let (array, croppedShape, cropping) = try Cropper.cropCase(.init(testCase: "case", imageFiles: files))
            let (preprocessed, preprocessedShape, properties) = try Preprocessor(plans: plans).preprocess(
                array: array, shape: croppedShape, properties: cropping, targetSpacing: stage.currentSpacing)
            let spatial = Array(preprocessedShape.dropFirst())
            let data = Array(preprocessed.prefix(2 * spatial.reduce(1, *)))
            let probabilities = Self.referenceProbabilities(
                SlidingWindowPredictor(network: model.folds[0].network, patchSize: [8, 8, 8], classCount: 3),
                data: data, channels: 2, shape: spatial)
            let expected = SegmentationExporter.exportWholeVolume(
                probabilities: probabilities, classCount: 3, shape: spatial, properties: properties,
                transposeForward: [0, 1, 2], transposeBackward: [0, 1, 2], keepingProbabilities: true)
            #expect(prediction.properties == properties)
            #expect(prediction.labels == expected.labels)
            #expect(prediction.probabilities == expected.probabilities)
            #expect(model.predictProbabilities(data, channels: 2, shape: spatial) == probabilities)
        }
    }
}
