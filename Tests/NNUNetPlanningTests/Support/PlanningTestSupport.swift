import Foundation
import NNUNetCore
@testable import NNUNetPlanning

/// Locations and helpers shared by the planning tests.
enum PlanningTestSupport {
    /// The repository root (four levels above this file).
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared` next to the checkout: real data and nnU-Net v1's golden outputs.
    static let shared = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
    static let hippocampus = shared.appendingPathComponent("data/msd_hippocampus")
    static let reference = shared.appendingPathComponent("reference")

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
