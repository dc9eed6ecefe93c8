import Foundation
import NNUNetCore
import Testing
@testable import NNUNetPlanning

/// The inference path (crop the images only, preprocess channel by channel, build the label channel only when
/// normalisation needs it) against the training path (crop with the synthesised label channel, preprocess all
/// channels together): the same values and properties.
@Suite("Preprocessing a case to predict")
struct ImagePreprocessingTests {
    /// Plans of one 3D stage over two modalities.
    static func plans(schemes: [String], useMask: [Bool], transposeForward: [Int], spacing: [Double],
                      allClasses: [Int] = [1, 2]) -> Plans {
        let backward = (0..<3).map { axis in transposeForward.firstIndex(of: axis) ?? 0 }
        var intensity = IntensityStatistics()
        (intensity.mean, intensity.sd, intensity.percentile00_5, intensity.percentile99_5) = (0.4, 0.3, -0.5, 1.2)
        let properties = DatasetProperties(
            allSizes: [], allSpacings: [], allClasses: allClasses, modalities: [0: "A", 1: "B"],
            intensityProperties: [0: .init(pooled: intensity, localProps: [:]),
                                  1: .init(pooled: intensity, localProps: [:])],
            sizeReductions: [:], caseIdentifiers: [])
        let stage = StagePlan(batchSize: 2, numPoolPerAxis: [1, 1, 1], patchSize: [8, 8, 8],
                              medianPatientSizeInVoxels: [8, 8, 8], currentSpacing: spacing, originalSpacing: spacing,
                              doDummy2DDataAug: false, poolOpKernelSizes: [[2, 2, 2]],
                              convKernelSizes: [[3, 3, 3], [3, 3, 3]])
        return Plans(numStages: 1, numModalities: 2, modalities: [0: "A", 1: "B"],
                     normalizationSchemes: [0: schemes[0], 1: schemes[1]], datasetProperties: properties,
                     listOfNpzFiles: [], originalSpacings: [], originalSizes: [], preprocessedDataFolder: "",
                     numClasses: allClasses.count, allClasses: allClasses, baseNumFeatures: 2,
                     useMaskForNorm: [0: useMask[0], 1: useMask[1]], transposeForward: transposeForward,
                     transposeBackward: backward, dataIdentifier: "test", plansPerStage: [0: stage],
                     preprocessorName: "GenericPreprocessor", convPerStage: 2)
    }

    /// Two modalities of shape (9, 16, 14), zero outside an off-centre ellipsoid with a zero hole inside.
    static func writeCase(in folder: URL, spacing: [Double]) throws -> [URL] {
        let shape = [9, 16, 14]
        var generator = SeededGenerator(seed: 5)
        return try (0..<2).map { m in
            var values = [Float](repeating: 0, count: shape.reduce(1, *))
            var i = 0
            for z in 0..<shape[0] {
                for y in 0..<shape[1] {
                    for x in 0..<shape[2] {
                        let d = pow(Double(z - 4) / 4, 2) + pow(Double(y - 9) / 6, 2) + pow(Double(x - 6) / 5, 2)
                        if d <= 1 && !(z == 4 && y == 9 && x == 6) {
                            values[i] = Float(generator.nextUniform(in: 0.1...2)) * Float(m + 1)
                        }
                        i += 1
                    }
                }
            }
            let url = folder.appendingPathComponent("case_000\(m).nii.gz")
            try NIfTI.write(Volume(data: values, shape: shape, geometry: ImageGeometry(spacing: spacing)), to: url)
            return url
        }
    }

    @Test("preprocessImages equals preprocess(array:) of the cropped case with its label channel",
          arguments: [
              (["CT", "nonCT"], [false, false], [0, 1, 2], [4.0, 1.2, 0.9], [1, 2]),
              (["nonCT", "nonCT"], [true, false], [0, 1, 2], [1.3, 1.1, 0.8], [1, 2]),
              (["nonCT", "noNorm"], [true, true], [2, 0, 1], [1.0, 0.9, 1.4], [1, 2]),
              (["CT", "nonCT"], [false, false], [1, 0, 2], [1.1, 1.0, 1.0], [0, 1]),
          ])
    func sameAsTrainingPath(schemes: [String], useMask: [Bool], transposeForward: [Int], spacing: [Double],
                            classes: [Int]) throws {
        try PlanningTestSupport.withTemporaryFolder { folder in
            let files = try Self.writeCase(in: folder, spacing: [1.0, 1.0, 1.0])
            let plans = Self.plans(schemes: schemes, useMask: useMask, transposeForward: transposeForward,
                                   spacing: spacing, allClasses: classes)
            let preprocessor = try Preprocessor(plans: plans)
            let target = spacing  // the stage's current_spacing (transposed order)
            let caseFiles = Cropper.CaseFiles(testCase: "case", imageFiles: files)
            let (array, shape, cropping) = try Cropper.cropCase(caseFiles)
            let old = preprocessor.preprocess(array: array, shape: shape, properties: cropping, targetSpacing: target)

            let images = try Cropper.cropImages(caseFiles, keepingMask: preprocessor.needsNonzeroMask)
            #expect(images.properties == cropping && [3] + images.shape == shape)
            #expect(images.channels.flatMap { $0 } == Array(array.prefix(2 * images.shape.reduce(1, *))))
            #expect(preprocessor.needsNonzeroMask == (useMask.contains(true) || classes.contains(0)))
            let new = preprocessor.preprocessImages(images, targetSpacing: target)
            #expect(new.shape == Array(old.shape.dropFirst()))
            #expect(new.data == Array(old.array.prefix(2 * new.shape.reduce(1, *))))
            #expect(new.properties == old.properties)
        }
    }
}
