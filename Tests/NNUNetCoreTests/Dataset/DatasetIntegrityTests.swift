import Foundation
import Testing
@testable import NNUNetCore

/// `--verify_dataset_integrity` on broken copies of a generated task.
@Suite("Dataset integrity check")
struct DatasetIntegrityTests {
    /// One way to break a task, and words its message must contain.
    struct Breakage: Sendable, CustomStringConvertible {
        var description: String
        var expectedCase: String?
        var expectedFile: String
        var expectedWords: [String]
        var apply: @Sendable (URL) throws -> Void
    }

    static let breakages: [Breakage] = [
        Breakage(description: "missing label", expectedCase: "tiny_001", expectedFile: "labelsTr/tiny_001.nii.gz",
                 expectedWords: ["does not exist"]) { task in
            try FileManager.default.removeItem(at: task.appendingPathComponent("labelsTr/tiny_001.nii.gz"))
        },
        Breakage(description: "label with another spacing", expectedCase: "tiny_002",
                 expectedFile: "imagesTr/tiny_002_0000.nii.gz", expectedWords: ["spacing", "co-registered"]) { task in
            let url = task.appendingPathComponent("labelsTr/tiny_002.nii.gz")
            var label = try NIfTI.read(url)
            label.geometry.itkSpacing[2] *= 1.5
            try NIfTI.write(label, to: url, dataType: .uint8)
        },
        Breakage(description: "undeclared label value", expectedCase: "tiny_003",
                 expectedFile: "labelsTr/tiny_003.nii.gz", expectedWords: ["[5]", "dataset.json"]) { task in
            let url = task.appendingPathComponent("labelsTr/tiny_003.nii.gz")
            var label = try NIfTI.read(url)
            label.data[17] = 5
            try NIfTI.write(label, to: url, dataType: .uint8)
        },
        Breakage(description: "NaN voxel", expectedCase: "tiny_000", expectedFile: "imagesTr/tiny_000_0000.nii.gz",
                 expectedWords: ["1 NaN"]) { task in
            let url = task.appendingPathComponent("imagesTr/tiny_000_0000.nii.gz")
            var image = try NIfTI.read(url)
            image.data[100] = .nan
            try NIfTI.write(image, to: url, dataType: .float32)
        },
        Breakage(description: "extra file", expectedCase: nil, expectedFile: "imagesTr/stray_0000.nii.gz",
                 expectedWords: ["not listed"]) { task in
            try FileManager.default.copyItem(at: task.appendingPathComponent("imagesTr/tiny_000_0000.nii.gz"),
                                             to: task.appendingPathComponent("imagesTr/stray_0000.nii.gz"))
        },
    ]

    @Test("a generated task passes")
    func cleanTask() throws {
        try TestSupport.withTemporaryFolder { folder in
            let task = try TestSupport.makeSmallTask(in: folder, modalities: ["T1", "T2"], oblique: true)
            let report = try DatasetIntegrity.verify(taskFolder: task, threads: 2)
            #expect(report.isOK, "\(report.problems)")
            #expect(report.trainingCases == 4 && report.testCases == 1)
        }
    }

    @Test("each breakage yields its own message naming case and file; nothing is written", arguments: breakages)
    func broken(breakage: Breakage) throws {
        try TestSupport.withTemporaryFolder { folder in
            let task = try TestSupport.makeSmallTask(in: folder)
            try breakage.apply(task)
            let before = TestSupport.snapshot(folder)
            let report = try DatasetIntegrity.verify(taskFolder: task, threads: 2)
            #expect(TestSupport.snapshot(folder) == before)
            #expect(report.problems.count == 1, "\(report.problems)")
            let problem = try #require(report.problems.first)
            #expect(problem.caseIdentifier == breakage.expectedCase)
            #expect(problem.file == breakage.expectedFile)
            for word in breakage.expectedWords { #expect(problem.description.contains(word), "\(problem)") }
        }
    }

    @Test("all problems are listed, not only the first")
    func allAtOnce() throws {
        try TestSupport.withTemporaryFolder { folder in
            let task = try TestSupport.makeSmallTask(in: folder)
            for breakage in Self.breakages { try breakage.apply(task) }
            let report = try DatasetIntegrity.verify(taskFolder: task, threads: 2)
            #expect(Set(report.problems.compactMap(\.file)) == Set(Self.breakages.map(\.expectedFile)))
        }
    }

    @Test("dataset.json with non-consecutive labels or a missing file is reported")
    func descriptionProblems() throws {
        try TestSupport.withTemporaryFolder { folder in
            let task = try TestSupport.makeSmallTask(in: folder)
            let url = task.appendingPathComponent("dataset.json")
            var description = try DatasetDescription.load(from: url)
            description.labels["4"] = "gap"
            description.training.append(.init(image: "./imagesTr/ghost.nii.gz", label: "./labelsTr/ghost.nii.gz"))
            try description.write(to: url)
            let report = try DatasetIntegrity.verify(taskFolder: task, threads: 2)
            let text = report.problems.map(\.description)
            #expect(text.contains { $0.contains("consecutive") })
            #expect(text.contains { $0.contains("ghost") && $0.contains("labelsTr/ghost.nii.gz") })
            #expect(text.contains { $0.contains("ghost") && $0.contains("imagesTr/ghost_0000.nii.gz") })
        }
    }

    @Test("a malformed dataset.json is an error naming the file")
    func malformedDescription() throws {
        try TestSupport.withTemporaryFolder { folder in
            let task = try TestSupport.makeSmallTask(in: folder)
            try Data("{\"name\": 3".utf8).write(to: task.appendingPathComponent("dataset.json"))
            do {
                _ = try DatasetIntegrity.verify(taskFolder: task)
                Issue.record("no error")
            } catch let error as CoreError {
                #expect(error.description.contains("dataset.json"))
            }
        }
    }

    @Test("the generator is deterministic and writes nested labels")
    func generator() throws {
        try TestSupport.withTemporaryFolder { folder in
            let a = try TestSupport.makeSmallTask(in: folder.appendingPathComponent("a"), seed: 3)
            let b = try TestSupport.makeSmallTask(in: folder.appendingPathComponent("b"), seed: 3)
            let c = try TestSupport.makeSmallTask(in: folder.appendingPathComponent("c"), seed: 4)
            let name = "imagesTr/tiny_002_0000.nii.gz"
            let imageA = try NIfTI.read(a.appendingPathComponent(name))
            #expect(imageA == (try NIfTI.read(b.appendingPathComponent(name))))
            #expect(imageA.data != (try NIfTI.read(c.appendingPathComponent(name))).data)
            let label = try NIfTI.read(a.appendingPathComponent("labelsTr/tiny_002.nii.gz"))
            #expect(Set(label.data) == [0, 1, 2])
            // Nested: every core voxel (2) has only shell or core neighbours along x.
            let (nz, ny, nx) = (label.shape[0], label.shape[1], label.shape[2])
            for z in 0..<nz { for y in 0..<ny { for x in 1..<(nx - 1) where label[0, z, y, x] == 2 {
                #expect(label[0, z, y, x - 1] >= 1 && label[0, z, y, x + 1] >= 1)
            } } }
            // Zero outside the body: cropping has work to do; foreground is brighter than background.
            #expect(imageA.data.contains(0))
            let description = try DatasetDescription.load(from: a.appendingPathComponent("dataset.json"))
            #expect(description.trainingIdentifiers == ["tiny_000", "tiny_001", "tiny_002", "tiny_003"])
            #expect(description.testIdentifiers == ["tiny_ts000"])
            #expect(FileManager.default.fileExists(atPath: a.appendingPathComponent("labelsTs/tiny_ts000.nii.gz").path))
        }
    }
}
