import ArgumentParser
import Foundation
import NNUNetCore
import Testing
@testable import nnunet_cli

/// `nnunet find-best-configuration` on a tiny fake results folder (no training): one fold, two cases, 3 classes.
@Suite("find-best-configuration command")
struct FindBestConfigurationCommandTests {
    static let task = "Task099_Cli"
    static let shape = [2, 3, 4]
    static let geometry = ImageGeometry(itkSpacing: [0.5, 1.25, 3], itkOrigin: [1, 2, 3],
                                        itkDirection: [1, 0, 0, 0, 1, 0, 0, 0, 1])

    static func truth(_ v: Int, _ caseIndex: Int) -> Int { (v / 3 + caseIndex) % 3 }

    /// A trainer folder: gt_niftis, fold_0/validation_raw with CASE.nii.gz/.npz/.pkl and a summary.json. 3d_fullres
    /// is right everywhere; 2d errs at every 5th voxel, which the ensemble with 3d_fullres corrects.
    static func writeModel(_ configuration: String, results: URL) throws {
        let folder = results.appendingPathComponent("nnUNet/\(configuration)/\(task)/nnUNetTrainerV2__nnUNetPlansv2.1")
        let gt = folder.appendingPathComponent("gt_niftis"), validation = folder.appendingPathComponent("fold_0/validation_raw")
        for url in [gt, validation] { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        let voxels = shape.reduce(1, *)
        func ints(_ v: [Int]) -> PickleValue { .list(v.map { .int($0) }) }
        func floats(_ v: [Double]) -> PickleValue { .tuple(v.map { .float($0) }) }
        let properties: [(String, PickleValue)] = [
            ("original_size_of_raw_data", ints(shape)), ("original_spacing", floats(geometry.spacing)),
            ("list_of_data_files", .list([])), ("seg_file", .none), ("itk_origin", floats(geometry.itkOrigin)),
            ("itk_spacing", floats(geometry.itkSpacing)), ("itk_direction", floats(geometry.itkDirection)),
            ("crop_bbox", .list(shape.map { ints([0, $0]) })), ("classes", ints([0, 1, 2])),
            ("size_after_cropping", ints(shape)), ("size_after_resampling", ints(shape)),
            ("spacing_after_resampling", floats(geometry.spacing)),
        ]
        for caseIndex in 0..<2 {
            let name = "case\(caseIndex)"
            let labels = (0..<voxels).map { truth($0, caseIndex) }
            var predicted = labels
            var softmax = [Float](repeating: Float(Float16(0.1)), count: 3 * voxels)
            for v in 0..<voxels {
                if configuration == "2d" && v % 5 == 0 {
                    predicted[v] = (labels[v] + 1) % 3
                    softmax[predicted[v] * voxels + v] = Float(Float16(0.6))
                    softmax[labels[v] * voxels + v] = Float(Float16(0.3))
                } else {
                    softmax[labels[v] * voxels + v] = Float(Float16(0.8))
                }
            }
            try NIfTI.write(Volume(data: labels.map(Float.init), shape: shape, geometry: geometry),
                            to: gt.appendingPathComponent(name + ".nii.gz"), dataType: .uint8)
            try NIfTI.write(Volume(data: predicted.map(Float.init), shape: shape, geometry: geometry),
                            to: validation.appendingPathComponent(name + ".nii.gz"), dataType: .uint8)
            try NPZ.write([("softmax", NPYArray(float16: softmax, shape: [3] + shape))],
                          to: validation.appendingPathComponent(name + ".npz"))
            try PickleWriter.write(.dict(properties.map { .init(key: .string($0.0), value: $0.1) }),
                                   to: validation.appendingPathComponent(name + ".pkl"))
        }
        // The consolidation only reads the labels of the fold's summary.
        try AtomicFile.write("""
            {"results": {"all": [], "mean": {"0": {"Dice": 1.0}, "1": {"Dice": 1.0}, "2": {"Dice": 1.0}}}}
            """, to: validation.appendingPathComponent("summary.json"))
    }

    static func withResults(_ body: (URL) throws -> Void) throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nnunet-cli-fbc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let results = scratch.appendingPathComponent("results")
        for configuration in ["2d", "3d_fullres"] { try writeModel(configuration, results: results) }
        try body(results)
    }

    @Test("v1 spellings parse; unknown configurations are refused")
    func parsing() throws {
        let command = try #require(try NNUNetCommand.parseAsRoot([
            "nnUNet_find_best_configuration", "-m", "2d", "3d_cascade_fullres", "-t", "4", "-tr", "A", "-ctr", "B",
            "-pl", "P", "-f", "0", "1", "--disable_ensembling", "--disable_postprocessing",
        ]) as? FindBestConfigurationCommand)
        #expect(command.models == [.twoD, .cascadeFullres] && command.tasks == ["4"] && command.folds == [0, 1])
        #expect(command.trainer == "A" && command.cascadeTrainer == "B" && command.plansIdentifier == "P")
        #expect(command.disableEnsembling && command.disablePostprocessing)
        #expect(throws: (any Error).self) { try NNUNetCommand.parseAsRoot(["find-best-configuration", "-m", "4d", "-t", "4"]) }
        #expect(throws: (any Error).self) { try NNUNetCommand.parseAsRoot(["find-best-configuration", "-m", "2d"]) }
    }

    @Test("runs on a results folder: tied best candidates both get their commands; files written")
    func running() throws {
        try Self.withResults { results in
            let command = try #require(try NNUNetCommand.parseAsRoot([
                "find-best-configuration", "-m", "2d", "3d_fullres", "-t", "99", "-f", "0", "--threads", "1",
            ]) as? FindBestConfigurationCommand)
            try command.run(paths: NNUNetPaths(rawDataBase: nil, preprocessed: nil, results: results))
            let ensemble = "ensemble_2d__nnUNetTrainerV2__nnUNetPlansv2.1--3d_fullres__nnUNetTrainerV2__nnUNetPlansv2.1"
            let folder = results.appendingPathComponent("nnUNet/ensembles/\(Self.task)")
            let pp = folder.appendingPathComponent("\(ensemble)/postprocessing.json")
            #expect(FileManager.default.fileExists(atPath: pp.path))
            let predict = "nnunet predict -i FOLDER_WITH_TEST_CASES -o OUTPUT_FOLDER_MODEL"
            let options = "-tr nnUNetTrainerV2 -ctr nnUNetTrainerV2CascadeFullRes"
            // 3d_fullres and the ensemble are both perfect (Dice 1): both are reported, in candidate order.
            #expect(try String(contentsOf: folder.appendingPathComponent("prediction_commands.txt"), encoding: .utf8) == """
                \(predict)1 \(options) -m 3d_fullres -p nnUNetPlansv2.1 -t \(Self.task)
                \(predict)1 \(options) -m 2d -p nnUNetPlansv2.1 -t \(Self.task) -z
                \(predict)2 \(options) -m 3d_fullres -p nnUNetPlansv2.1 -t \(Self.task) -z
                nnunet ensemble -f OUTPUT_FOLDER_MODEL1 OUTPUT_FOLDER_MODEL2 -o OUTPUT_FOLDER -pp \(pp.path)

                """)
            let csv = try String(contentsOf: folder.appendingPathComponent("summary.csv"), encoding: .utf8)
                .split(separator: "\n")
            #expect(csv.count == 4)
            #expect(csv.first == "model,class1,class2,average")
            #expect(csv[2] == "3d_fullres,1.0000,1.0000,1.0000" && csv[3] == "\(ensemble),1.0000,1.0000,1.0000")
            #expect(csv[1].hasPrefix("2d,0.") && !csv[1].contains("1.0000"))
        }
    }

    @Test("a configuration that was not trained is named")
    func missingModel() throws {
        try Self.withResults { results in
            let command = try #require(try NNUNetCommand.parseAsRoot([
                "find-best-configuration", "-m", "2d", "3d_lowres", "-t", Self.task, "-f", "0",
            ]) as? FindBestConfigurationCommand)
            do {
                try command.run(paths: NNUNetPaths(rawDataBase: nil, preprocessed: nil, results: results))
                Issue.record("expected an error")
            } catch {
                #expect("\(error)".contains("3d_lowres/\(Self.task)/nnUNetTrainerV2__nnUNetPlansv2.1"))
            }
        }
    }
}
