import Foundation
import NNUNetCore
import Testing
import ZIPFoundation
@testable import NNUNetTraining

@Suite("Exporting trained models to a zip (nnunet export-model-to-zip)")
struct ModelExportTests {
    static let task = "Task042_Fake"
    static let plansID = "nnUNetPlansv2.1"

    /// Writes `bytes` (default: bytes derived from the path, so every file differs) to `root/relative`.
    static func write(_ relative: String, in root: URL, bytes: [UInt8]? = nil) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let content = bytes ?? Array(relative.utf8) + (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ relative.count) }
        try Data(content).write(to: url)
    }

    /// A fake `RESULTS_FOLDER/nnUNet`: 2d (our format), 3d_fullres (v1 format), a cascade with its own trainer, a
    /// lowres model of another trainer, ensembles, another task, and files that are not exported.
    static func makeResults(_ root: URL) throws {
        let twoD = "2d/\(task)/nnUNetTrainerV2__\(plansID)"
        let full = "3d_fullres/\(task)/nnUNetTrainerV2__\(plansID)"
        let cascade = "3d_cascade_fullres/\(task)/MyCascadeTrainer__\(plansID)"
        for file in [
            "\(twoD)/plans.json", "\(twoD)/postprocessing.json",
            "\(twoD)/fold_0/model_final_checkpoint.model", "\(twoD)/fold_0/model_final_checkpoint.model.json",
            "\(twoD)/fold_0/debug.json", "\(twoD)/fold_0/progress.png",
            "\(twoD)/fold_0/model_best.model", "\(twoD)/fold_0/model_best.model.json",
            "\(twoD)/fold_0/training_log_2024.txt", "\(twoD)/fold_0/validation_raw/case.nii.gz",
            "\(twoD)/fold_1/model_final_checkpoint.model", "\(twoD)/fold_1/model_final_checkpoint.model.json",
            "\(twoD)/fold_2/model_final_checkpoint.model", "\(twoD)/fold_2/model_final_checkpoint.model.json",
            "\(twoD)/cv_niftis_raw/case.nii.gz", "\(twoD)/gt_niftis/case.nii.gz",
            "\(full)/plans.pkl", "\(full)/postprocessing.json",
            "\(full)/fold_0/model_final_checkpoint.model", "\(full)/fold_0/model_final_checkpoint.model.pkl",
            "\(full)/fold_0/debug.json", "\(full)/fold_0/progress.png", "\(full)/fold_0/network_architecture.pdf",
            "\(full)/fold_1/model_final_checkpoint.model", "\(full)/fold_1/model_final_checkpoint.model.pkl",
            "\(full)/fold_1/debug.json", "\(full)/fold_1/progress.png",
            "\(cascade)/plans.json", "\(cascade)/postprocessing.json",
            "\(cascade)/fold_0/model_final_checkpoint.model", "\(cascade)/fold_0/model_final_checkpoint.model.json",
            "\(cascade)/fold_1/model_final_checkpoint.model", "\(cascade)/fold_1/model_final_checkpoint.model.json",
            "3d_lowres/\(task)/OtherTrainer__\(plansID)/plans.json",
            "ensembles/\(task)/ensemble_2d__nnUNetTrainerV2__\(plansID)--3d_fullres__nnUNetTrainerV2__\(plansID)/postprocessing.json",
            "ensembles/\(task)/ensemble_2d__nnUNetTrainerV2__\(plansID)--3d_fullres__nnUNetTrainerV2__\(plansID)/ensembled_raw/case.nii.gz",
            "ensembles/\(task)/ensemble_3d_fullres__nnUNetTrainerV2__\(plansID)--3d_cascade_fullres__MyCascadeTrainer__\(plansID)/postprocessing.json",
            "ensembles/\(task)/ensemble_2d__nnUNetTrainerV2__\(plansID)--3d_lowres__nnUNetTrainerV2__\(plansID)/postprocessing.json",
            "ensembles/\(task)/ensemble_2d__nnUNetTrainerV2__otherPlans--3d_fullres__nnUNetTrainerV2__otherPlans/postprocessing.json",
            "ensembles/\(task)/summary.csv",
            "2d/Task043_Other/nnUNetTrainerV2__\(plansID)/plans.json",
        ] {
            try write(file, in: root)
        }
    }

    static func options(strict: Bool = true) -> ModelExport.Options {
        var options = ModelExport.Options(task: task)
        options.configurations = [.twoD, .fullres, .cascadeFullres]
        options.cascadeTrainer = "MyCascadeTrainer"
        options.folds = [.index(0), .index(1)]
        options.isStrict = strict
        return options
    }

    static let expectedEntries: [String] = {
        let twoD = "2d/\(task)/nnUNetTrainerV2__\(plansID)"
        let full = "3d_fullres/\(task)/nnUNetTrainerV2__\(plansID)"
        let cascade = "3d_cascade_fullres/\(task)/MyCascadeTrainer__\(plansID)"
        return [
            "\(twoD)/fold_0/debug.json", "\(twoD)/fold_0/model_final_checkpoint.model",
            "\(twoD)/fold_0/model_final_checkpoint.model.json", "\(twoD)/fold_0/progress.png",
            "\(twoD)/fold_1/model_final_checkpoint.model", "\(twoD)/fold_1/model_final_checkpoint.model.json",
            "\(twoD)/plans.json", "\(twoD)/postprocessing.json",
            "\(full)/fold_0/debug.json", "\(full)/fold_0/model_final_checkpoint.model",
            "\(full)/fold_0/model_final_checkpoint.model.pkl", "\(full)/fold_0/progress.png",
            "\(full)/fold_0/network_architecture.pdf",
            "\(full)/fold_1/debug.json", "\(full)/fold_1/model_final_checkpoint.model",
            "\(full)/fold_1/model_final_checkpoint.model.pkl", "\(full)/fold_1/progress.png",
            "\(full)/plans.pkl", "\(full)/postprocessing.json",
            "\(cascade)/fold_0/model_final_checkpoint.model", "\(cascade)/fold_0/model_final_checkpoint.model.json",
            "\(cascade)/fold_1/model_final_checkpoint.model", "\(cascade)/fold_1/model_final_checkpoint.model.json",
            "\(cascade)/plans.json", "\(cascade)/postprocessing.json",
            "ensembles/\(task)/ensemble_2d__nnUNetTrainerV2__\(plansID)--3d_fullres__nnUNetTrainerV2__\(plansID)/postprocessing.json",
            "ensembles/\(task)/ensemble_3d_fullres__nnUNetTrainerV2__\(plansID)--3d_cascade_fullres__MyCascadeTrainer__\(plansID)/postprocessing.json",
        ]
    }()

    static func entries(of zip: URL) throws -> [String] {
        try Archive(url: zip, accessMode: .read).map(\.path)
    }

    @Test("the zip holds exactly v1's file set, and installing it restores the same bytes")
    func exactEntriesAndRoundTrip() throws {
        try TestSupport.withTemporaryFolder { root in
            let results = root.appendingPathComponent("results/nnUNet")
            try Self.makeResults(results)
            let zip = root.appendingPathComponent("shared/Task042.zip")
            let contents = try ModelExport.export(Self.options(), trainedModels: results, to: zip)
            #expect(contents.files == Self.expectedEntries)
            #expect(contents.skipped.isEmpty)
            #expect(try Self.entries(of: zip) == Self.expectedEntries)
            #expect(try FileManager.default.contentsOfDirectory(atPath: zip.deletingLastPathComponent().path)
                    == ["Task042.zip"])
            let installed = root.appendingPathComponent("installed/nnUNet")
            let written = try SafeZipExtractor.extract(zip, into: installed)
            #expect(written == Self.expectedEntries)
            for path in Self.expectedEntries {
                #expect(try Data(contentsOf: installed.appendingPathComponent(path))
                        == (try Data(contentsOf: results.appendingPathComponent(path))), "\(path)")
            }
        }
    }

    @Test("strict mode names a missing fold, config or postprocessing.json; --disable_strict skips them")
    func strictMode() throws {
        try TestSupport.withTemporaryFolder { root in
            let results = root.appendingPathComponent("results/nnUNet")
            try Self.makeResults(results)
            let full = "3d_fullres/\(Self.task)/nnUNetTrainerV2__\(Self.plansID)"
            try FileManager.default.removeItem(at: results.appendingPathComponent("\(full)/fold_1"))
            let zip = root.appendingPathComponent("Task042.zip")
            do {
                try ModelExport.export(Self.options(), trainedModels: results, to: zip)
                Issue.record("expected an error")
            } catch let error as TrainingError {
                guard case let .incompleteModelExport(path, _) = error else { throw error }
                #expect(path == results.appendingPathComponent("\(full)/fold_1/model_final_checkpoint.model").path)
                #expect(error.description.contains("fold_1") && error.description.contains("--disable_strict"))
            }
            #expect(!FileManager.default.fileExists(atPath: zip.path))

            let relaxed = try ModelExport.export(Self.options(strict: false), trainedModels: results, to: zip)
            #expect(relaxed.skipped == ["\(full)/fold_1/ (no complete model_final_checkpoint)"])
            let expected = Self.expectedEntries.filter { !$0.hasPrefix("\(full)/fold_1/") }
            #expect(relaxed.files == expected)
            #expect(try Self.entries(of: zip) == expected)

            // A checkpoint without its sidecar is not complete either.
            try FileManager.default.removeItem(at: results.appendingPathComponent(
                "2d/\(Self.task)/nnUNetTrainerV2__\(Self.plansID)/fold_0/model_final_checkpoint.model.json"))
            var options = Self.options()
            options.configurations = [.twoD]
            #expect(throws: TrainingError.self) { try ModelExport.collect(options, trainedModels: results) }

            // A requested configuration that was never trained.
            options.configurations = [.lowres]
            do {
                _ = try ModelExport.collect(options, trainedModels: results)
                Issue.record("expected an error")
            } catch let error as TrainingError {
                #expect(error.description.contains("3d_lowres/\(Self.task)/nnUNetTrainerV2__\(Self.plansID)"))
            }
            options.isStrict = false
            options.configurations = [.lowres, .cascadeFullres]
            let cascadeOnly = try ModelExport.collect(options, trainedModels: results)
            #expect(cascadeOnly.skipped == ["3d_lowres/\(Self.task)/nnUNetTrainerV2__\(Self.plansID) (no such model folder)"])
            // No ensemble consists of the cascade alone.
            #expect(cascadeOnly.files.allSatisfy { $0.hasPrefix("3d_cascade_fullres/") })

            // A missing postprocessing.json.
            try FileManager.default.removeItem(at: results.appendingPathComponent("\(full)/postprocessing.json"))
            options = Self.options()
            options.configurations = [.fullres]
            options.folds = [.index(0)]
            do {
                _ = try ModelExport.collect(options, trainedModels: results)
                Issue.record("expected an error")
            } catch let error as TrainingError {
                #expect(error.description.contains("\(full)/postprocessing.json"))
            }
            options.isStrict = false
            #expect(try ModelExport.collect(options, trainedModels: results).skipped
                    == ["\(full)/postprocessing.json (missing)"])
            // Fold `all` is the folder `all` (v1's name), not `fold_all`.
            options.folds = [.all]
            options.isStrict = true
            #expect { _ = try ModelExport.collect(options, trainedModels: results) } throws: {
                "\($0)".contains("/all/model_final_checkpoint.model")
            }
        }
    }

    @Test("nnU-Net v1's model folder: strict fails on the missing postprocessing.json; relaxed, the copy loads",
          TestSupport.requiresSharedData("reference/v1_model"))
    func v1ModelFolder() throws {
        let results = TestSupport.reference.appendingPathComponent("v1_model/results/nnUNet")
        var options = ModelExport.Options(task: "Task901_Spheres")
        options.configurations = [.fullres]
        options.folds = [.index(0)]
        let trainer = "3d_fullres/Task901_Spheres/nnUNetTrainerV2__nnUNetPlansv2.1"
        #expect(throws: TrainingError.incompleteModelExport(
            path: results.appendingPathComponent("\(trainer)/postprocessing.json").path,
            reason: "does not exist. Run 'nnunet determine-postprocessing' for this model (needs the full "
                + "cross-validation), or pass --disable_strict to skip what is missing")) {
            _ = try ModelExport.collect(options, trainedModels: results)
        }
        options.isStrict = false
        try TestSupport.withTemporaryFolder { root in
            let zip = root.appendingPathComponent("Task901.zip")
            let contents = try ModelExport.export(options, trainedModels: results, to: zip)
            #expect(contents.files == [
                "\(trainer)/fold_0/debug.json", "\(trainer)/fold_0/model_final_checkpoint.model",
                "\(trainer)/fold_0/model_final_checkpoint.model.pkl", "\(trainer)/fold_0/progress.png",
                "\(trainer)/plans.pkl",
            ])
            #expect(contents.skipped == ["\(trainer)/postprocessing.json (missing)"])
            let installed = root.appendingPathComponent("installed/nnUNet")
            _ = try SafeZipExtractor.extract(zip, into: installed)
            for path in contents.files {
                #expect(try Data(contentsOf: installed.appendingPathComponent(path))
                        == (try Data(contentsOf: results.appendingPathComponent(path))), "\(path)")
            }
            let model = try TrainedModel(trainerFolder: installed.appendingPathComponent(trainer), folds: [.index(0)])
            #expect(model.folds.map(\.name) == ["fold_0"])
            #expect(model.plansFile.lastPathComponent == "plans.pkl")
            #expect(model.folds[0].configuration.classCount == 3)
        }
    }
}
