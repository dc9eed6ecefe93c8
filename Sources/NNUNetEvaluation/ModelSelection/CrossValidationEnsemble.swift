import Foundation
import NNUNetCore

/// Ensembles the cross-validation predictions of two trained models, evaluates the ensemble and determines its
/// postprocessing: one pair of ``ModelSelection``.
///
/// Port of v1 `evaluation/model_selection/ensemble.py` `ensemble`, reference sheet §12–§13. For every fold, both
/// models' `fold_k/validation_raw/` must hold `summary.json` and, for every validation case, `CASE.npz` (member
/// `softmax`) and `CASE.pkl`, as `nnunet train CONFIG TRAINER TASK FOLD -val --npz` writes them. Into the output
/// folder `trainedModels/ensembles/<Task>/<ensemble name>/` go:
/// - `ensembled_raw/CASE.nii.gz`: the mean of the two softmax arrays, exported with the first model's `CASE.pkl`
///   (``ProbabilityEnsemble/ensembleCase(_:folders:outputFolder:savesProbabilities:)``), and its `summary.json`
///   against the first model's `gt_niftis/` with the foreground labels only (name `<Task>__<ensemble name>`,
///   task `<Task>`);
/// - with postprocessing: `postprocessing.json` and `ensembled_postprocessed/` (its `summary.json` gains
///   `experiment_name` = the ensemble name and is copied to `trainedModels/summary_jsons/<Task>__<ensemble>.json`).
///
/// Everything is recomputed on each run: `ensembled_raw/` and `ensembled_postprocessed/` are recreated (v1 keeps
/// existing outputs).
public struct CrossValidationEnsemble: Sendable {
    /// The models, first one first: its `CASE.pkl` gives the geometry and its `gt_niftis/` the ground truth.
    public var first: ModelSelection.Model
    /// The first model's trainer folder (`trainedModels/<config>/<Task>/<trainer>__<plans>`), which holds `fold_k/`.
    public var firstFolder: URL
    /// The second model.
    public var second: ModelSelection.Model
    /// The second model's trainer folder.
    public var secondFolder: URL
    /// The task folder name (`TaskXXX_NAME`), used in the summary and the rerun hints.
    public var task: String
    /// The ensemble's folder, `trainedModels/ensembles/<Task>/<ensemble name>`.
    public var outputFolder: URL

    /// Creates the ensemble of two models; `outputFolder`'s name is the ensemble's name.
    public init(first: ModelSelection.Model, firstFolder: URL, second: ModelSelection.Model, secondFolder: URL,
                task: String, outputFolder: URL) {
        self.first = first
        self.firstFolder = firstFolder
        self.second = second
        self.secondFolder = secondFolder
        self.task = task
        self.outputFolder = outputFolder
    }

    /// The ensemble's name (the output folder's name).
    public var name: String { outputFolder.lastPathComponent }
    /// `outputFolder/ensembled_raw`.
    public var rawFolder: URL { outputFolder.appendingPathComponent("ensembled_raw", isDirectory: true) }
    /// `outputFolder/ensembled_raw/summary.json`.
    public var rawSummaryFile: URL { rawFolder.appendingPathComponent("summary.json") }
    /// `outputFolder/ensembled_postprocessed`.
    public var postprocessedFolder: URL {
        outputFolder.appendingPathComponent("ensembled_postprocessed", isDirectory: true)
    }

    /// One case to ensemble: the two validation folders it lies in.
    public struct Case: Sendable, Equatable {
        /// The case identifier.
        public var identifier: String
        /// The cross-validation fold whose validation set holds the case.
        public var fold: Int
        /// Both models' `fold_k/validation_raw/` folders, first model first.
        public var folders: [URL]
    }

    /// The validation cases of `folds`, after checking that both models can be ensembled on them.
    ///
    /// - Throws: ``EvaluationError/incompleteValidation(folder:problem:rerunCommand:)`` naming the first fold folder
    ///   without `summary.json` or without `CASE.npz`/`CASE.pkl` for some of its `CASE.nii.gz` (listing them), or
    ///   when the two models saved probabilities of different cases.
    public func cases(folds: [Int]) throws -> [Case] {
        var result: [Case] = []
        for fold in folds {
            let pair = [(first, firstFolder), (second, secondFolder)].map { model, folder in
                (model, folder.appendingPathComponent("fold_\(fold)", isDirectory: true)
                    .appendingPathComponent("validation_raw", isDirectory: true))
            }
            var identifiers: [[String]] = []
            for (model, folder) in pair {
                let rerun = rerunCommand(model, fold: fold)
                func fail(_ problem: String) -> EvaluationError {
                    .incompleteValidation(folder: folder.path, problem: problem, rerunCommand: rerun)
                }
                guard CrossValidationConsolidation.isDirectory(folder) else {
                    throw fail("the folder does not exist")
                }
                guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("summary.json").path) else {
                    throw fail("it has no summary.json, so the validation did not finish")
                }
                let names = Set((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
                let segmentations = try FolderEvaluation.niftiFiles(in: folder).map { String($0.dropLast(7)) }
                let saved = names.filter { $0.hasSuffix(".npz") && !$0.hasPrefix(".") }.map { String($0.dropLast(4)) }
                let all = Set(segmentations).union(saved).sorted()
                let missing = all.flatMap { id in [id + ".npz", id + ".pkl"].filter { !names.contains($0) } }
                guard missing.isEmpty else {
                    let shown = missing.prefix(20).joined(separator: ", ")
                        + (missing.count > 20 ? ", ... (\(missing.count - 20) more)" : "")
                    throw fail("the saved probabilities of \(missing.count) file(s) are missing: \(shown)")
                }
                guard !all.isEmpty else { throw fail("it holds no validation cases") }
                identifiers.append(all)
            }
            guard identifiers[0] == identifiers[1] else {
                let onlyFirst = Set(identifiers[0]).subtracting(identifiers[1]).sorted()
                let onlySecond = Set(identifiers[1]).subtracting(identifiers[0]).sorted()
                throw EvaluationError.incompleteValidation(
                    folder: pair[1].1.path,
                    problem: "fold \(fold) of the two models holds different cases (only in \(first.configuration): "
                        + "\(onlyFirst.joined(separator: ", ")); only in \(second.configuration): "
                        + "\(onlySecond.joined(separator: ", "))); both must use the same splits",
                    rerunCommand: rerunCommand(second, fold: fold))
            }
            let validationFolders = pair.map { $0.1 }
            result += identifiers[0].map { Case(identifier: $0, fold: fold, folders: validationFolders) }
        }
        return result
    }

    /// Ensembles, evaluates and (optionally) determines the postprocessing.
    ///
    /// - Parameters:
    ///   - folds: the cross-validation folds.
    ///   - labels: the foreground labels to evaluate (v1 `all_classes`).
    ///   - determinesPostprocessing: write `postprocessing.json` and `ensembled_postprocessed/`.
    ///   - summaryJSONsFolder: where the postprocessed summary is copied (`trainedModels/summary_jsons`); nil: nowhere.
    ///   - threads: cases processed at the same time.
    ///   - progress: one line per step.
    /// - Returns: the raw ensemble's evaluation (`ensembled_raw/summary.json`).
    /// - Throws: the errors of ``cases(folds:)`` before anything is written, ``EvaluationError/unreadableFile(path:reason:)``
    ///   when the ground truth of a case is missing, and the ensembling, evaluation and postprocessing errors.
    @discardableResult
    public func run(folds: [Int], labels: [Int], determinesPostprocessing: Bool = true,
                    summaryJSONsFolder: URL? = nil, threads: Int = ThreadSettings.defaultThreads,
                    progress: ((String) -> Void)? = nil) throws -> EvaluationSummary {
        guard !labels.isEmpty else {
            throw EvaluationError.invalidArgument("The ensemble \(name) needs at least one foreground label to "
                + "evaluate.")
        }
        let cases = try cases(folds: folds)
        let groundTruth = firstFolder.appendingPathComponent(CrossValidationConsolidation.groundTruthFolderName,
                                                             isDirectory: true)
        let missingTruth = cases.map(\.identifier).filter {
            !FolderEvaluation.isFile(groundTruth.appendingPathComponent($0 + ".nii.gz"))
        }
        guard missingTruth.isEmpty else {
            throw EvaluationError.unreadableFile(path: groundTruth.path, reason: "the ground truth of "
                + missingTruth.prefix(20).joined(separator: ", ") + " is missing; gt_niftis must hold every "
                + "validation case")
        }
        for folder in [rawFolder] + (determinesPostprocessing ? [postprocessedFolder] : []) {
            try Self.removeIfPresent(folder)
        }
        try PostprocessingDetermination.createFolder(rawFolder)
        progress?("\(name): averaging the probabilities of \(cases.count) validation cases")
        var errors = [Error?](repeating: nil, count: cases.count)
        errors.withUnsafeMutableBufferPointer { buffer in
            guard let out = buffer.baseAddress else { return }
            parallelFor(cases.count, threads: max(1, threads)) { range in
                for i in range {
                    do {
                        try ProbabilityEnsemble.ensembleCase(cases[i].identifier, folders: cases[i].folders,
                                                             outputFolder: rawFolder)
                    } catch {
                        out[i] = error
                    }
                }
            }
        }
        if let error = errors.compactMap({ $0 }).first { throw error }

        progress?("\(name): evaluating ensembled_raw (labels \(labels.map(String.init).joined(separator: " ")))")
        let summary = try FolderEvaluation.aggregateScores(
            pairs: cases.map { (rawFolder.appendingPathComponent($0.identifier + ".nii.gz"),
                                groundTruth.appendingPathComponent($0.identifier + ".nii.gz")) },
            options: EvaluationOptions(labels: labels), jsonOutput: rawSummaryFile, name: "\(task)__\(name)",
            task: task, threads: threads)
        guard determinesPostprocessing else { return summary }

        progress?("\(name): determining the postprocessing")
        try PostprocessingDetermination.determine(base: outputFolder, groundTruthFolder: groundTruth,
                                                  rawSubfolder: rawFolder.lastPathComponent,
                                                  finalSubfolder: postprocessedFolder.lastPathComponent,
                                                  threads: threads)
        let postprocessedSummary = postprocessedFolder.appendingPathComponent("summary.json")
        let text = try JSONValue.read(postprocessedSummary).setting("experiment_name", to: .string(name))
            .serialized(sortKeys: true, indent: 4)
        try AtomicFileWriter.write(text, to: postprocessedSummary)
        if let summaryJSONsFolder {
            try PostprocessingDetermination.createFolder(summaryJSONsFolder)
            try AtomicFileWriter.write(text, to: summaryJSONsFolder.appendingPathComponent("\(task)__\(name).json"))
        }
        return summary
    }

    /// `nnunet train CONFIG TRAINER TASK FOLD -val --npz` for one model and fold (`-p` when the plans are not the
    /// default ones).
    public func rerunCommand(_ model: ModelSelection.Model, fold: Int) -> String {
        "nnunet train \(model.configuration) \(model.trainer) \(task) \(fold) -val --npz"
            + (model.plansIdentifier == "nnUNetPlansv2.1" ? "" : " -p \(model.plansIdentifier)")
    }

    static func removeIfPresent(_ folder: URL) throws {
        guard FileManager.default.fileExists(atPath: folder.path) else { return }
        do { try FileManager.default.removeItem(at: folder) } catch {
            throw EvaluationError.unwritableFile(path: folder.path, reason: "the old folder cannot be removed")
        }
    }
}
