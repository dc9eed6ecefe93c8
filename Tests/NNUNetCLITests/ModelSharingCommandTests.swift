import ArgumentParser
import Foundation
import NNUNetCore
import Testing
@testable import nnunet_cli

@Suite("ensemble and export-model-to-zip commands")
struct ModelSharingCommandTests {
    /// `reference/v1_model` of the optional test data (22 MB).
    static let v1Model = TestSupport.reference.appendingPathComponent("v1_model")

    @Test("v1 spellings of ensemble and export-model-to-zip parse")
    func parsing() throws {
        let ensemble = try #require(try NNUNetCommand.parseAsRoot([
            "nnUNet_ensemble", "-f", "m1", "m2", "m3", "-o", "out", "-t", "4", "-pp", "pp.json", "--npz",
        ]) as? EnsembleCommand)
        #expect(ensemble.folders == ["m1", "m2", "m3"] && ensemble.output == "out" && ensemble.threads == 4)
        #expect(ensemble.postprocessing == "pp.json" && ensemble.saveNpz)
        let plain = try #require(try NNUNetCommand.parseAsRoot(["ensemble", "-f", "a", "b", "-o", "c"])
            as? EnsembleCommand)
        #expect(plain.threads == 2 && plain.postprocessing == nil && !plain.saveNpz)
        #expect(throws: (any Error).self) { try NNUNetCommand.parseAsRoot(["ensemble", "-f", "a", "-o", "c", "-t", "0"]) }

        let export = try #require(try NNUNetCommand.parseAsRoot([
            "nnUNet_export_model_to_zip", "-t", "4", "-o", "m.zip", "-m", "2d", "3d_cascade_fullres", "-tr", "T",
            "-trc", "C", "-pl", "P", "-f", "0", "all", "--disable_strict",
        ]) as? ExportModelToZipCommand)
        #expect(export.task == "4" && export.output == "m.zip" && export.models == [.twoD, .cascadeFullres])
        #expect(export.trainer == "T" && export.cascadeTrainer == "C" && export.plansIdentifier == "P")
        #expect(export.folds == [.index(0), .all] && export.disableStrict)
        let defaults = try #require(try NNUNetCommand.parseAsRoot(["export-model-to-zip", "-t", "4", "-o", "m.zip"])
            as? ExportModelToZipCommand)
        #expect(defaults.models == NetworkConfiguration.allCases)
        #expect(defaults.folds == [.index(0), .index(1), .index(2), .index(3), .index(4)] && !defaults.disableStrict)
        #expect(throws: (any Error).self) {
            try NNUNetCommand.parseAsRoot(["export-model-to-zip", "-t", "4", "-o", "m.zip", "-m", "3d"])
        }
    }

    @Test("export-model-to-zip -t 901 on v1's results: strict fails, --disable_strict writes an installable zip",
          TestSupport.requiresSharedData("reference/v1_model"))
    func exportV1Model() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nnunet-cli-export-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let paths = NNUNetPaths(rawDataBase: nil, preprocessed: nil, results: Self.v1Model.appendingPathComponent("results"))
        let zip = scratch.appendingPathComponent("Task901.zip")
        let strict = try #require(try NNUNetCommand.parseAsRoot([
            "export-model-to-zip", "-t", "901", "-o", zip.path, "-m", "3d_fullres", "-f", "0",
        ]) as? ExportModelToZipCommand)
        do {
            try strict.run(paths: paths)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("postprocessing.json"))
        }
        #expect(!FileManager.default.fileExists(atPath: zip.path))
        let relaxed = try #require(try NNUNetCommand.parseAsRoot([
            "export-model-to-zip", "-t", "901", "-o", zip.path, "-m", "3d_fullres", "-f", "0", "--disable_strict",
        ]) as? ExportModelToZipCommand)
        try relaxed.run(paths: paths)
        let installed = try SafeZipExtractor.extract(zip, into: scratch.appendingPathComponent("installed"))
        #expect(installed.count == 5)
        #expect(installed.contains("3d_fullres/Task901_Spheres/nnUNetTrainerV2__nnUNetPlansv2.1/plans.pkl"))
    }

    @Test("ensemble writes OUT/CASE.nii.gz for v1's pred_tta ensembled with itself",
          TestSupport.requiresSharedData("reference/v1_model"))
    func ensembleV1Predictions() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nnunet-cli-ensemble-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let predictions = Self.v1Model.appendingPathComponent("pred_tta").path
        var command = try NNUNetCommand.parseAsRoot(["ensemble", "-f", predictions, predictions, "-o", scratch.path,
                                                     "--npz"])
        try command.run()
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: scratch.path)) == Set(
            ["spheres_ts000", "spheres_ts001", "spheres_ts002"].flatMap { [$0 + ".nii.gz", $0 + ".npz", $0 + ".pkl"] }))
    }
}
