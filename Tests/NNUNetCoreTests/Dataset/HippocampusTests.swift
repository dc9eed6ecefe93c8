import Foundation
import Testing
@testable import NNUNetCore

/// Real data: `data/msd_hippocampus` of the optional test data (MSD Task04, CC BY-SA 4.0, 20 MB) and nnU-Net v1's
/// conversion of it.
@Suite("MSD Hippocampus: reading and conversion",
       TestSupport.requiresSharedData("data/msd_hippocampus", "reference/Task004_Hippocampus"))
struct HippocampusTests {
    struct Row {
        var shapeXYZ: [Int], spacingXYZ: [Double], imageType: String, labelType: String
        var imageMin: Double, imageMax: Double, label1: Int, label2: Int
    }

    static func table() throws -> [String: Row] {
        let text = try String(contentsOf: TestSupport.hippocampus.appendingPathComponent("cases.tsv"), encoding: .utf8)
        var rows: [String: Row] = [:]
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: "\t").map(String.init)
            rows[f[0]] = Row(shapeXYZ: f[1...3].compactMap { Int($0) }, spacingXYZ: f[4...6].compactMap { Double($0) },
                             imageType: f[7], labelType: f[8], imageMin: Double(f[9]) ?? .nan,
                             imageMax: Double(f[10]) ?? .nan, label1: Int(f[11]) ?? -1, label2: Int(f[12]) ?? -1)
        }
        return rows
    }

    @Test("all 260 cases read with the shapes, spacings, dtypes and label counts of cases.tsv")
    func readAllCases() throws {
        let rows = try Self.table()
        #expect(rows.count == 260)
        let names = rows.keys.sorted()
        let failures = LockedValue<[String]>([])
        parallelFor(names.count, threads: 2) { range in
            for index in range {
                let name = names[index], row = rows[name]!
                do {
                    let image = try NIfTI.read(TestSupport.hippocampus.appendingPathComponent("imagesTr/\(name).nii.gz"))
                    let label = try NIfTI.read(TestSupport.hippocampus.appendingPathComponent("labelsTr/\(name).nii.gz"))
                    var problems: [String] = []
                    if image.shape != row.shapeXYZ.reversed() { problems.append("shape \(image.shape)") }
                    if image.geometry.itkSpacing != row.spacingXYZ { problems.append("spacing") }
                    if image.sourceDataType?.description != row.imageType { problems.append("image dtype") }
                    if label.sourceDataType?.description != row.labelType { problems.append("label dtype") }
                    let minimum = Double(image.data.min() ?? .nan), maximum = Double(image.data.max() ?? .nan)
                    if abs(minimum - row.imageMin) > 0.01 || abs(maximum - row.imageMax) > 0.01 * max(1, row.imageMax) {
                        problems.append("intensity range \(minimum)...\(maximum)")
                    }
                    let ones = label.data.filter { $0 == 1 }.count, twos = label.data.filter { $0 == 2 }.count
                    if ones != row.label1 || twos != row.label2 { problems.append("label counts \(ones)/\(twos)") }
                    if label.shape != image.shape || !label.geometry.isClose(to: image.geometry) {
                        problems.append("label geometry")
                    }
                    if !problems.isEmpty { failures.withLock { $0.append("\(name): \(problems)") } }
                } catch {
                    failures.withLock { $0.append("\(name): \(error)") }
                }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
    }

    @Test("ITK geometry of hippocampus_001 equals what nnU-Net's conversion recorded")
    func referenceGeometry() throws {
        let data = try Data(contentsOf: TestSupport.reference.appendingPathComponent(
            "Task004_Hippocampus/conversion.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let example = try #require(json["example_hippocampus_001_0000"] as? [String: Any])
        let image = try NIfTI.read(TestSupport.hippocampus.appendingPathComponent("imagesTr/hippocampus_001.nii.gz"))
        #expect(image.shape.reversed() == (example["itk_size_xyz"] as? [Int]))
        #expect(image.geometry.itkSpacing == (example["itk_spacing_xyz"] as? [Double]))
        #expect(image.geometry.itkOrigin == (example["itk_origin_xyz"] as? [Double]))
        #expect(image.geometry.itkDirection == (example["itk_direction"] as? [Double]))
    }

    @Test("convert-decathlon-task: 260 _0000 images equal to the originals, labels and dataset.json copied")
    func conversion() throws {
        try TestSupport.withTemporaryFolder { folder in
            let before = TestSupport.snapshot(TestSupport.hippocampus)
            let task = try DecathlonConverter.convert(msdFolder: TestSupport.hippocampus, outputTaskID: 4,
                                                      rawDataFolder: folder, threads: 2)
            #expect(task.lastPathComponent == "Task004_Hippocampus")
            #expect(TestSupport.snapshot(TestSupport.hippocampus) == before, "the input folder was modified")
            let images = try RawTask.niftiFiles(in: task.appendingPathComponent("imagesTr"))
            #expect(images.count == 260)
            #expect(images.allSatisfy { $0.hasSuffix("_0000.nii.gz") })
            #expect(try RawTask.niftiFiles(in: task.appendingPathComponent("imagesTs")) == ["hippocampus_118_0000.nii.gz"])
            #expect(try RawTask.niftiFiles(in: task.appendingPathComponent("labelsTr")).count == 260)
            #expect(try Data(contentsOf: task.appendingPathComponent("dataset.json"))
                    == Data(contentsOf: TestSupport.hippocampus.appendingPathComponent("dataset.json")))
            // Voxels and geometry equal the originals (the copies are in fact byte-identical, as in v1).
            for name in images {
                let original = TestSupport.hippocampus.appendingPathComponent("imagesTr/"
                                                                               + name.replacingOccurrences(of: "_0000", with: ""))
                let converted = task.appendingPathComponent("imagesTr/\(name)")
                let a = try NIfTI.read(original), b = try NIfTI.read(converted)
                #expect(a == b, "\(name)")
            }
            // The converted task passes the integrity check, and lists its cases with _0000 files.
            let report = try DatasetIntegrity.verify(taskFolder: task, threads: 2)
            #expect(report.isOK, "\(report.problems)")
            #expect(report.trainingCases == 260 && report.testCases == 1)
            // Nothing but the task folder was left in the raw data folder (no partial staging folders).
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["Task004_Hippocampus"])
        }
    }
}
