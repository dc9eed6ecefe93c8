import Foundation
import NNUNetPlanning

/// Plans files for the benchmarks: ours, v1's, or the JSON dumps of nnU-Net's reference set, which replace the
/// embedded fingerprint by the text "see dataset_properties.json" (the fingerprint is the sibling file). The network
/// benchmarks need only the architecture, so such a dump is read with its sibling fingerprint when present and without
/// the fingerprint otherwise.
enum ReferencePlans {
    static func load(from url: URL) throws -> Plans {
        let data = try Data(contentsOf: url)
        guard var object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              object["dataset_properties"] is String else {
            return try Plans.load(from: url)
        }
        let sibling = url.deletingLastPathComponent().appendingPathComponent("dataset_properties.json")
        if FileManager.default.fileExists(atPath: sibling.path) {
            object["dataset_properties"] = try JSONSerialization.jsonObject(with: Data(contentsOf: sibling))
        } else {
            object.removeValue(forKey: "dataset_properties")
        }
        return try JSONDecoder().decode(Plans.self, from: JSONSerialization.data(withJSONObject: object))
    }
}
