import Foundation
import NNUNetCore
import Testing
@testable import NNUNetPlanning

/// The FAQ's knob for a 3d_lowres stage on smaller data: v1's `how_much_of_a_patient_must_the_network_see_at_stage0`
/// (4), here ``PlannerConfiguration/lowresMinimumPatientFraction`` and `plan-and-preprocess
/// --how-much-of-a-patient-must-the-network-see-at-stage0`. The fixture's raw CT task has no 3d_lowres stage by
/// default; `planning/plans_3D_stage0_fraction_0.5.pkl` is what nnU-Net v1.7.1's 3D planner made of it with the
/// value 0.5 (made by the fixture's make_fixture.py --lowres-fraction 0.5).
@Suite(.serialized) struct LowresKnobTests {
    static let fixture = PlanningTestSupport.fixtures.appendingPathComponent("v1_ct_model")
    static let task = "Task902_CTSpheres"

    /// Plans the raw CT task (3D only, no preprocessing) with `fraction`; returns our plans file.
    static func plan(fraction: Double?, in root: URL) throws -> URL {
        let paths = try PlanningTestSupport.makeRawTask(
            copying: fixture.appendingPathComponent("raw/\(task)"), as: task, in: root)
        var options = PlanAndPreprocess.Options()
        options.planner2D = nil
        options.preprocess = false
        if let fraction { options.planner3D?.lowresMinimumPatientFraction = fraction }
        try PlanAndPreprocess.run(taskName: task, paths: paths, options: options)
        return try paths.preprocessedData().appendingPathComponent("\(task)/nnUNetPlansv2.1_plans_3D.json")
    }

    @Test("v1's default (4) makes no 3d_lowres stage for this task")
    func defaultMakesNoLowresStage() throws {
        #expect(PlannerConfiguration.default3D.lowresMinimumPatientFraction == 4)
        try PlanningTestSupport.withTemporaryFolder { root in
            let plans = try Plans.load(from: try Self.plan(fraction: nil, in: root))
            #expect(plans.numStages == 1 && !plans.hasLowresStage)
        }
    }

    @Test("lowered to 0.5: a 3d_lowres stage, planned exactly as v1 plans it with the same value")
    func loweredMakesV1sLowresStage() throws {
        try PlanningTestSupport.withTemporaryFolder { root in
            let ours = try Self.plan(fraction: 0.5, in: root)
            let plans = try Plans.load(from: ours)
            #expect(plans.numStages == 2 && plans.hasLowresStage)
            let theirs = root.appendingPathComponent("v1_plans_3D_fraction_0.5.json")
            try PickleReader.read(contentsOf: Self.fixture.appendingPathComponent(
                "planning/plans_3D_stage0_fraction_0.5.pkl")).jsonData().write(to: theirs)
            let differences = try CTTaskReferenceTests.plansDifferences(ours: ours, theirs: theirs)
            #expect(differences.isEmpty, "\(differences)")
        }
    }
}
