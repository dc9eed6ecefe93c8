import Foundation
import Testing
@testable import NNUNetPlanning

@Suite struct PlansCodingTests {
    /// nnU-Net v1's plans (converted to JSON, `Tests/Fixtures`) decode into the typed value, so hand-made or v1 plans
    /// can be used.
    @Test(arguments: ["Task004_Hippocampus/plans_3D.json", "Task004_Hippocampus/plans_2D.json",
                      "Task901_Spheres/plans_3D_32GB.json"])
    func referencePlansDecode(_ file: String) throws {
        let url = PlanningTestSupport.fixtures.appendingPathComponent(file)
        let plans = try PlanningTestSupport.loadReferencePlans(url)
        #expect(plans.datasetProperties?.allSizes.count == plans.originalSizes.count)
        #expect(plans.numStages == 1 && plans.plansPerStage.keys.sorted() == [0])
        let stage = try #require(plans.stage(0))
        #expect(stage.convKernelSizes.count == stage.poolOpKernelSizes.count + 1)
        #expect(plans.useMaskForNorm[0] == false && plans.normalizationSchemes[0] == "nonCT")
        #expect((plans.convPerStage != nil) == file.contains("3D"))
    }

    /// Our JSON keeps v1's key spellings, integer keys as strings and explicit nulls; it round-trips.
    @Test func encodingUsesV1KeysAndRoundTrips() throws {
        let stage = StagePlan(batchSize: 2, numPoolPerAxis: [4, 5, 5], patchSize: [64, 160, 160],
                              medianPatientSizeInVoxels: [80, 200, 200], currentSpacing: [3, 0.8, 0.8],
                              originalSpacing: [3, 0.8, 0.8], doDummy2DDataAug: false,
                              poolOpKernelSizes: [[1, 2, 2], [2, 2, 2]], convKernelSizes: [[1, 3, 3], [3, 3, 3], [3, 3, 3]])
        let plans = Plans(numStages: 1, numModalities: 2, modalities: [0: "T2", 1: "ADC"],
                          normalizationSchemes: [0: "nonCT", 1: "nonCT"], datasetProperties: nil,
                          listOfNpzFiles: ["/x/a.npy"], originalSpacings: [[3, 0.8, 0.8]], originalSizes: [[20, 200, 200]],
                          preprocessedDataFolder: "/p", numClasses: 2, allClasses: [1, 2], baseNumFeatures: 32,
                          useMaskForNorm: [0: true, 1: true], transposeForward: [0, 1, 2], transposeBackward: [0, 1, 2],
                          dataIdentifier: "nnUNetData_plans_v2.1", plansPerStage: [0: stage],
                          preprocessorName: "GenericPreprocessor", convPerStage: 2)
        let data = try JSONFile.encode(plans)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect((object["plans_per_stage"] as? [String: Any])?["0"] != nil)
        #expect((object["modalities"] as? [String: String]) == ["0": "T2", "1": "ADC"])
        #expect(object["keep_only_largest_region"] is NSNull && object["min_size_per_class"] is NSNull)
        let stageObject = try #require((object["plans_per_stage"] as? [String: [String: Any]])?["0"])
        #expect(Set(stageObject.keys) == ["batch_size", "num_pool_per_axis", "patch_size", "median_patient_size_in_voxels",
                                          "current_spacing", "original_spacing", "do_dummy_2D_data_aug",
                                          "pool_op_kernel_sizes", "conv_kernel_sizes"])
        #expect(try JSONDecoder().decode(Plans.self, from: data) == plans)
    }
}
