import Foundation
import NNUNetCore
import Testing
@testable import NNUNetPlanning

/// plan-and-preprocess on the two tasks nnU-Net v1 produced golden outputs for (`reference/` and `data/` of the
/// optional test data, see ``PlanningTestSupport/sharedData``).
@Suite(.serialized) struct ReferenceTaskTests {
    @Test(PlanningTestSupport.requiresSharedData("reference/Task901_Spheres"))
    func spheresMatchesNNUNetV1() throws {
        let reference = PlanningTestSupport.reference.appendingPathComponent("Task901_Spheres")
        try PlanningTestSupport.withTemporaryFolder { root in
            let paths = try PlanningTestSupport.makeRawTask(copying: reference.appendingPathComponent("raw"),
                                                            as: "Task901_Spheres", in: root)
            var options = PlanAndPreprocess.Options()
            options.threadsFullres = 2
            options.threadsLowres = 2
            try PlanAndPreprocess.run(taskName: "Task901_Spheres", paths: paths, options: options)
            for variant in [PlannerConfiguration.large11GB, .large32GB] {
                var plansOnly = options
                plansOnly.planner3D = variant
                plansOnly.planner2D = nil
                plansOnly.preprocess = false
                try PlanAndPreprocess.run(taskName: "Task901_Spheres", paths: paths, options: plansOnly)
            }
            try ReferenceComparison.check(paths: paths, task: "Task901_Spheres", reference: reference, plans: [
                ("nnUNetPlansv2.1_plans_3D.json", "plans_3D.json"), ("nnUNetPlansv2.1_plans_2D.json", "plans_2D.json"),
                ("nnUNetPlansv2.1_big_plans_3D.json", "plans_3D_11GB.json"),
                ("nnUNetPlansv2.1_verybig_plans_3D.json", "plans_3D_32GB.json"),
            ])
            // The plans decode into the typed value and keep v1's structure.
            let plans = try Plans.load(from: try paths.preprocessedData()
                .appendingPathComponent("Task901_Spheres/nnUNetPlansv2.1_plans_3D.json"))
            #expect(plans.stage(0)?.patchSize == [80, 64, 96] && plans.transposeForward == [2, 0, 1])
            #expect(plans.convPerStage == 2 && !plans.hasLowresStage)
        }
    }

    @Test(PlanningTestSupport.requiresSharedData("data/msd_hippocampus", "reference/Task004_Hippocampus"))
    func hippocampusMatchesNNUNetV1() throws {
        let reference = PlanningTestSupport.reference.appendingPathComponent("Task004_Hippocampus")
        try PlanningTestSupport.withTemporaryFolder { root in
            let paths = NNUNetPaths.inside(root)
            try DecathlonConverter.convert(msdFolder: PlanningTestSupport.hippocampus, outputTaskID: 4,
                                           rawDataFolder: try paths.rawData(), threads: 2)
            var options = PlanAndPreprocess.Options()
            options.threadsFullres = 2
            options.threadsLowres = 2
            try PlanAndPreprocess.run(taskName: "Task004_Hippocampus", paths: paths, options: options)
            try ReferenceComparison.check(paths: paths, task: "Task004_Hippocampus", reference: reference, plans: [
                ("nnUNetPlansv2.1_plans_3D.json", "plans_3D.json"), ("nnUNetPlansv2.1_plans_2D.json", "plans_2D.json"),
            ])
        }
    }
}
