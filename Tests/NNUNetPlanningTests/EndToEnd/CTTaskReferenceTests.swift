import Foundation
import NNUNetCore
import Testing
@testable import NNUNetPlanning

/// plan-and-preprocess on the raw CT task of `Tests/Fixtures/v1_ct_model` (`raw/Task902_CTSpheres`: int16 Hounsfield
/// units, anisotropic spacing), compared with what nnU-Net v1.7.1's `nnUNet_plan_and_preprocess` wrote for the same
/// files (`planning/` and `nnUNetPlansv2.1_plans_3D.pkl`; see the fixture's README.md).
///
/// Everything is compared exactly. v1 keeps the CT intensity statistics as `np.float32` values computed with numpy's
/// float32 arithmetic; ours must be the same float32 values (held as the Doubles equal to them).
@Suite(.serialized) struct CTTaskReferenceTests {
    static let fixture = PlanningTestSupport.fixtures.appendingPathComponent("v1_ct_model")
    static let task = "Task902_CTSpheres"
    /// The one preprocessed case of the 3d_fullres stage stored from v1's run.
    static let preprocessedCase = "ctspheres_005"

    /// The v1 pickle `path` of the fixture as Foundation JSON objects (keys as strings, arrays as lists), every
    /// float64 exactly.
    static func v1(_ path: String) throws -> Any {
        try ExactJSON.parse(PickleReader.read(contentsOf: fixture.appendingPathComponent(path)).jsonData())
    }

    /// A JSON file of ours as Foundation objects, every float64 exactly.
    static func ours(_ url: URL) throws -> Any { try ExactJSON.parse(Data(contentsOf: url)) }

    /// Every number of `value` that is not a float32 value (its Double differs from the Double of its Float).
    static func notFloat32(_ value: Any?, path: String) -> [String] {
        switch value {
        case let object as [String: Any]:
            return object.keys.sorted().flatMap { notFloat32(object[$0], path: path + "." + $0) }
        case let number as NSNumber:
            let d = number.doubleValue
            return Double(Float(d)) == d ? [] : ["\(path): \(d) is not a float32 value"]
        default:
            return ["\(path): \(String(describing: value)) is not a number"]
        }
    }

    @Test("Task902_CTSpheres: fingerprint, plans and a preprocessed case equal nnU-Net v1's exactly")
    func ctSpheresMatchesNNUNetV1() throws {
        try PlanningTestSupport.withTemporaryFolder { root in
            let paths = try PlanningTestSupport.makeRawTask(
                copying: Self.fixture.appendingPathComponent("raw/\(Self.task)"), as: Self.task, in: root)
            var options = PlanAndPreprocess.Options()
            options.planner2D = nil  // v1 ran with -pl2d None
            options.threadsFullres = 2
            options.threadsLowres = 2
            try PlanAndPreprocess.run(taskName: Self.task, paths: paths, options: options)
            let preprocessed = try paths.preprocessedData().appendingPathComponent(Self.task)
            let cropped = try paths.croppedData().appendingPathComponent(Self.task)

            // 1. The fingerprint: all_sizes, all_spacings, all_classes, modalities, size_reductions and every
            //    intensity statistic, pooled and per case, exactly.
            let theirProperties = try #require(try Self.v1("planning/dataset_properties.pkl") as? [String: Any])
            for file in [preprocessed, cropped].map({ $0.appendingPathComponent("dataset_properties.json") }) {
                var ours = try #require(try Self.ours(file) as? [String: Any])
                ours.removeValue(forKey: "case_identifiers")
                let diff = PlanningTestSupport.differences(ours, theirProperties, relative: 0)
                #expect(diff.isEmpty, "\(file.path): \(diff)")
            }
            let theirIntensity = try Self.v1("planning/intensityproperties.pkl")
            let ourIntensity = try Self.ours(cropped.appendingPathComponent("intensityproperties.json"))
            let intensityDiff = PlanningTestSupport.differences(ourIntensity, theirIntensity, relative: 0)
            #expect(intensityDiff.isEmpty, "intensityproperties: \(intensityDiff)")
            #expect(Self.notFloat32(ourIntensity, path: "intensityproperties").isEmpty)
            // v1's intensityproperties.pkl is the same dict as dataset_properties['intensityproperties'].
            #expect(PlanningTestSupport.differences(theirIntensity, theirProperties["intensityproperties"],
                                                    relative: 0).isEmpty)
            let pooled = try #require(try DatasetProperties.load(from: preprocessed
                .appendingPathComponent("dataset_properties.json")).intensityProperties?[0]?.pooled)
            #expect(pooled.mean == Double(Float(330.3035)) && pooled.sd == Double(Float(388.88806)))
            #expect(pooled.percentile00_5 == 30 && pooled.percentile99_5 == Double(Float(1187.64)))

            // 2. The plans, every field (before v1's hand edit: patch [24, 56, 64], 32 base features), exactly.
            let ourPlansFile = preprocessed.appendingPathComponent("nnUNetPlansv2.1_plans_3D.json")
            let theirPlansFile = root.appendingPathComponent("v1_plans_3D.json")
            try PickleReader.read(contentsOf: Self.fixture.appendingPathComponent("nnUNetPlansv2.1_plans_3D.pkl"))
                .jsonData().write(to: theirPlansFile)  // shortest round-trip floats: exact
            let plansDiff = try Self.plansDifferences(ours: ourPlansFile, theirs: theirPlansFile)
            #expect(plansDiff.isEmpty, "plans: \(plansDiff)")
            let plans = try Plans.load(from: ourPlansFile)
            let stage = try #require(plans.stage(0))
            #expect(plans.transposeForward == [0, 1, 2] && stage.patchSize == [24, 56, 64])
            #expect(stage.convKernelSizes == [[1, 3, 3], [1, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]])
            #expect(stage.poolOpKernelSizes == [[1, 2, 2], [1, 2, 2], [2, 2, 2], [2, 1, 2]])

            // 3. One preprocessed case of the 3d_fullres stage: the data (CT-normalised image and segmentation)
            //    bit for bit, and the properties including the sampled class locations.
            let stageFolder = preprocessed.appendingPathComponent("nnUNetData_plans_v2.1_stage0")
            let theirData = try NPZ.read(Self.fixture.appendingPathComponent(
                "planning/nnUNetData_plans_v2.1_stage0/\(Self.preprocessedCase).npz"), member: "data")
            let ourData = try NPY.read(stageFolder.appendingPathComponent(Self.preprocessedCase + ".npy"))
            #expect(ourData.shape == theirData.shape)
            let a = ourData.floats(), b = theirData.floats()
            if a.count == b.count {
                let differing = zip(a, b).filter { $0.bitPattern != $1.bitPattern }
                let count = differing.count, largest = differing.map { abs($0 - $1) }.max() ?? 0
                #expect(count == 0, "\(count) of \(a.count) values differ from v1's, by up to \(largest)")
            }
            let theirCase = try #require(try Self.v1(
                "planning/nnUNetData_plans_v2.1_stage0/\(Self.preprocessedCase).pkl") as? [String: Any])
            var ourCase = try #require(try Self.ours(
                stageFolder.appendingPathComponent(Self.preprocessedCase + ".json")) as? [String: Any])
            // Paths: v1 stored them relative to its working folder, ours are absolute; the file names must agree.
            var theirCaseComparable = theirCase
            for key in ["list_of_data_files", "seg_file"] {
                ourCase[key] = Self.fileNames(ourCase[key])
                theirCaseComparable[key] = Self.fileNames(theirCase[key])
            }
            let caseDiff = PlanningTestSupport.differences(ourCase, theirCaseComparable, relative: 0)
            #expect(caseDiff.isEmpty, "\(Self.preprocessedCase).pkl: \(caseDiff.prefix(10))")
        }
    }

    /// File names of a path or a list of paths.
    static func fileNames(_ value: Any?) -> Any? {
        if let path = value as? String { return (path as NSString).lastPathComponent }
        if let list = value as? [Any] { return list.map { fileNames($0) ?? NSNull() } }
        return value
    }

    /// File names without their extension, of a path or a list of paths.
    static func stems(_ value: Any?) -> Any? {
        if let path = value as? String { return ((path as NSString).lastPathComponent as NSString).deletingPathExtension }
        if let list = value as? [Any] { return list.map { stems($0) ?? NSNull() } }
        return value
    }

    /// Our plans JSON against v1's plans pickle (as JSON): every key exactly, except the paths, which differ by
    /// design: ours are absolute, v1's relative, and our preprocessed cases are `.npy` files where v1's are `.npz`
    /// (`list_of_npz_files` is compared by case, `preprocessed_data_folder` by folder name).
    static func plansDifferences(ours: URL, theirs: URL) throws -> [String] {
        guard var a = try Self.ours(ours) as? [String: Any],
              var b = try Self.ours(theirs) as? [String: Any] else { return ["unreadable plans"] }
        a["list_of_npz_files"] = stems(a["list_of_npz_files"])
        b["list_of_npz_files"] = stems(b["list_of_npz_files"])
        a["preprocessed_data_folder"] = fileNames(a["preprocessed_data_folder"])
        b["preprocessed_data_folder"] = fileNames(b["preprocessed_data_folder"])
        // Ours adds the sorted case identifiers to dataset_properties (v1's lists follow them implicitly).
        if var properties = a["dataset_properties"] as? [String: Any] {
            properties.removeValue(forKey: "case_identifiers")
            a["dataset_properties"] = properties
        }
        return PlanningTestSupport.differences(a, b, relative: 0)
    }
}

/// JSON parsed with `JSONDecoder`, which reads every float64 exactly; Foundation's `JSONSerialization` on Linux can
/// miss the last bits (it reads 1079.6199951171875 as 1079.619995117188), which an exact comparison cannot allow.
enum ExactJSON: Decodable {
    case null, bool(Bool), int(Int), double(Double), string(String), array([ExactJSON]), object([String: ExactJSON])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let v = try? c.decode(Bool.self) { self = .bool(v) }
        else if let v = try? c.decode(Int.self) { self = .int(v) }
        else if let v = try? c.decode(Double.self) { self = .double(v) }
        else if let v = try? c.decode(String.self) { self = .string(v) }
        else if let v = try? c.decode([ExactJSON].self) { self = .array(v) }
        else { self = .object(try c.decode([String: ExactJSON].self)) }
    }

    /// As the Foundation objects ``PlanningTestSupport/differences(_:_:path:relative:)`` compares.
    var foundation: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let v): return NSNumber(value: v)
        case .int(let v): return NSNumber(value: v)
        case .double(let v): return NSNumber(value: v)
        case .string(let v): return v
        case .array(let v): return v.map(\.foundation)
        case .object(let v): return v.mapValues(\.foundation)
        }
    }

    static func parse(_ data: Data) throws -> Any { try JSONDecoder().decode(ExactJSON.self, from: data).foundation }
}
