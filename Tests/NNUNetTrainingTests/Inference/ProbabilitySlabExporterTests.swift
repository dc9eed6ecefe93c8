import Foundation
import NNUNetCore
@testable import NNUNetPlanning
import Testing
@testable import NNUNetTraining

/// Slice-wise export of probabilities arriving in slabs against whole-volume export (every class channel resampled
/// whole, then argmax, transpose, uncrop), which it replaced.
@Suite("Slab-wise export")
struct ProbabilitySlabExporterTests {
    /// One export situation: transposition, original size and crop box, spacings, preprocessed shape.
    struct Situation: CustomTestStringConvertible, Sendable {
        var name: String
        var transposeForward: [Int]
        var original: [Int]
        var box: [[Int]]
        var originalSpacing: [Double]
        /// Preprocessed (transposed) shape and spacing.
        var shape: [Int]
        var spacing: [Double]
        var testDescription: String { name }

        var transposeBackward: [Int] { (0..<3).map { axis in transposeForward.firstIndex(of: axis) ?? 0 } }

        var properties: PreprocessedCaseProperties {
            let cropping = CroppedCaseProperties(
                originalSizeOfRawData: original, originalSpacing: originalSpacing, listOfDataFiles: [], segFile: nil,
                itkOrigin: [1, -2, 3], itkSpacing: originalSpacing.reversed(), itkDirection: [1, 0, 0, 0, 1, 0, 0, 0, 1],
                cropBBox: box, classes: [-1, 0], sizeAfterCropping: box.map { $0[1] - $0[0] },
                useNonzeroMaskForNorm: nil)
            return PreprocessedCaseProperties(cropping: cropping, sizeAfterResampling: shape,
                                              spacingAfterResampling: spacing, classLocations: [:])
        }
    }

    static let box = [[1, 8], [2, 13], [0, 12]]  // cropped 7 x 11 x 12 inside 9 x 14 x 12
    static let situations: [Situation] = [
        Situation(name: "same shape", transposeForward: [0, 1, 2], original: [9, 14, 12], box: box,
                  originalSpacing: [1, 1, 1], shape: [7, 11, 12], spacing: [1, 1, 1]),
        Situation(name: "linear, upsampled", transposeForward: [0, 1, 2], original: [9, 14, 12], box: box,
                  originalSpacing: [1.2, 1, 0.9], shape: [10, 9, 13], spacing: [1, 1, 1]),
        Situation(name: "linear, downsampled along z", transposeForward: [0, 1, 2], original: [9, 14, 12], box: box,
                  originalSpacing: [1.2, 1, 0.9], shape: [4, 11, 15], spacing: [1, 1, 1]),
        Situation(name: "separate z, all axes change", transposeForward: [0, 1, 2], original: [9, 14, 12], box: box,
                  originalSpacing: [4, 1, 1], shape: [10, 9, 13], spacing: [3, 1.2, 0.9]),
        Situation(name: "separate z, only z changes", transposeForward: [0, 1, 2], original: [9, 14, 12], box: box,
                  originalSpacing: [4, 1, 1], shape: [5, 11, 12], spacing: [5, 1, 1]),
        Situation(name: "separate z, only in-plane changes", transposeForward: [0, 1, 2], original: [9, 14, 12],
                  box: box, originalSpacing: [4, 1, 1], shape: [7, 13, 10], spacing: [4, 0.9, 1.2]),
        Situation(name: "transposed, linear", transposeForward: [2, 0, 1], original: [9, 14, 12], box: box,
                  originalSpacing: [1, 1.1, 1.2], shape: [10, 6, 13], spacing: [1, 1, 1]),
        Situation(name: "transposed, separate first axis", transposeForward: [0, 2, 1], original: [9, 14, 12],
                  box: box, originalSpacing: [4, 1, 1], shape: [9, 10, 12], spacing: [3, 1.2, 0.9]),
        Situation(name: "separate axis 2: whole-volume fallback", transposeForward: [0, 1, 2], original: [9, 14, 12],
                  box: box, originalSpacing: [1, 1, 4], shape: [8, 10, 9], spacing: [1, 1, 3]),
    ]

    /// Seeded class probabilities `[3, shape]` with exact three-way ties at every seventh voxel.
    static func probabilities(shape: [Int], seed: UInt64) -> [Float] {
        let voxels = shape.reduce(1, *)
        var generator = SeededGenerator(seed: seed)
        var p = [Float](repeating: 0, count: 3 * voxels)
        for i in 0..<voxels {
            let raw = (0..<3).map { _ in Float(generator.nextUniform(in: 0.01...1)) }
            let sum = raw.reduce(0, +)
            for k in 0..<3 { p[k * voxels + i] = i % 7 == 0 ? 1 / 3 : raw[k] / sum }
        }
        return p
    }

    /// Feeds `probabilities` in slabs of the given sizes (cycled).
    static func export(_ probabilities: [Float], situation: Situation, sizes: [Int],
                       mode: SegmentationExporter.Mode = .normal, keeping: Bool) -> (labels: Volume, kept: [Float]?) {
        let shape = situation.shape, plane = shape[1] * shape[2], volume = shape.reduce(1, *)
        var exporter = ProbabilitySlabExporter(classCount: 3, shape: shape, properties: situation.properties,
                                               transposeForward: situation.transposeForward,
                                               transposeBackward: situation.transposeBackward, mode: mode,
                                               keepingProbabilities: keeping, threads: 2)
        var start = 0, index = 0
        while start < shape[0] {
            let end = min(shape[0], start + sizes[index % sizes.count])
            var slab: [Float] = []
            for k in 0..<3 { slab += probabilities[(k * volume + start * plane)..<(k * volume + end * plane)] }
            exporter.consume(slab, rows: start..<end)
            start = end
            index += 1
        }
        let result = exporter.finish()
        return (result.labels, result.probabilities)
    }

    @Test("labels and kept probabilities equal whole-volume export bit for bit", arguments: situations)
    func equalsWholeVolume(situation: Situation) {
        let probabilities = Self.probabilities(shape: situation.shape, seed: UInt64(situation.shape.reduce(1, *)))
        let expected = SegmentationExporter.exportWholeVolume(
            probabilities: probabilities, classCount: 3, shape: situation.shape, properties: situation.properties,
            transposeForward: situation.transposeForward, transposeBackward: situation.transposeBackward,
            keepingProbabilities: true, threads: 2)
        #expect(expected.labels.shape == situation.original && expected.labels.data.contains(2))
        for sizes in [[1], [3, 1, 2], [situation.shape[0]]] {
            let (labels, kept) = Self.export(probabilities, situation: situation, sizes: sizes, keeping: true)
            #expect(labels == expected.labels, "slabs \(sizes)")
            #expect(kept == expected.probabilities, "slabs \(sizes)")
            #expect(Self.export(probabilities, situation: situation, sizes: sizes, keeping: false).labels == labels)
        }
        #expect(SegmentationExporter.labelMap(
            probabilities: probabilities, classCount: 3, shape: situation.shape, properties: situation.properties,
            transposeForward: situation.transposeForward, transposeBackward: situation.transposeBackward)
                == expected.labels)
    }

    @Test("fast and fastest: argmax per slab, then the labels are resampled as before")
    func fastModes() {
        for situation in Self.situations.prefix(4) {
            let probabilities = Self.probabilities(shape: situation.shape, seed: 11)
            let volume = situation.shape.reduce(1, *)
            var argmax = [Float](repeating: 0, count: volume)
            for i in 0..<volume {
                var best = probabilities[i]
                for k in 1..<3 where probabilities[k * volume + i] > best {
                    best = probabilities[k * volume + i]
                    argmax[i] = Float(k)
                }
            }
            for mode in [SegmentationExporter.Mode.fast, .fastest] {
                let expected = SegmentationExporter.labelMap(
                    fromPreprocessedLabels: argmax, shape: situation.shape, properties: situation.properties,
                    transposeForward: situation.transposeForward, transposeBackward: situation.transposeBackward,
                    mode: mode)
                let labels = Self.export(probabilities, situation: situation, sizes: [2], mode: mode, keeping: false)
                #expect(labels.labels == expected, "\(situation.name) \(mode)")
            }
        }
    }
}
