import Foundation
import NNUNetCore
import NNUNetPlanning
import Testing
@testable import NNUNetTraining

/// `Tests/Fixtures/v1_ct_model`: a genuine nnU-Net v1 3d_fullres model trained by v1 on a small generated CT task
/// (Hounsfield units, anisotropic spacing), and what `nnUNet_predict --save_npz` wrote with it (see its README.md).
///
/// CT normalisation clips to the dataset's 0.5/99.5 percentiles and standardises with its foreground mean and sd,
/// which v1 keeps in the plans' `dataset_properties.intensityproperties`; a model run without them sees raw HU.
@Suite("A v1 CT model folder predicts like nnUNet_predict")
struct V1CTModelTests {
    static let root = TestSupport.fixtures.appendingPathComponent("v1_ct_model")
    static let trainerFolder = root.appendingPathComponent(
        "results/nnUNet/3d_fullres/Task902_CTSpheres/nnUNetTrainerV2__nnUNetPlansv2.1")

    /// The test cases' identifiers (`imagesTs/CASE_0000.nii.gz`).
    static func caseIdentifiers() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("imagesTs").path)
            .filter { $0.hasSuffix("_0000.nii.gz") }.map { String($0.dropLast("_0000.nii.gz".count)) }.sorted()
    }

    @Test("v1's plans.pkl with CT normalisation loads with its intensity statistics")
    func plansKeepIntensityStatistics() throws {
        for file in [Self.trainerFolder.appendingPathComponent("plans.pkl"),
                     Self.root.appendingPathComponent("nnUNetPlansv2.1_plans_3D.pkl")] {
            let plans = try Plans.loadV1Pickle(from: file)
            #expect(plans.normalizationSchemes == [0: "CT"], "\(file.lastPathComponent)")
            let properties = try #require(plans.datasetProperties, "\(file.lastPathComponent): no dataset_properties")
            let statistics = try #require(properties.intensityProperties?[0]?.pooled)
            let lower = try #require(statistics.percentile00_5), upper = try #require(statistics.percentile99_5)
            let mean = try #require(statistics.mean), sd = try #require(statistics.sd)
            #expect(lower < mean && mean < upper && sd > 0)
            // HU statistics of the foreground, not of a normalised image.
            #expect(upper > 100 && sd > 10, "\(statistics)")
            // v1 stores no case_identifiers: they are the sorted cases of size_reductions, one per size.
            #expect(properties.caseIdentifiers == properties.sizeReductions.keys.sorted())
            #expect(properties.caseIdentifiers.count == properties.allSizes.count)
            #expect(properties.intensityProperties?[0]?.localProps.keys.sorted() == properties.caseIdentifiers)
            try Normalization.checkStatistics(of: plans, source: file.path)
        }
    }

    /// The plans pickle as JSON (this package's plans format), to damage one field at a time.
    static func plansObject() throws -> [String: Any] {
        let plans = try Plans.loadV1Pickle(from: trainerFolder.appendingPathComponent("plans.pkl"))
        return try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(plans)) as? [String: Any])
    }

    @Test("a plans file with a malformed dataset_properties is refused, naming the file and the field")
    func malformedDatasetProperties() throws {
        let damages: [(field: String, damage: (inout [String: Any]) -> Void)] = [
            ("dataset_properties.intensityproperties.0.mean", { properties in
                var intensity = properties["intensityproperties"] as? [String: Any] ?? [:]
                var first = intensity["0"] as? [String: Any] ?? [:]
                first["mean"] = "not a number"
                intensity["0"] = first
                properties["intensityproperties"] = intensity
            }),
            ("dataset_properties.all_spacings", { $0["all_spacings"] = "see elsewhere" }),
            ("dataset_properties.size_reductions", { $0.removeValue(forKey: "size_reductions") }),
        ]
        try TestSupport.withTemporaryFolder { folder in
            for (field, damage) in damages {
                var object = try Self.plansObject()
                var properties = try #require(object["dataset_properties"] as? [String: Any])
                damage(&properties)
                object["dataset_properties"] = properties
                let file = folder.appendingPathComponent("plans.json")
                try JSONSerialization.data(withJSONObject: object).write(to: file)
                #expect { _ = try Plans.load(from: file) } throws: { error in
                    "\(error)".contains(file.path) && "\(error)".contains(field)
                }
                #expect { _ = try Plans.loadFromModelFolder(folder) } throws: { "\($0)".contains(field) }
            }
            // The string v1's reference dumps put in place of the fingerprint is not a fingerprint either.
            var object = try Self.plansObject()
            object["dataset_properties"] = "see dataset_properties.json"
            let file = folder.appendingPathComponent("plans.json")
            try JSONSerialization.data(withJSONObject: object).write(to: file)
            #expect { _ = try Plans.load(from: file) } throws: { "\($0)".contains("dataset_properties") }
        }
    }

    @Test("CT normalisation without intensity statistics is an error naming the plans file")
    func ctWithoutStatistics() throws {
        var plans = try Plans.loadV1Pickle(from: Self.trainerFolder.appendingPathComponent("plans.pkl"))
        plans.datasetProperties?.intensityProperties = nil
        #expect { _ = try Preprocessor(plans: plans, source: "/models/plans.json") } throws: { error in
            "\(error)".contains("/models/plans.json") && "\(error)".contains("intensityproperties")
        }
        plans.datasetProperties = nil
        try TestSupport.withTemporaryFolder { folder in
            try plans.write(to: folder.appendingPathComponent("plans.json"))
            #expect { _ = try TrainedModel(trainerFolder: folder) } throws: { error in
                "\(error)".contains(folder.appendingPathComponent("plans.json").path)
                    && "\(error)".contains("CT")
            }
        }
        // A modality that is not CT needs no statistics.
        plans.normalizationSchemes = [0: "nonCT"]
        _ = try Preprocessor(plans: plans)
    }

    /// Voxels whose labels differ from v1's file, after checking shape and geometry are exact.
    static func differingVoxels(_ ours: Volume, reference: URL) throws -> Int {
        let theirs = try NIfTI.read(reference)
        #expect(ours.shape == theirs.shape)
        #expect(ours.geometry.itkSpacing == theirs.geometry.itkSpacing)
        #expect(ours.geometry.itkOrigin == theirs.geometry.itkOrigin)
        #expect(ours.geometry.itkDirection == theirs.geometry.itkDirection)
        return zip(ours.data, theirs.data).filter { $0 != $1 }.count
    }

    /// Predicts every test case with `model` and compares labels (identical) and the `-z` probabilities (within one
    /// float16 ulp, plus the 1e-4 by which two float32 softmaxes may differ) with v1's `folder`.
    static func expectV1Predictions(_ model: TrainedModel, folder: String) throws {
        for identifier in try caseIdentifiers() {
            let prediction = try model.predictCase(
                imageFiles: [root.appendingPathComponent("imagesTs/\(identifier)_0000.nii.gz")],
                identifier: identifier, keepingProbabilities: true)
            let differing = try differingVoxels(prediction.labels,
                                                reference: root.appendingPathComponent("\(folder)/\(identifier).nii.gz"))
            #expect(differing == 0, "\(folder)/\(identifier): \(differing) voxels differ from v1")
            #expect(prediction.labels.data.contains { $0 > 0 }, "\(identifier): no foreground predicted")
            let probabilities = try #require(prediction.probabilities)
            let (mismatches, worst) = try V1ModelFolderTests.float16Mismatches(
                probabilities, shape: prediction.probabilityShape,
                reference: root.appendingPathComponent("\(folder)/\(identifier).npz"))
            #expect(mismatches == 0, "\(folder)/\(identifier): \(mismatches) float16 values off (largest \(worst))")
        }
    }

    @Test("without mirroring: labels identical to nnUNet_predict, -z probabilities within one float16 ulp")
    func predictionWithoutMirroring() throws {
        let model = try TrainedModel(trainerFolder: Self.trainerFolder, folds: [.index(0)])
        model.usesMirroring = false
        try Self.expectV1Predictions(model, folder: "pred_notta")
    }

    @Test("with mirroring: labels identical to nnUNet_predict, -z probabilities within one float16 ulp")
    func predictionWithMirroring() throws {
        let model = try TrainedModel(trainerFolder: Self.trainerFolder, folds: [.index(0)])
        try Self.expectV1Predictions(model, folder: "pred_tta")
    }

    @Test("convert-v1-model carries the intensity statistics: the converted model predicts the same")
    func convertedModel() throws {
        try TestSupport.withTemporaryFolder { folder in
            let converted = folder.appendingPathComponent("nnUNetTrainerV2__nnUNetPlansv2.1")
            try V1ModelConversion.convert(trainerFolder: Self.trainerFolder, to: converted)
            let plans = try Plans.load(from: converted.appendingPathComponent("plans.json"))
            let original = try Plans.loadV1Pickle(from: Self.trainerFolder.appendingPathComponent("plans.pkl"))
            #expect(plans.datasetProperties == original.datasetProperties)
            #expect(plans.datasetProperties?.intensityProperties?[0] != nil)
            let model = try TrainedModel(trainerFolder: converted, folds: [.index(0)])
            #expect(model.plansFile.lastPathComponent == "plans.json")
            model.usesMirroring = false
            try Self.expectV1Predictions(model, folder: "pred_notta")
            model.usesMirroring = true
            try Self.expectV1Predictions(model, folder: "pred_tta")
        }
    }
}
