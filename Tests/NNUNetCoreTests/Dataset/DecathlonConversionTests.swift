import Foundation
import Testing
@testable import NNUNetCore

/// `Tests/Fixtures/conversion`: a 4D MSD task and what nnU-Net v1's split_4d wrote for it.
@Suite("MSD 4D conversion")
struct DecathlonConversionTests {
    static let typeNames: [String: NIfTIDataType] = [
        "32-bit float": .float32, "8-bit unsigned integer": .uint8, "16-bit signed integer": .int16,
        "64-bit float": .float64,
    ]

    @Test("Task92_TwoChannel converts to the same files, channels and geometry as nnU-Net did")
    func fourDimensional() throws {
        let reference = TestSupport.fixtures.appendingPathComponent("conversion")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: reference
            .appendingPathComponent("Task922_from_msd.json"))) as? [String: Any])
        let files = try #require(json["files"] as? [String: [String: Any]])
        try TestSupport.withTemporaryFolder { folder in
            let task = try DecathlonConverter.convert(
                msdFolder: reference.appendingPathComponent("Task92_TwoChannel"), outputTaskID: 922,
                rawDataFolder: folder, threads: 2)
            #expect(task.lastPathComponent == json["output_folder"] as? String)
            var produced: [String] = []
            for sub in ["imagesTr", "imagesTs", "labelsTr"] {
                produced += try RawTask.niftiFiles(in: task.appendingPathComponent(sub)).map { "\(sub)/\($0)" }
            }
            #expect(produced.sorted() == files.keys.sorted())
            for (name, expected) in files {
                let volume = try NIfTI.read(task.appendingPathComponent(name))
                #expect(volume.channels == 1)
                #expect(volume.shape == expected["shape_zyx"] as? [Int], "\(name)")
                let g = volume.geometry
                for (key, value) in [("spacing_xyz", g.itkSpacing), ("origin_xyz", g.itkOrigin),
                                     ("direction", g.itkDirection)] {
                    let want = try #require(expected[key] as? [Double])
                    #expect(zip(value, want).allSatisfy { abs($0 - $1) < 1e-6 }, "\(name) \(key): \(value) vs \(want)")
                }
                #expect(volume.sourceDataType == Self.typeNames[expected["pixel_type"] as? String ?? ""], "\(name)")
                let sum = volume.data.reduce(0.0) { $0 + Double($1) }
                let wantSum = try #require(expected["sum"] as? Double)
                #expect(abs(sum - wantSum) <= 1e-9 * abs(wantSum) + 1e-6, "\(name) sum \(sum) vs \(wantSum)")
                // min/max are float32 values; the JSON holds them to ~16 significant digits.
                for (value, key) in [(volume.data.min(), "min"), (volume.data.max(), "max")] {
                    let want = try #require(expected[key] as? Double)
                    #expect(abs(Double(value ?? .nan) - want) <= 1e-12 * max(1, abs(want)), "\(name) \(key)")
                }
            }
        }
    }

    @Test("a folder that is not TaskXX_NAME needs -output_task_id; names come from dataset.json")
    func naming() throws {
        try TestSupport.withTemporaryFolder { folder in
            let msd = folder.appendingPathComponent("my_msd_copy")
            let raw = folder.appendingPathComponent("raw")
            try FileManager.default.copyItem(at: TestSupport.fixtures.appendingPathComponent(
                "conversion/Task92_TwoChannel"), to: msd)
            #expect(throws: CoreError.self) {
                try DecathlonConverter.convert(msdFolder: msd, rawDataFolder: raw)
            }
            let task = try DecathlonConverter.convert(msdFolder: msd, outputTaskID: 555, rawDataFolder: raw)
            #expect(task.lastPathComponent == "Task555_TwoChannel")
            // Converting again replaces the task cleanly.
            let again = try DecathlonConverter.convert(msdFolder: msd, outputTaskID: 555, rawDataFolder: raw)
            #expect(again.path == task.path)
            #expect(try FileManager.default.contentsOfDirectory(atPath: raw.path) == ["Task555_TwoChannel"])
        }
    }

    @Test("TaskXX_NAME parsing and lookup by id")
    func taskNames() throws {
        #expect(TaskLocator.parse("Task04_Hippocampus")! == (4, "Hippocampus"))
        #expect(TaskLocator.parse("Task901_Spheres_x")! == (901, "Spheres_x"))
        #expect(TaskLocator.parse("Hippocampus") == nil)
        #expect(TaskLocator.parse("Task_x") == nil)
        #expect(TaskLocator.folderName(id: 4, name: "Hippocampus") == "Task004_Hippocampus")
        try TestSupport.withTemporaryFolder { folder in
            let paths = NNUNetPaths.inside(folder)
            let raw = try paths.rawData()
            try FileManager.default.createDirectory(at: raw.appendingPathComponent("Task004_Hippocampus"),
                                                    withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: paths.preprocessed!.appendingPathComponent("Task007_Other"),
                                                    withIntermediateDirectories: true)
            for spelling in ["4", "004", "Task004", "Task004_Hippocampus"] {
                #expect(try TaskLocator.resolve(spelling, paths: paths) == "Task004_Hippocampus")
            }
            #expect(try TaskLocator.resolve("7", paths: paths) == "Task007_Other")
            #expect(throws: CoreError.self) { try TaskLocator.resolve("5", paths: paths) }
            try FileManager.default.createDirectory(at: raw.appendingPathComponent("Task004_Duplicate"),
                                                    withIntermediateDirectories: true)
            #expect(throws: CoreError.ambiguousTask(id: 4, names: ["Task004_Duplicate", "Task004_Hippocampus"])) {
                try TaskLocator.resolve("4", paths: paths)
            }
        }
    }

    @Test("unset environment variables are named in the error")
    func missingEnvironment() throws {
        let paths = NNUNetPaths.fromEnvironment([:])
        #expect(throws: CoreError.missingEnvironmentVariable(name: "nnUNet_raw_data_base",
                                                             purpose: "the folder that holds nnUNet_raw_data")) {
            try paths.rawData()
        }
        let set = NNUNetPaths.fromEnvironment(["RESULTS_FOLDER": "/data/results"])
        let models = try set.trainedModels()
        #expect(models.path == "/data/results/nnUNet")
    }
}
