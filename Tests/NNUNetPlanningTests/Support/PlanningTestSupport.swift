import Foundation
import NNUNetTestSupport
import Testing
import NNUNetCore
@testable import NNUNetPlanning

/// Locations and helpers shared by the planning tests.
enum PlanningTestSupport {
    static let repositoryRoot = OptionalTestData.repositoryRoot
    static let fixtures = OptionalTestData.fixtures
    static let sharedDataLocation = OptionalTestData.sharedDataLocation
    static let sharedData = OptionalTestData.sharedData
    static let reference = OptionalTestData.reference

    static func hasSharedData(_ path: String) -> Bool { OptionalTestData.hasSharedData(path) }

    static func requiresSharedData(_ paths: String..., sourceLocation: SourceLocation = #_sourceLocation)
        -> ConditionTrait {
        OptionalTestData.requiresSharedData(paths, sourceLocation: sourceLocation)
    }

    static let hippocampus = sharedDataLocation.appendingPathComponent("data/msd_hippocampus")

    /// Decodes a plans JSON of the reference set. Those files replace `dataset_properties` by the string
    /// "see dataset_properties.json" (reference README), which strict decoding refuses: the text of the sibling
    /// `dataset_properties.json` is put back in its place first (as text, so every number keeps its digits).
    static func loadReferencePlans(_ url: URL) throws -> Plans {
        let placeholder = "\"see dataset_properties.json\""
        var text = try String(contentsOf: url, encoding: .utf8)
        if text.contains(placeholder) {
            let properties = try String(contentsOf: url.deletingLastPathComponent()
                .appendingPathComponent("dataset_properties.json"), encoding: .utf8)
            text = text.replacingOccurrences(of: placeholder, with: properties)
        }
        return try JSONDecoder().decode(Plans.self, from: Data(text.utf8))
    }

    /// A fresh, empty folder that is removed when `body` returns.
    static func withTemporaryFolder<T>(_ body: (URL) throws -> T) throws -> T {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("nnunet-planning-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url)
    }

    /// Parses a JSON file into Foundation objects.
    static func json(_ url: URL) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url), options: [.fragmentsAllowed])
    }

    /// Differences between two parsed JSON values (integers exact, floats within `relative`), as readable paths.
    static func differences(_ a: Any?, _ b: Any?, path: String = "", relative: Double = 1e-6) -> [String] {
        switch (a, b) {
        case let (x as [String: Any], y as [String: Any]):
            var out: [String] = []
            for key in Set(x.keys).union(y.keys).sorted() {
                guard let xv = x[key], let yv = y[key] else { out.append("\(path).\(key): missing on one side"); continue }
                out += differences(xv, yv, path: path + "." + key, relative: relative)
            }
            return out
        case let (x as [Any], y as [Any]):
            guard x.count == y.count else { return ["\(path): \(x.count) vs \(y.count) entries"] }
            return zip(x, y).enumerated().flatMap { differences($1.0, $1.1, path: path + "[\($0)]", relative: relative) }
        case let (x as NSNumber, y as NSNumber):
            let dx = x.doubleValue, dy = y.doubleValue
            return abs(dx - dy) <= relative * max(abs(dx), abs(dy)) ? [] : ["\(path): \(dx) vs \(dy)"]
        case let (x as String, y as String):
            return x == y ? [] : ["\(path): '\(x)' vs '\(y)'"]
        case (is NSNull, is NSNull), (nil, nil):
            return []
        default:
            return ["\(path): \(String(describing: a)) vs \(String(describing: b))"]
        }
    }

    /// Lays out `nnUNet_raw_data/<task>` as a copy of `source` inside `root` and returns the paths.
    static func makeRawTask(copying source: URL, as task: String, in root: URL) throws -> NNUNetPaths {
        let paths = NNUNetPaths.inside(root)
        let raw = try paths.rawData()
        try FileManager.default.createDirectory(at: raw, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source, to: raw.appendingPathComponent(task))
        return paths
    }
}
