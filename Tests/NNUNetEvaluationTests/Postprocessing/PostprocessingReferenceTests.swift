import Foundation
import NNUNetCore
import Testing
@testable import NNUNetEvaluation

/// `Tests/Fixtures/postprocessing`: nnU-Net v1's `determine_postprocessing` on a fabricated fold.
@Suite("determine-postprocessing against nnU-Net v1")
struct PostprocessingReferenceTests {
    static let folder = TestSupport.fixtures.appendingPathComponent("postprocessing")

    struct ExpectedCase {
        var name: String
        var sha256: String
        var counts: [String: Int]
    }

    static func expectedCases() throws -> [ExpectedCase] {
        let json = try JSONValue.read(folder.appendingPathComponent("cases.json"))
        return try #require(json["cases"]?.objectValue).map { name, entry in
            var counts: [String: Int] = [:]
            for (label, count) in entry["postprocessed_counts"]?.objectValue ?? [] { counts[label] = count.intValue }
            return ExpectedCase(name: name, sha256: entry["postprocessed_sha256"]?.stringValue ?? "", counts: counts)
        }
    }

    /// Checks every postprocessed file against the reference: SHA-256 of the uint8 (z, y, x) array and label counts.
    static func expectPostprocessedFiles(in folder: URL, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let cases = try expectedCases()
        #expect(cases.count == 6, sourceLocation: sourceLocation)
        for expected in cases {
            let volume = try NIfTI.read(folder.appendingPathComponent(expected.name + ".nii.gz"))
            let bytes = volume.data.map { UInt8(exactly: $0) ?? 255 }
            #expect(SHA256.hexDigest(bytes) == expected.sha256, "\(expected.name)", sourceLocation: sourceLocation)
            var counts: [String: Int] = [:]
            for value in bytes { counts[String(value), default: 0] += 1 }
            #expect(counts == expected.counts, "\(expected.name)", sourceLocation: sourceLocation)
        }
    }

    static func expectReferenceDecision(_ decision: PostprocessingDecision, rawName: String, finalName: String,
                                        sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = try PostprocessingDecision.read(folder.appendingPathComponent("postprocessing.json"))
        #expect(decision.forWhichClasses == expected.forWhichClasses, sourceLocation: sourceLocation)
        #expect(decision.forWhichClasses == [.single(1)], sourceLocation: sourceLocation)
        #expect(decision.minValidObjectSizes == nil && decision.numberOfSamples == 6, sourceLocation: sourceLocation)
        #expect(decision.rawFolderName == rawName && decision.finalFolderName == finalName, sourceLocation: sourceLocation)
        for (ours, theirs) in [(decision.dicePerClassRaw, expected.dicePerClassRaw),
                               (decision.dicePerClassAllClasses, expected.dicePerClassAllClasses),
                               (decision.dicePerClassPerClass, expected.dicePerClassPerClass)] {
            #expect(Set(ours.keys) == Set(theirs.keys), sourceLocation: sourceLocation)
            for (key, value) in theirs {
                #expect(TestSupport.isClose(ours[key] ?? .nan, value, relative: 1e-12), "\(key)",
                        sourceLocation: sourceLocation)
            }
        }
    }

    @Test("per-fold determination: decision, Dice values, files voxel for voxel, summary")
    func perFold() throws {
        try TestSupport.withTemporaryFolder { base in
            for name in ["gt_niftis", "validation_raw"] {
                try TestSupport.copyFolder(Self.folder.appendingPathComponent(name), to: base.appendingPathComponent(name))
            }
            let decision = try PostprocessingDetermination.determine(
                base: base, groundTruthFolder: base.appendingPathComponent("gt_niftis"), rawSubfolder: "validation_raw",
                finalSubfolder: "validation_raw_postprocessed", threads: 2)
            try Self.expectReferenceDecision(decision, rawName: "validation_raw", finalName: "validation_raw_postprocessed")
            // The file on disk is v1's, key for key (byte layout of save_json, Dice values within 1e-12).
            let written = try JSONValue.read(base.appendingPathComponent("postprocessing.json"))
            let expected = try JSONValue.read(Self.folder.appendingPathComponent("postprocessing.json"))
            expectSameSummary(written, expected, relative: 1e-12)
            #expect(written["min_valid_object_sizes"] == .string("None"))
            try Self.expectPostprocessedFiles(in: base.appendingPathComponent("validation_raw_postprocessed"))
            let summary = try JSONValue.read(base.appendingPathComponent("validation_raw_postprocessed/summary.json"))
            let expectedSummary = try JSONValue.read(Self.folder.appendingPathComponent("validation_raw_postprocessed/summary.json"))
            expectSameSummary(summary, expectedSummary, relative: 1e-12, pathTransform: lastTwoComponents)
            // No temporary folders are left behind, the raw folder is untouched.
            let contents = try FileManager.default.contentsOfDirectory(atPath: base.path).sorted()
            #expect(contents == ["gt_niftis", "postprocessing.json", "validation_raw", "validation_raw_postprocessed"])
        }
    }

    @Test("applying v1's postprocessing.json reproduces v1's files")
    func applyDecision() throws {
        try TestSupport.withTemporaryFolder { out in
            let decision = try PostprocessingApplication.apply(
                postprocessingFile: Self.folder.appendingPathComponent("postprocessing.json"),
                inputFolder: Self.folder.appendingPathComponent("validation_raw"), outputFolder: out, threads: 2)
            #expect(decision.forWhichClasses == [.single(1)])
            try Self.expectPostprocessedFiles(in: out)
        }
    }

    @Test("five-fold consolidation: cv_niftis_raw, cv_niftis_postprocessed, postprocessing.json")
    func consolidation() throws {
        try TestSupport.withTemporaryFolder { root in
            let trainer = CrossValidationConsolidation.trainerFolder(
                trainedModels: root, configuration: .fullres, task: "Task999_Test", trainer: "nnUNetTrainerV2",
                plansIdentifier: "nnUNetPlansv2.1")
            try TestSupport.copyFolder(Self.folder.appendingPathComponent("gt_niftis"),
                                       to: trainer.appendingPathComponent("gt_niftis"))
            let raw = Self.folder.appendingPathComponent("validation_raw")
            let names = try FolderEvaluation.niftiFiles(in: raw)
            for fold in 0..<5 {
                let validation = trainer.appendingPathComponent("fold_\(fold)/validation_raw")
                try FileManager.default.createDirectory(at: validation, withIntermediateDirectories: true)
                for (i, name) in names.enumerated() where i % 5 == fold {
                    try FileManager.default.copyItem(at: raw.appendingPathComponent(name),
                                                     to: validation.appendingPathComponent(name))
                }
                if fold == 0 {
                    try FileManager.default.copyItem(at: raw.appendingPathComponent("summary.json"),
                                                     to: validation.appendingPathComponent("summary.json"))
                }
            }
            let decision = try CrossValidationConsolidation.consolidate(trainerFolder: trainer, threads: 2)
            try Self.expectReferenceDecision(decision, rawName: "cv_niftis_raw", finalName: "cv_niftis_postprocessed")
            try Self.expectPostprocessedFiles(in: trainer.appendingPathComponent("cv_niftis_postprocessed"))
            // cv_niftis_raw/summary.json is the evaluation with fold 0's labels (0, 1, 2): v1's validation summary.
            let rawSummary = try JSONValue.read(trainer.appendingPathComponent("cv_niftis_raw/summary.json"))
            let expected = try JSONValue.read(raw.appendingPathComponent("summary.json"))
            expectSameSummary(rawSummary, expected, relative: 1e-12, pathTransform: {
                lastTwoComponents($0).replacingOccurrences(of: "cv_niftis_raw/", with: "validation_raw/")
            })
            #expect(FileManager.default.fileExists(atPath: trainer.appendingPathComponent("postprocessing.json").path))

            // Missing folds are named.
            try FileManager.default.removeItem(at: trainer.appendingPathComponent("fold_3"))
            try FileManager.default.removeItem(at: trainer.appendingPathComponent("fold_1"))
            #expect {
                try CrossValidationConsolidation.consolidate(trainerFolder: trainer)
            } throws: { error in
                guard case let .missingFolds(_, folds, _)? = error as? EvaluationError else { return false }
                return folds == [1, 3] && "\(error)".contains("fold_1/validation_raw, fold_3/validation_raw")
            }
        }
    }

    @Test("folder mode: same decision from a prediction folder, outputs in --out")
    func folderMode() throws {
        try TestSupport.withTemporaryFolder { root in
            let out = root.appendingPathComponent("out")
            let decision = try CrossValidationConsolidation.determineForFolder(
                rawFolder: Self.folder.appendingPathComponent("validation_raw"),
                groundTruthFolder: Self.folder.appendingPathComponent("gt_niftis"), outputFolder: out, threads: 2)
            try Self.expectReferenceDecision(decision, rawName: "validation_raw", finalName: "out")
            try Self.expectPostprocessedFiles(in: out)
            for name in ["summary.json", "summary_raw.json", "postprocessing.json"] {
                #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), "\(name)")
            }
        }
    }
}
