import Foundation
import NNUNetCore
import Testing
@testable import NNUNetEvaluation

/// Compares two parsed summary.json documents: same keys everywhere (except `timestamp`, `id`), numbers within
/// `relative` (NaN where NaN, ints where ints), per-case paths equal after `pathTransform`.
func expectSameSummary(_ ours: JSONValue, _ theirs: JSONValue, path: String = "", relative: Double = 1e-9,
                       pathTransform: (String) -> String = { $0 }, sourceLocation: SourceLocation = #_sourceLocation) {
    switch (ours, theirs) {
    case let (.object(a), .object(b)):
        let skip: Set<String> = path.isEmpty ? ["timestamp", "id"] : []
        let keysA = Set(a.map(\.0)).subtracting(skip), keysB = Set(b.map(\.0)).subtracting(skip)
        #expect(keysA == keysB, "keys differ at \(path)", sourceLocation: sourceLocation)
        for key in keysA.intersection(keysB) {
            if key == "test" || key == "reference", let x = ours[key]?.stringValue, let y = theirs[key]?.stringValue {
                #expect(pathTransform(x) == y, "path at \(path).\(key)", sourceLocation: sourceLocation)
                continue
            }
            if let x = ours[key], let y = theirs[key] {
                expectSameSummary(x, y, path: path + "." + key, relative: relative, pathTransform: pathTransform,
                                  sourceLocation: sourceLocation)
            }
        }
    case let (.array(a), .array(b)):
        #expect(a.count == b.count, "array length at \(path)", sourceLocation: sourceLocation)
        for (i, (x, y)) in zip(a, b).enumerated() {
            expectSameSummary(x, y, path: path + "[\(i)]", relative: relative, pathTransform: pathTransform,
                              sourceLocation: sourceLocation)
        }
    case let (.int(x), .int(y)):
        #expect(x == y, "\(path): \(x) vs \(y)", sourceLocation: sourceLocation)
    case let (.double(x), .double(y)):
        #expect(TestSupport.isClose(x, y, relative: relative), "\(path): \(x) vs \(y)", sourceLocation: sourceLocation)
    default:
        #expect(ours == theirs, "\(path): \(ours) vs \(theirs)", sourceLocation: sourceLocation)
    }
}

/// `.../pred/p01.nii.gz` → `pred/p01.nii.gz` (the reference stores paths relative to the folder it describes).
func lastTwoComponents(_ path: String) -> String {
    let url = URL(fileURLWithPath: path)
    return url.deletingLastPathComponent().lastPathComponent + "/" + url.lastPathComponent
}

@Suite("evaluate-folder against nnU-Net v1")
struct FolderEvaluationTests {
    static let evalReference = TestSupport.fixtures.appendingPathComponent("eval")

    @Test("summary.json equals v1's on every case, label and metric")
    func matchesReference() throws {
        try TestSupport.withTemporaryFolder { folder in
            let pred = folder.appendingPathComponent("pred"), ref = Self.evalReference.appendingPathComponent("ref")
            try TestSupport.copyFolder(Self.evalReference.appendingPathComponent("pred"), to: pred)
            let summary = try FolderEvaluation.evaluateFolder(reference: ref, prediction: pred,
                                                              options: EvaluationOptions(labels: [1, 2]), threads: 2)
            let written = try JSONValue.read(pred.appendingPathComponent("summary.json"))
            let expected = try JSONValue.read(Self.evalReference.appendingPathComponent("summary.json"))
            expectSameSummary(written, expected, pathTransform: lastTwoComponents)
            // Exactness beyond the tolerance: the formulas run in v1's order, so the numbers are bit-identical.
            expectSameSummary(written, expected, relative: 0, pathTransform: lastTwoComponents)
            #expect(written["author"] == .string("Fabian") && written["name"] == .string(""))
            #expect(written["id"]?.stringValue == summary.computedID() && summary.id.count == 12)
            #expect(summary.meanDice(of: 1) > 0.7193 && summary.meanDice(of: 1) < 0.7194)
        }
    }

    @Test("the written file is v1's byte layout")
    func layout() throws {
        try TestSupport.withTemporaryFolder { folder in
            let pred = folder.appendingPathComponent("pred"), ref = Self.evalReference.appendingPathComponent("ref")
            try TestSupport.copyFolder(Self.evalReference.appendingPathComponent("pred"), to: pred)
            try FolderEvaluation.evaluateFolder(reference: ref, prediction: pred, options: EvaluationOptions(labels: [1, 2]))
            let text = try String(contentsOf: pred.appendingPathComponent("summary.json"), encoding: .utf8)
            #expect(text.hasPrefix("{\n    \"author\": \"Fabian\",\n    \"description\": \"\",\n    \"id\": \""))
            #expect(text.contains("\"Dice\": NaN,"))
            #expect(text.contains("\"Total Positives Reference\": 8362,"))
        }
    }

    @Test("a label absent everywhere gives NaN, not a crash")
    func absentLabel() throws {
        try TestSupport.withTemporaryFolder { folder in
            let pred = folder.appendingPathComponent("pred"), ref = Self.evalReference.appendingPathComponent("ref")
            try TestSupport.copyFolder(Self.evalReference.appendingPathComponent("pred"), to: pred)
            let summary = try FolderEvaluation.evaluateFolder(reference: ref, prediction: pred,
                                                              options: EvaluationOptions(labels: [1, 7]))
            #expect(summary.meanDice(of: 7).isNaN)
            #expect(summary.mean(of: "7")?.values["Total Positives Test"] == 0)
            #expect(summary.mean(of: "7")?.values["Precision"]?.isNaN == true)
            #expect(summary.mean(of: "7")?.values["Accuracy"] == 1)
        }
    }

    @Test("different file sets are listed")
    func mismatchedFiles() throws {
        try TestSupport.withTemporaryFolder { folder in
            let pred = folder.appendingPathComponent("pred"), ref = Self.evalReference.appendingPathComponent("ref")
            try TestSupport.copyFolder(Self.evalReference.appendingPathComponent("pred"), to: pred)
            try FileManager.default.removeItem(at: pred.appendingPathComponent("p03_empty_ref_empty_pred.nii.gz"))
            try FileManager.default.copyItem(at: pred.appendingPathComponent("p01_normal.nii.gz"),
                                             to: pred.appendingPathComponent("extra.nii.gz"))
            do {
                try FolderEvaluation.evaluateFolder(reference: ref, prediction: pred, options: EvaluationOptions(labels: [1]))
                Issue.record("expected an error")
            } catch let error as EvaluationError {
                #expect(error.description.contains("p03_empty_ref_empty_pred.nii.gz"))
                #expect(error.description.contains("extra.nii.gz"))
            }
            #expect(!FileManager.default.fileExists(atPath: pred.appendingPathComponent("summary.json").path))
        }
    }

    @Test("different shapes or geometry name the case; an unreadable file is named")
    func badInput() throws {
        try TestSupport.withTemporaryFolder { folder in
            let pred = folder.appendingPathComponent("pred"), ref = folder.appendingPathComponent("ref")
            for url in [pred, ref] { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
            let labels = [Float](repeating: 1, count: 4 * 5 * 6)
            try TestSupport.writeLabels(labels, shape: [4, 5, 6], to: ref.appendingPathComponent("a.nii.gz"))
            try TestSupport.writeLabels(labels, shape: [4, 6, 5], to: pred.appendingPathComponent("a.nii.gz"))
            #expect {
                try FolderEvaluation.evaluateFolder(reference: ref, prediction: pred, options: EvaluationOptions(labels: [1]))
            } throws: { error in
                (error as? EvaluationError).map { "\($0)".contains("'a'") && "\($0)".contains("[4, 6, 5]") } ?? false
            }
            try TestSupport.writeLabels(labels, shape: [4, 5, 6], spacing: [2, 1, 1], to: pred.appendingPathComponent("a.nii.gz"))
            #expect {
                try FolderEvaluation.evaluateFolder(reference: ref, prediction: pred, options: EvaluationOptions(labels: [1]))
            } throws: { error in
                guard case let .geometryMismatch(name, _)? = error as? EvaluationError else { return false }
                return name == "a"
            }
            // Geometry checks can be switched off (v1 checks only shapes).
            let relaxed = EvaluationOptions(labels: [1], checksGeometry: false)
            let summary = try FolderEvaluation.evaluateFolder(reference: ref, prediction: pred, options: relaxed)
            #expect(summary.meanDice(of: 1) == 1)
            try Data("not a nifti".utf8).write(to: pred.appendingPathComponent("a.nii.gz"))
            #expect {
                try FolderEvaluation.evaluateFolder(reference: ref, prediction: pred, options: relaxed)
            } throws: { error in
                guard case let .unreadableFile(path, _)? = error as? EvaluationError else { return false }
                return path.hasSuffix("pred/a.nii.gz")
            }
        }
    }

    @Test("foreground_mean rewrites the file exactly as v1 does (golden from v1's foreground_mean)")
    func foregroundMeanGolden() throws {
        try TestSupport.withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("summary.json")
            try FileManager.default.copyItem(
                at: TestSupport.fixtures.appendingPathComponent("postprocessing/validation_raw/summary.json"), to: url)
            try EvaluationSummary.addForegroundMean(toFileAt: url)
            let golden = TestSupport.repositoryRoot.appendingPathComponent(
                "Tests/Golden/evaluation/foreground_mean_validation_raw.json")
            expectSameSummary(try JSONValue.read(url), try JSONValue.read(golden), relative: 0)
            #expect(try String(contentsOf: url, encoding: .utf8) == String(contentsOf: golden, encoding: .utf8))
        }
    }

    @Test("foreground_mean adds results.mean.mean over labels other than 0")
    func foregroundMean() throws {
        let summary = try EvaluationSummary.read(Self.evalReference.appendingPathComponent("summary.json"))
            .addingForegroundMean()
        let dice = try #require(summary.foregroundMean?["Dice"])
        #expect(TestSupport.isClose(dice, (summary.meanDice(of: 1) + summary.meanDice(of: 2)) / 2, relative: 1e-15))
        let json = summary.jsonValue()
        #expect(json["results"]?["mean"]?["mean"]?["Dice"] != nil)
        let reread = try EvaluationSummary.make(from: JSONValue.parse(summary.serialized()))
        #expect(reread.foregroundMean?["Dice"] == dice && reread.mean.count == 2)
    }
}
