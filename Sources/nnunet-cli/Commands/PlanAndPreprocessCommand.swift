import ArgumentParser
import Foundation
import NNUNetCore
import NNUNetPlanning

/// `nnunet plan-and-preprocess` (v1 `nnUNet_plan_and_preprocess`).
struct PlanAndPreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan-and-preprocess",
        abstract: "Fingerprint a raw task, plan the U-Net configurations and preprocess the data.",
        aliases: ["plan_and_preprocess"]
    )

    @Option(name: .customShort("t"), parsing: .upToNextOption, help: "Task ids (or TaskXXX_NAME).")
    var tasks: [String]

    @Option(name: .customLong("pl3d", withSingleDash: true),
            help: "3D planner: ExperimentPlanner3D_v21 (default), ..._11GB, ..._16GB, ..._32GB, or None.")
    var planner3D: String = "ExperimentPlanner3D_v21"

    @Option(name: .customLong("pl2d", withSingleDash: true), help: "2D planner: ExperimentPlanner2D_v21 or None.")
    var planner2D: String = "ExperimentPlanner2D_v21"

    @Flag(name: .customLong("no_pp", withSingleDash: true), help: "Plan only; do not preprocess.")
    var noPreprocessing = false

    @Option(name: .customLong("tl", withSingleDash: true), help: "Threads for the low-resolution stage.")
    var threadsLowres: Int = 8

    @Option(name: .customLong("tf", withSingleDash: true), help: "Threads for the full-resolution stages.")
    var threadsFullres: Int = 8

    @Flag(name: .customLong("verify_dataset_integrity"), help: "Check the raw task before anything else.")
    var verifyDatasetIntegrity = false

    @Option(name: .customLong("overwrite_plans", withSingleDash: true), help: "Use this plans file instead.")
    var overwritePlans: String?

    @Option(name: .customLong("overwrite_plans_identifier", withSingleDash: true), help: "Identifier for it.")
    var overwritePlansIdentifier: String?

    @Option(name: .customLong("gpu-memory-gb"), help: "Plan for this memory budget instead of v1's 8 GB.")
    var gpuMemoryGB: Double?

    @Option(name: .customLong("how-much-of-a-patient-must-the-network-see-at-stage0"),
            help: ArgumentHelp("The 3D planner makes a 3d_lowres stage only when the median patient holds at least "
                + "this many patches (v1's HOW_MUCH_OF_A_PATIENT_MUST_THE_NETWORK_SEE_AT_STAGE0). Lower it to force "
                + "a 3d_lowres stage on smaller data. Default: 4."))
    var howMuchOfAPatientMustTheNetworkSeeAtStage0: Double = ExperimentPlanner.lowresMinimumPatientFraction

    func validate() throws {
        if threadsLowres < 1 || threadsFullres < 1 { throw ValidationError("Please pass thread counts of at least 1.") }
        if let gb = gpuMemoryGB, !(gb > 0) { throw ValidationError("Please pass a positive --gpu-memory-gb.") }
        if !(howMuchOfAPatientMustTheNetworkSeeAtStage0 > 0) {
            throw ValidationError("Please pass a positive --how-much-of-a-patient-must-the-network-see-at-stage0.")
        }
        if overwritePlans != nil {
            throw ValidationError("Please plan without -overwrite_plans: pretrained plans are not supported yet.")
        }
    }

    func run() throws {
        let paths = EnvironmentPaths.current()
        var options = PlanAndPreprocess.Options()
        options.preprocess = !noPreprocessing
        options.threadsLowres = threadsLowres
        options.threadsFullres = threadsFullres
        options.planner3D = planner3D == "None" ? nil : try PlannerConfiguration.named(planner3D)
        if let gb = gpuMemoryGB, options.planner3D != nil { options.planner3D = .threeD(gpuMemoryGB: gb) }
        options.planner3D?.lowresMinimumPatientFraction = howMuchOfAPatientMustTheNetworkSeeAtStage0
        options.planner2D = planner2D == "None" ? nil : try PlannerConfiguration.named(planner2D)
        let names = try tasks.map { try TaskLocator.resolve($0, paths: paths) }
        if verifyDatasetIntegrity {
            for name in names { try VerifyDatasetCommand.verify(folder: try paths.rawData().appendingPathComponent(name)) }
        }
        for name in names {
            let start = Date()
            let planned = try PlanAndPreprocess.run(taskName: name, paths: paths, options: options) { event in
                switch event {
                case let .step(text):
                    ProgressLine.finish()
                    print(String(format: "[%6.2f s] ", Date().timeIntervalSince(start)) + text)
                case let .caseDone(step, done, total, identifier):
                    ProgressLine.update("  \(step): \(identifier)", done, total)
                }
            }
            ProgressLine.finish()
            print("\n\(name): done in \(String(format: "%.1f", Date().timeIntervalSince(start))) s\n"
                  + PlanAndPreprocess.summary(planned))
        }
    }
}
