import Foundation
import Testing
@testable import NNUNetEvaluation

@Suite("JSON, MD5 and summary ids")
struct JSONTests {
    @Test("Python float repr", arguments: [
        (1e-05, "1e-05"), (1e16, "1e+16"), (1234567890123456.0, "1234567890123456.0"), (0.0001, "0.0001"),
        (Double.leastNonzeroMagnitude, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (123456789012345678.0, "1.2345678901234568e+17"),
        (1.0, "1.0"), (0.1 + 0.2, "0.30000000000000004"), (-2.5, "-2.5"), (8362.0, "8362.0"), (0.0, "0.0"),
        (Double.nan, "NaN"), (-Double.infinity, "-Infinity"), (0.9673295454545454, "0.9673295454545454"),
    ])
    func pythonRepr(value: Double, expected: String) {
        #expect(JSONValue.pythonRepr(value) == expected)
    }

    @Test("MD5 and SHA-256 known vectors")
    func digests() {
        #expect(MD5.hexDigest(Array("".utf8)) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(MD5.hexDigest(Array("The quick brown fox jumps over the lazy dog".utf8))
                == "9e107d9d372bb6826bd81d3542a419d6")
        #expect(SHA256.hexDigest(Array("abc".utf8))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hexDigest([UInt8](repeating: 0x61, count: 1000)).hasPrefix("41edece42d63e8d9bf515a9ba6932e1c"))
    }

    /// Golden id from Python 3.11 (`json.dumps` + `hashlib.md5`, the exact expression in v1's `aggregate_scores`) on
    /// the same dictionary: see the test body for the values.
    @Test("summary id equals v1's MD5 of json.dumps")
    func summaryID() {
        let case1 = CaseScores(labels: [
            LabelScores(label: "2", values: ["Dice": .nan, "Recall": 1e-05, "Total Positives Test": 12]),
            LabelScores(label: "1", values: ["Dice": 0.1 + 0.2, "Recall": 1234567890123456.0, "Total Positives Test": 3]),
        ], test: "/p/caseé.nii.gz", reference: "/r/a.nii.gz")
        let mean = [LabelScores(label: "2", values: ["Dice": .nan, "Recall": 1e-05, "Total Positives Test": 12]),
                    LabelScores(label: "1", values: ["Dice": 0.1 + 0.2, "Recall": 1e16, "Total Positives Test": 3])]
        let summary = EvaluationSummary(name: "n", description: "d", author: "Fabian", task: "t",
                                        timestamp: "2026-01-02 03:04:05.678901", id: "", cases: [case1], mean: mean)
        let dump = summary.jsonValue(includingID: false).serialized()
        #expect(dump.contains(#""test": "/p/case\u00e9.nii.gz""#))
        #expect(dump.contains(#""Recall": 1e+16, "Total Positives Test": 3.0}"#))
        #expect(summary.computedID() == "b5ae3ddbc002")
    }

    @Test("v1's summary.json re-serialises byte for byte (sorted keys, indent 4, NaN tokens)")
    func roundTripReferenceFiles() throws {
        for path in ["eval/summary.json", "postprocessing/validation_raw/summary.json",
                     "postprocessing/validation_raw_postprocessed/summary.json", "postprocessing/postprocessing.json"] {
            let url = TestSupport.fixtures.appendingPathComponent(path)
            let text = try String(contentsOf: url, encoding: .utf8)
            let parsed = try JSONValue.parse(text)
            #expect(parsed.serialized(sortKeys: true, indent: 4) == text, "\(path)")
        }
    }

    @Test("lenient reader accepts NaN/Infinity and rejects garbage")
    func lenientReader() throws {
        let value = try JSONValue.parse(#"{"a": [NaN, Infinity, -Infinity, 1, 2.5, "x\n\u00e9"], "b": {}}"#)
        guard case let .array(items)? = value["a"] else { Issue.record("no array"); return }
        #expect(items[0].doubleValue?.isNaN == true)
        #expect(items[1] == .double(.infinity) && items[2] == .double(-.infinity))
        #expect(items[3] == .int(1) && items[4] == .double(2.5) && items[5] == .string("x\né"))
        #expect(throws: EvaluationError.self) { try JSONValue.parse(#"{"a": 1"#) }
        #expect(throws: EvaluationError.self) { try JSONValue.parse("[1] x") }
    }
}
