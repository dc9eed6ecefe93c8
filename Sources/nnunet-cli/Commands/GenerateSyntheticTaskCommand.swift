import ArgumentParser
import Foundation
import NNUNetCore

/// `nnunet generate-synthetic-task`: writes a seeded synthetic task into the raw data folder.
struct GenerateSyntheticTaskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-synthetic-task",
        abstract: "Generate a labelled synthetic task (ellipsoids with nested labels, noise, bias field).",
        discussion: "Writes $nnUNet_raw_data_base/nnUNet_raw_data/TaskXXX_NAME (or into --output).",
        aliases: ["generate_synthetic_task"]
    )

    @Option(name: .customShort("t"), help: "Task id.") var taskID = 500
    @Option(name: .customLong("name")) var name = "Synthetic"
    @Option(name: .customLong("training-cases")) var trainingCases = 12
    @Option(name: .customLong("test-cases")) var testCases = 3
    @Option(name: .customLong("shape"), parsing: .upToNextOption, help: "Mean shape z y x.") var shape = [40, 48, 40]
    @Option(name: .customLong("spacing"), parsing: .upToNextOption, help: "Mean spacing z y x (mm).")
    var spacing = [1.0, 1.0, 1.0]
    @Option(name: .customLong("modalities"), parsing: .upToNextOption) var modalities = ["MRI"]
    @Option(name: .customLong("labels"), help: "Number of nested foreground labels.") var labels = 2
    @Option(name: .customLong("noise")) var noise = 0.15
    @Flag(name: .customLong("oblique"), help: "Rotated direction and non-zero origin.") var oblique = false
    @Option(name: .customLong("seed")) var seed: UInt64 = 0
    @Option(name: .customLong("output"), help: "Folder to write the task into (default: nnUNet_raw_data).")
    var output: String?

    func validate() throws {
        guard shape.count == 3, spacing.count == 3 else { throw ValidationError("--shape and --spacing take 3 values") }
        guard trainingCases > 0, labels > 0, !modalities.isEmpty else {
            throw ValidationError("Need at least one training case, one label and one modality.")
        }
    }

    func run() throws {
        var configuration = SyntheticTaskConfiguration()
        configuration.taskID = taskID
        configuration.name = name
        configuration.trainingCases = trainingCases
        configuration.testCases = testCases
        configuration.shape = shape
        configuration.spacing = spacing
        configuration.modalities = modalities
        configuration.foregroundLabels = labels
        configuration.noise = noise
        configuration.obliqueGeometry = oblique
        configuration.seed = seed
        let folder = try output.map { URL(fileURLWithPath: $0, isDirectory: true) }
            ?? EnvironmentPaths.current().rawData()
        let task = try SyntheticTaskGenerator.generate(configuration, rawDataFolder: folder)
        print("Wrote \(task.path)")
    }
}
