import ArgumentParser
import Foundation
import NNUNetCore
import NNUNetEvaluation

/// `nnunet determine-postprocessing` (v1 `nnUNet_determine_postprocessing`).
struct DeterminePostprocessingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "determine-postprocessing",
        abstract: "Choose connected-component postprocessing from cross-validation results.",
        discussion: """
            Cross-validation mode (v1): collects fold_0..4/validation_raw of a trained model into cv_niftis_raw, \
            evaluates it, and writes cv_niftis_postprocessed and postprocessing.json into the trainer folder.

              nnunet determine-postprocessing -m 3d_fullres -t 4

            Folder mode, for predictions made outside cross-validation: PRED is only read; OUT receives \
            postprocessing.json, the postprocessed files, summary.json (postprocessed) and summary_raw.json.

              nnunet determine-postprocessing --raw PRED --gt GT --out OUT -l 0 1 2
            """,
        aliases: ["determine_postprocessing", "nnUNet_determine_postprocessing"]
    )

    @Option(name: .customShort("m"), help: "Configuration.")
    var model: NetworkConfiguration?
    @Option(name: .customShort("t"), help: "Task id or name.") var task: String?
    @Option(name: .customLong("tr", withSingleDash: true),
            help: "Trainer (default nnUNetTrainerV2, or nnUNetTrainerV2CascadeFullRes for 3d_cascade_fullres).")
    var trainer: String?
    @Option(name: .customLong("pl", withSingleDash: true), help: "Plans identifier (default nnUNetPlansv2.1).")
    var plansIdentifier = "nnUNetPlansv2.1"
    @Option(name: .customLong("val", withSingleDash: true), help: "Validation folder name (default validation_raw).")
    var validationFolder = "validation_raw"
    @Option(name: .customLong("raw"), help: "Folder mode: raw predictions.") var raw: String?
    @Option(name: .customLong("gt"), help: "Folder mode: ground truth.") var groundTruth: String?
    @Option(name: .customLong("out"), help: "Folder mode: output folder.") var out: String?
    @Option(name: .customShort("l"), parsing: .upToNextOption,
            help: "Folder mode: labels to evaluate (default: every label in the ground truth).")
    var labels: [Int] = []
    @Option(name: .customLong("threads"), help: "Threads (default: all cores).")
    var threads = ThreadSettings.defaultThreads

    var isFolderMode: Bool { raw != nil || groundTruth != nil || out != nil }

    func validate() throws {
        if isFolderMode {
            guard raw != nil, groundTruth != nil, out != nil else {
                throw ValidationError("Please give all of --raw, --gt and --out for the folder mode.")
            }
            guard model == nil, task == nil else {
                throw ValidationError("Please use either -m/-t (cross-validation) or --raw/--gt/--out (folder mode).")
            }
        } else {
            guard model != nil, task != nil else {
                throw ValidationError("Please give -m CONFIG and -t TASK, or --raw/--gt/--out for the folder mode.")
            }
        }
        guard threads >= 1 else { throw ValidationError("Please use at least one thread.") }
    }

    func run() throws {
        let decision: PostprocessingDecision
        let written: URL
        if let raw, let groundTruth, let out {
            let output = URL(fileURLWithPath: out, isDirectory: true)
            decision = try CrossValidationConsolidation.determineForFolder(
                rawFolder: URL(fileURLWithPath: raw, isDirectory: true),
                groundTruthFolder: URL(fileURLWithPath: groundTruth, isDirectory: true), outputFolder: output,
                labels: labels.isEmpty ? nil : labels, threads: threads)
            written = output.appendingPathComponent("postprocessing.json")
        } else {
            let model = model ?? .fullres, task = task ?? ""
            let paths = EnvironmentPaths.current()
            let taskName = try TaskLocator.resolve(task, paths: paths)
            let trainerName = trainer ?? model.defaultTrainerName
            let folder = CrossValidationConsolidation.trainerFolder(
                trainedModels: try paths.trainedModels(), configuration: model, task: taskName, trainer: trainerName,
                plansIdentifier: plansIdentifier)
            decision = try CrossValidationConsolidation.consolidate(trainerFolder: folder,
                                                                    validationFolder: validationFolder, threads: threads)
            written = folder.appendingPathComponent("postprocessing.json")
        }
        let classes = decision.forWhichClasses.map(\.jsonValue).map { $0.serialized() }.joined(separator: ", ")
        print("Dice per class raw: \(Self.format(decision.dicePerClassRaw))")
        print("  all classes as one: \(Self.format(decision.dicePerClassAllClasses))")
        if !decision.dicePerClassPerClass.isEmpty { print("  per class: \(Self.format(decision.dicePerClassPerClass))") }
        print("for_which_classes: [\(classes)] (\(decision.numberOfSamples) cases); wrote \(written.path)")
    }

    static func format(_ values: [String: Double]) -> String {
        values.keys.sorted().map { "\($0): " + (values[$0].map { $0.isNaN ? "NaN" : String(format: "%.5f", $0) } ?? "-") }
            .joined(separator: ", ")
    }
}
