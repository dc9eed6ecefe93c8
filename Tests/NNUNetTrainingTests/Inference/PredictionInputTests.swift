import Foundation
import NNUNetCore
import NNUNetPlanning
import Testing
@testable import NNUNetTraining

@Suite("Prediction inputs are checked before any work")
struct PredictionInputTests {
    static func write(_ url: URL, shape: [Int] = [4, 5, 6], spacing: [Double] = [2, 1, 1],
                      origin: [Double] = [0, 0, 0]) throws {
        var geometry = ImageGeometry(spacing: spacing)
        geometry.itkOrigin = origin
        try NIfTI.write(Volume(data: [Float](repeating: 1, count: shape.reduce(1, *)), shape: shape, geometry: geometry),
                        to: url)
    }

    @Test("modalities with another spacing, origin or shape, or a missing file, are named")
    func modalityGeometry() throws {
        try TestSupport.withTemporaryFolder { folder in
            let a = folder.appendingPathComponent("c_0000.nii.gz"), b = folder.appendingPathComponent("c_0001.nii.gz")
            try Self.write(a)
            try Self.write(b)
            try TrainedModel.checkModalityGeometry([a, b], identifier: "c")
            try Self.write(b, spacing: [2, 1, 1.5])
            #expect { try TrainedModel.checkModalityGeometry([a, b], identifier: "c") }
                throws: { "\($0)".contains("c_0001.nii.gz") && "\($0)".contains("spacing") }
            try Self.write(b, origin: [0, 3, 0])
            #expect { try TrainedModel.checkModalityGeometry([a, b], identifier: "c") }
                throws: { "\($0)".contains("origin") }
            try Self.write(b, shape: [4, 5, 7])
            #expect { try TrainedModel.checkModalityGeometry([a, b], identifier: "c") }
                throws: { "\($0)".contains("shape") }
            let missing = folder.appendingPathComponent("c_0002.nii.gz")
            #expect { try TrainedModel.checkModalityGeometry([a, missing], identifier: "c") }
                throws: { "\($0)".contains("c_0002.nii.gz") }
        }
    }

    @Test("the cascade's 3d_lowres input is cropped like the image, then transposed (v1 forgets the crop)")
    func previousStageAlignment() throws {
        // Original 6 x 7 x 8, nonzero box z 1..<5, y 2..<7, x 0..<8; transposition (2, 0, 1); no resampling.
        let original = [6, 7, 8], box = [[1, 5], [2, 7], [0, 8]], cropped = [4, 5, 8]
        let forward = [2, 0, 1], shape = forward.map { cropped[$0] }
        let json = """
            {"original_size_of_raw_data": \(original), "original_spacing": [1, 1, 1], "list_of_data_files": [],
             "itk_origin": [0, 0, 0], "itk_spacing": [1, 1, 1], "itk_direction": [1, 0, 0, 0, 1, 0, 0, 0, 1],
             "crop_bbox": \(box), "classes": [0, 1, 2], "size_after_cropping": \(cropped),
             "size_after_resampling": \(shape), "spacing_after_resampling": [1, 1, 1], "class_locations": {}}
            """
        let properties = try JSONDecoder().decode(PreprocessedCaseProperties.self, from: Data(json.utf8))
        // Label 2 at original (z 3, y 4, x 6), label 1 at (1, 2, 0) (the box corner); label 1 outside the box at
        // (0, 0, 0) must vanish.
        var labels = [Float](repeating: 0, count: 336)
        labels[(3 * 7 + 4) * 8 + 6] = 2
        labels[(1 * 7 + 2) * 8 + 0] = 1
        labels[0] = 1
        let channels = TrainedModel.previousStageChannels(labels, properties: properties, transposeForward: forward,
                                                          shape: shape, classCount: 3, threads: 1)
        let n = shape.reduce(1, *)
        #expect(channels.count == 2 * n)
        func index(_ z: Int, _ y: Int, _ x: Int) -> Int {
            // cropped (z - 1, y - 2, x) → transposed (x, z', y').
            let c = [z - box[0][0], y - box[1][0], x - box[2][0]]
            let t = forward.map { c[$0] }
            return (t[0] * shape[1] + t[1]) * shape[2] + t[2]
        }
        #expect(channels[n + index(3, 4, 6)] == 1 && channels[index(1, 2, 0)] == 1)
        #expect(channels[..<n].reduce(0, +) == 1 && channels[n...].reduce(0, +) == 1)
    }
}
