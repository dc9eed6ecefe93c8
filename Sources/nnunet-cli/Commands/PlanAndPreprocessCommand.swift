import ArgumentParser
import Foundation
import NNUNetCore

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

    func run() throws {
        let paths = EnvironmentPaths.current()
        if verifyDatasetIntegrity {
            for task in tasks {
                let name = try TaskLocator.resolve(task, paths: paths)
                try VerifyDatasetCommand.verify(folder: try paths.rawData().appendingPathComponent(name))
            }
        }
        throw CLIError.notYetAvailable(command: "plan-and-preprocess",
                                       what: "cropping, fingerprinting, planning and preprocessing")
    }
}
