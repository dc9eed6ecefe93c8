import ArgumentParser
import Foundation
import NNUNetCore
import NNUNetEvaluation

/// `nnunet evaluate-folder` (v1 `nnUNet_evaluate_folder`).
struct EvaluateFolderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate-folder",
        abstract: "Compare predicted segmentations with references and write summary.json.",
        discussion: """
            Every .nii.gz in the prediction folder is compared with the file of the same name in the reference \
            folder (the two folders must hold the same names). The per-case metrics and their mean go to \
            PRED/summary.json in nnU-Net v1's layout; the mean per label is also printed at the end.

              nnunet evaluate-folder -ref labelsTs -pred predictions -l 1 2
            """,
        aliases: ["evaluate_folder", "nnUNet_evaluate_folder"]
    )

    @Option(name: .customLong("ref", withSingleDash: true), help: "Folder with reference segmentations.")
    var reference: String
    @Option(name: .customLong("pred", withSingleDash: true), help: "Folder with predicted segmentations.")
    var prediction: String
    @Option(name: .customShort("l"), parsing: .upToNextOption, help: "Labels to evaluate, e.g. -l 1 2.")
    var labels: [Int]
    @Flag(name: .customLong("surface-metrics"),
          help: "Also compute Hausdorff distance 95, average symmetric surface distance and normalised surface Dice.")
    var surfaceMetrics = false
    @Option(name: .customLong("nsd-tolerance"), help: "Tolerance of the normalised surface Dice in mm (default 1).")
    var surfaceDiceTolerance = 1.0
    @Flag(name: .customLong("shape-check-only"),
          help: "Only require equal shapes, as v1 does (by default spacing, origin and direction must match too).")
    var shapeCheckOnly = false
    @Option(name: .customLong("threads"), help: "Threads (default: all cores).")
    var threads = ThreadSettings.defaultThreads

    func validate() throws {
        guard !labels.isEmpty else { throw ValidationError("Please give the labels to evaluate, e.g. -l 1 2.") }
        guard threads >= 1 else { throw ValidationError("Please use at least one thread.") }
        guard surfaceDiceTolerance >= 0 else { throw ValidationError("Please give a non-negative --nsd-tolerance.") }
    }

    func run() throws {
        let predictionFolder = URL(fileURLWithPath: prediction, isDirectory: true)
        let options = EvaluationOptions(labels: labels, includesSurfaceMetrics: surfaceMetrics,
                                        surfaceDiceTolerance: surfaceDiceTolerance, checksGeometry: !shapeCheckOnly)
        let summary = try FolderEvaluation.evaluateFolder(
            reference: URL(fileURLWithPath: reference, isDirectory: true), prediction: predictionFolder,
            options: options, threads: threads)
        print("Evaluated \(summary.cases.count) cases; wrote \(predictionFolder.appendingPathComponent("summary.json").path)")
        print(Self.meanTable(summary))
    }

    /// The mean per label of the headline metrics, one row per label.
    static func meanTable(_ summary: EvaluationSummary) -> String {
        var columns = ["Dice", "Jaccard", "Precision", "Recall"]
        if summary.mean.contains(where: { $0.values[SurfaceMetrics.hausdorff95Key] != nil }) {
            columns += [SurfaceMetrics.hausdorff95Key, SurfaceMetrics.averageSymmetricSurfaceDistanceKey,
                        SurfaceMetrics.normalizedSurfaceDiceKey]
        }
        let short = ["Hausdorff Distance 95": "HD95", "Avg. Symmetric Surface Distance": "ASSD",
                     "Normalized Surface Dice": "NSD"]
        func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        var lines = ["Mean over cases (NaN cases skipped):",
                     pad("label", 7) + columns.map { pad(short[$0] ?? $0, 11) }.joined()]
        for label in summary.mean {
            lines.append(pad(label.label, 7) + columns.map { column in
                let value = label.values[column] ?? .nan
                return pad(value.isNaN ? "NaN" : String(format: "%.4f", value), 11)
            }.joined())
        }
        return lines.joined(separator: "\n")
    }
}
