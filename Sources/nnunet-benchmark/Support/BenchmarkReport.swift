import Foundation
import NNUNetCore

/// How the benchmarks hand out their results.
enum BenchmarkReport {
    /// Prints `result` as one JSON object with sorted keys (`--json`), or as sorted `key: value` lines.
    static func emit(_ result: [String: Any], json: Bool) throws {
        if json {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for key in result.keys.sorted() { print("\(key): \(result[key] ?? "")") }
        }
    }

    /// The number of voxels in which two label maps differ, or −1 when their shapes differ.
    static func differingVoxels(_ ours: URL, _ theirs: URL) throws -> Int {
        let a = try NIfTI.read(ours), b = try NIfTI.read(theirs)
        return a.shape == b.shape ? zip(a.data, b.data).filter { $0 != $1 }.count : -1
    }
}
