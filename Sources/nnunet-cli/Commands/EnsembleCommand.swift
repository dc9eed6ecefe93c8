import ArgumentParser
import Foundation
import NNUNetEvaluation

/// `nnunet ensemble` (v1 `nnUNet_ensemble`).
struct EnsembleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ensemble",
        abstract: "Average the saved probabilities of several prediction folders.",
        discussion: """
            Every folder must come from 'nnunet predict ... -z' and hold CASE.npz and CASE.pkl of every case. With \
            -pp the raw ensemble goes to OUT/not_postprocessed and the postprocessed segmentations to OUT. Example:
              nnunet ensemble -f OUTPUT_FOLDER_MODEL1 OUTPUT_FOLDER_MODEL2 -o OUTPUT_FOLDER -pp postprocessing.json
            """,
        aliases: ["nnUNet_ensemble"]
    )

    @Option(name: .customShort("f"), parsing: .upToNextOption, help: "Folders predicted with -z (--save_npz).")
    var folders: [String]
    @Option(name: .customShort("o"), help: "Output folder (created if needed).") var output: String
    @Option(name: .customShort("t"), help: "Cases processed at the same time (default 2).") var threads = 2
    @Option(name: .customLong("pp", withSingleDash: true),
            help: "postprocessing.json to apply (e.g. from RESULTS_FOLDER/nnUNet/ensembles/...). Default: none.")
    var postprocessing: String?
    @Flag(name: .customLong("npz"), help: "Also save the averaged probabilities (CASE.npz) and CASE.pkl.")
    var saveNpz = false

    func validate() throws {
        guard !folders.isEmpty else { throw ValidationError("Please give at least one folder with -f.") }
        guard threads >= 1 else { throw ValidationError("Please give -t of at least 1.") }
    }

    func run() throws {
        let result = try ProbabilityEnsemble.ensemble(
            folders: folders.map { URL(fileURLWithPath: $0, isDirectory: true) },
            outputFolder: URL(fileURLWithPath: output, isDirectory: true),
            postprocessingFile: postprocessing.map { URL(fileURLWithPath: $0) }, savesProbabilities: saveNpz,
            threads: threads
        ) { done, total, identifier in
            print("[\(done)/\(total)] \(identifier)")
        }
        var summary = "Ensembled \(result.caseIdentifiers.count) cases of \(folders.count) folders into "
            + result.outputFolder.path
        if let decision = result.postprocessing {
            summary += " (postprocessed: keep the largest component for \(decision.forWhichClasses); raw ensemble in "
                + "\(result.rawFolder.path))"
        }
        print(summary)
    }
}
