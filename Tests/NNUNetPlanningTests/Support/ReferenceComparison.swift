import Foundation
import NNUNetCore
import Testing
@testable import NNUNetPlanning

/// Compares a plan-and-preprocess output tree with nnU-Net v1's golden files in `reference/<Task>/`
/// (formats described in the reference README).
enum ReferenceComparison {
    /// Plans: every key of every stage (integers exactly, floats within 1e-6 relative). Returns the differences.
    static func plansDifferences(ours: URL, reference: URL) throws -> [String] {
        guard var a = try PlanningTestSupport.json(ours) as? [String: Any],
              var b = try PlanningTestSupport.json(reference) as? [String: Any] else { return ["unreadable plans"] }
        let files = (a.removeValue(forKey: "list_of_npz_files") as? [String]) ?? []
        a["case_identifiers"] = files.map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension }
        a["dataset_properties"] = b["dataset_properties"]
        a["preprocessed_data_folder"] = ((a["preprocessed_data_folder"] as? String ?? "") as NSString).lastPathComponent
        b.removeValue(forKey: "num_stages_created")
        b.removeValue(forKey: "has_3d_lowres")
        return PlanningTestSupport.differences(a, b)
    }

    static func datasetPropertiesDifferences(ours: URL, reference: URL) throws -> [String] {
        guard var a = try PlanningTestSupport.json(ours) as? [String: Any],
              var b = try PlanningTestSupport.json(reference) as? [String: Any] else { return ["unreadable"] }
        a.removeValue(forKey: "case_identifiers")
        b.removeValue(forKey: "source")
        return PlanningTestSupport.differences(a, b)
    }

    /// Per case: the cropper's properties (exact) and the cropped array's shape and −1 count.
    static func croppingDifferences(croppedFolder: URL, reference: URL) throws -> [String] {
        guard let cases = try PlanningTestSupport.json(reference) as? [String: [String: Any]] else { return ["?"] }
        var out: [String] = []
        for (id, expected) in cases.sorted(by: { $0.key < $1.key }) {
            guard let ours = try PlanningTestSupport.json(croppedFolder.appendingPathComponent(id + ".json"))
                as? [String: Any] else { out.append("\(id): no json"); continue }
            for key in ["original_size_of_raw_data", "original_spacing", "itk_spacing", "itk_direction", "crop_bbox",
                        "classes", "size_after_cropping", "use_nonzero_mask_for_norm"] {
                out += PlanningTestSupport.differences(ours[key], expected[key], path: id + "." + key)
            }
            out += PlanningTestSupport.differences(ours["itk_origin"], expected["itk_origin"], path: id + ".itk_origin",
                                                   relative: 1e-5)
            let array = try MappedNPY(croppedFolder.appendingPathComponent(id + ".npy"))
            out += PlanningTestSupport.differences(array.shape, expected["cropped_npz_shape"], path: id + ".shape")
            let minusOnes = try array.withFloat32Buffer { b in
                b[(b.count - b.count / array.shape[0])...].filter { $0 == -1 }.count
            }
            out += PlanningTestSupport.differences(minusOnes, expected["cropped_seg_minus1_count"], path: id + ".-1")
        }
        return out
    }

    /// Per stage folder and case: shape, label counts and class location counts exactly; channel mean/std within
    /// 1e-4 absolute, min/max within 1e-5 relative (float interpolation and float32 z-scoring).
    static func preprocessedDifferences(taskFolder: URL, reference: URL) throws -> [String] {
        guard let stages = try PlanningTestSupport.json(reference) as? [String: [String: [String: Any]]] else {
            return ["unreadable summary"]
        }
        var out: [String] = []
        for (stage, cases) in stages.sorted(by: { $0.key < $1.key }) {
            let folder = taskFolder.appendingPathComponent(stage)
            for (id, expected) in cases.sorted(by: { $0.key < $1.key }) {
                let path = stage + "/" + id
                let array = try NPY.read(folder.appendingPathComponent(id + ".npy"))
                out += PlanningTestSupport.differences(array.shape, expected["shape"], path: path + ".shape")
                let values = array.floats()
                let n = values.count / max(array.shape[0], 1)
                for (c, stats) in ((expected["channels"] as? [[String: Double]]) ?? []).enumerated() {
                    let channel = values[(c * n)..<((c + 1) * n)].map(Double.init)
                    let mean = channel.reduce(0, +) / Double(n)
                    let std = (channel.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)).squareRoot()
                    if abs(mean - (stats["mean"] ?? .nan)) > 1e-4 { out.append("\(path) mean \(mean) vs \(stats["mean"]!)") }
                    if abs(std - (stats["std"] ?? .nan)) > 1e-4 { out.append("\(path) std \(std) vs \(stats["std"]!)") }
                    for (key, value) in [("min", channel.min() ?? 0), ("max", channel.max() ?? 0)] {
                        let e = stats[key] ?? .nan
                        if abs(value - e) > 1e-5 * max(abs(e), 1) { out.append("\(path) \(key) \(value) vs \(e)") }
                    }
                }
                var counts: [String: Int] = [:]
                for v in values[((array.shape[0] - 1) * n)...] { counts[String(Int(v)), default: 0] += 1 }
                out += PlanningTestSupport.differences(counts, expected["seg_counts"], path: path + ".seg_counts")
                let props = try PreprocessedCaseProperties.load(from: folder.appendingPathComponent(id + ".json"))
                var locationCounts: [String: Int] = [:]
                for (k, v) in props.classLocations { locationCounts[String(k)] = v.count }
                out += PlanningTestSupport.differences(locationCounts, expected["class_locations_count"],
                                                       path: path + ".class_locations_count")
                out += PlanningTestSupport.differences(props.sizeAfterResampling, expected["size_after_resampling"],
                                                       path: path + ".size_after_resampling")
                out += PlanningTestSupport.differences(props.spacingAfterResampling,
                                                       expected["spacing_after_resampling"],
                                                       path: path + ".spacing_after_resampling")
            }
        }
        return out
    }

    /// All checks for one task; `plans` maps our plans file names to the reference file names.
    static func check(paths: NNUNetPaths, task: String, reference: URL, plans: [(String, String)]) throws {
        let preprocessed = try paths.preprocessedData().appendingPathComponent(task)
        let cropped = try paths.croppedData().appendingPathComponent(task)
        for (ours, theirs) in plans {
            let diff = try plansDifferences(ours: preprocessed.appendingPathComponent(ours),
                                            reference: reference.appendingPathComponent(theirs))
            #expect(diff.isEmpty, "\(ours): \(diff.prefix(10))")
        }
        let properties = try datasetPropertiesDifferences(
            ours: preprocessed.appendingPathComponent("dataset_properties.json"),
            reference: reference.appendingPathComponent("dataset_properties.json"))
        #expect(properties.isEmpty, "dataset_properties: \(properties.prefix(10))")
        let cropping = try croppingDifferences(croppedFolder: cropped,
                                               reference: reference.appendingPathComponent("cropping.json"))
        #expect(cropping.isEmpty, "cropping: \(cropping.prefix(10))")
        let summary = try preprocessedDifferences(taskFolder: preprocessed,
                                                  reference: reference.appendingPathComponent("preprocessed_summary.json"))
        #expect(summary.isEmpty, "preprocessed: \(summary.prefix(10))")
    }
}
