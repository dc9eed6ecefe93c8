import Foundation
import NNUNetCore
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
}
