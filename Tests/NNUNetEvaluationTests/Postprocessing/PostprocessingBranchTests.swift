import Foundation
import NNUNetCore
import Testing
@testable import NNUNetEvaluation

/// The branches of determine_postprocessing that the shared reference does not take, against v1's own decisions on
/// seeded synthetic folds (Tests/Golden/evaluation/make_postprocessing_golden.py).
@Suite("determine-postprocessing branches against nnU-Net v1")
struct PostprocessingBranchTests {
    static let golden = TestSupport.repositoryRoot.appendingPathComponent("Tests/Golden/evaluation/postprocessing_branches")

    @Test("decision, Dice values, files and summary equal v1's", arguments: [
        ("merged_then_class2", [ClassSet.union([1, 2]), .single(2)]),
        ("single_class", [ClassSet.union([1])]),
        ("nothing_accepted", []),
        ("three_classes", [ClassSet.union([1, 10, 2])]),
    ])
    func scenario(name: String, expectedClasses: [ClassSet]) throws {
        let folder = Self.golden.appendingPathComponent(name)
        try TestSupport.withTemporaryFolder { base in
            for sub in ["gt", "validation_raw"] {
                try TestSupport.copyFolder(folder.appendingPathComponent(sub), to: base.appendingPathComponent(sub))
            }
            let decision = try PostprocessingDetermination.determine(
                base: base, groundTruthFolder: base.appendingPathComponent("gt"), rawSubfolder: "validation_raw",
                finalSubfolder: "validation_raw_postprocessed", threads: 2)
            #expect(decision.forWhichClasses == expectedClasses)
            let written = try JSONValue.read(base.appendingPathComponent("postprocessing.json"))
            let expected = try JSONValue.read(folder.appendingPathComponent("expected_postprocessing.json"))
            expectSameSummary(written, expected, relative: 1e-12)
            #expect(written["for_which_classes"] == expected["for_which_classes"])

            let cases = try #require(try JSONValue.read(folder.appendingPathComponent("expected_cases.json")).objectValue)
            for (caseName, entry) in cases {
                let volume = try NIfTI.read(base.appendingPathComponent("validation_raw_postprocessed/\(caseName).nii.gz"))
                let bytes = volume.data.map { UInt8(exactly: $0) ?? 255 }
                #expect(SHA256.hexDigest(bytes) == entry["sha256"]?.stringValue, "\(name)/\(caseName)")
            }
            let summary = try JSONValue.read(base.appendingPathComponent("validation_raw_postprocessed/summary.json"))
            let expectedSummary = try JSONValue.read(folder.appendingPathComponent("expected_final_summary.json"))
            expectSameSummary(summary, expectedSummary, relative: 1e-12, pathTransform: lastTwoComponents)
        }
    }

    @Test("keep-largest keeps ties and measures sizes in mm³; min sizes only remove smaller objects")
    func filterSemantics() {
        // Two equal components of class 1 (both kept), one smaller (removed); class 2 untouched.
        let shape = [1, 5, 9]
        var labels = [Float](repeating: 0, count: 45)
        for x in 0..<3 { labels[x] = 1 }          // size 3
        for x in 5..<8 { labels[x] = 1 }          // size 3 (tie)
        labels[4 * 9 + 4] = 1                     // size 1
        labels[2 * 9 + 0] = 2
        var copy = labels
        let reports = LargestComponentFilter.apply(to: &copy, shape: shape, volumePerVoxel: 2.5, classSets: [.single(1)])
        #expect(copy.filter { $0 == 1 }.count == 6 && copy[4 * 9 + 4] == 0 && copy[2 * 9] == 2)
        #expect(reports == [LargestComponentFilter.Report(largestRemoved: 2.5, keptSize: 7.5)])
        // With a minimum size of 2 mm³ the 2.5 mm³ object survives.
        var kept = labels
        LargestComponentFilter.apply(to: &kept, shape: shape, volumePerVoxel: 2.5, classSets: [.single(1)],
                                     minimumSizes: [.single(1): 2.0])
        #expect(kept == labels)
        // Merged foreground: the class-2 voxel at (y 2, x 0) is two rows from the class-1 bars, so it is a component
        // of its own and is removed; the two tied bars stay.
        var merged = labels
        LargestComponentFilter.apply(to: &merged, shape: shape, volumePerVoxel: 1, classSets: [.union([1, 2])])
        #expect(merged[2 * 9] == 0 && merged.filter { $0 == 1 }.count == 6)
    }

    @Test("postprocessing.json min_valid_object_sizes literals")
    func literals() {
        #expect(PostprocessingDecision.pythonLiteral(nil) == "None")
        #expect(PostprocessingDecision.pythonLiteral([.union([1, 2]): 12.5, .single(2): 3]) == "{(1, 2): 12.5, 2: 3.0}")
        let parsed = PostprocessingDecision.parsePythonSizes("{(1, 2): 12.5, 2: np.float64(3.0)}")
        #expect(parsed?.isNone == false && parsed?.sizes == [.union([1, 2]): 12.5, .single(2): 3])
        #expect(PostprocessingDecision.parsePythonSizes("None")?.isNone == true)
        #expect(PostprocessingDecision.parsePythonSizes("[1]") == nil)
    }
}
