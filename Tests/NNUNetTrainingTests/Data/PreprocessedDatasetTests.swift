import Foundation
import Testing
@testable import NNUNetTraining

@Suite("Preprocessed dataset (.npy + .json)")
struct PreprocessedDatasetTests {
    @Test("round trip: header, voxels and class locations")
    func roundTrip() throws {
        try TestSupport.withTemporaryFolder { folder in
            try TestSupport.writeCase("a", shape: [3, 4, 5], into: folder)
            let dataset = try PreprocessedDataset(folder: folder)
            #expect(dataset.cases.map(\.identifier) == ["a"])
            let item = dataset.cases[0]
            #expect(item.shape == [2, 3, 4, 5] && item.modalityCount == 1)
            #expect(item.classLocations[2] == [[2, 3, 4]])
            let values = try dataset.withVoxels(of: item) { Array($0) }
            #expect(Array(values[0..<60]) == (1...60).map(Float.init))
            #expect(Array(values[60...]) == TestSupport.segmentation(shape: [3, 4, 5]))
            // The header is numpy's format 1.0, padded to 64 bytes.
            let bytes = try Data(contentsOf: folder.appendingPathComponent("a.npy"))
            #expect(bytes.count == 128 + 120 * 4 && bytes[127] == 0x0A)
        }
    }

    @Test("malformed files are reported with the case name")
    func errors() throws {
        try TestSupport.withTemporaryFolder { folder in
            try Data("not numpy".utf8).write(to: folder.appendingPathComponent("bad.npy"))
            try Data("{}".utf8).write(to: folder.appendingPathComponent("bad.json"))
            #expect(throws: TrainingError.self) { try PreprocessedDataset(folder: folder) }
            do { _ = try PreprocessedDataset(folder: folder) } catch {
                #expect("\(error)".contains("'bad'"))
            }
            try FileManager.default.removeItem(at: folder.appendingPathComponent("bad.npy"))
            #expect(throws: TrainingError.emptyPreprocessedFolder(path: folder.path)) {
                try PreprocessedDataset(folder: folder)
            }
        }
    }
}
