import Foundation
import NNUNetCore

/// Evaluates many (prediction, reference) pairs and folders of them, producing `summary.json`.
///
/// Port of v1 `evaluation/evaluator.py` `aggregate_scores` and `evaluate_folder`. Cases run in parallel (v1 uses a
/// process pool); the results keep the order of the pairs.
public enum FolderEvaluation {
    /// Scores every pair and aggregates them (v1 `aggregate_scores`).
    ///
    /// - Parameters:
    ///   - pairs: (prediction, reference) NIfTI files.
    ///   - options: labels and optional surface metrics.
    ///   - jsonOutput: where to write `summary.json` (nothing is written when nil).
    ///   - name: the summary's `name` field (v1 default "").
    ///   - description: its `description` field (v1 default "").
    ///   - author: its `author` field (v1 default "Fabian").
    ///   - task: its `task` field (v1 default "").
    ///   - threads: cases evaluated concurrently (each case then uses the remaining threads).
    /// - Throws: the first failing case's error (``EvaluationError/unreadableFile(path:reason:)``,
    ///   ``EvaluationError/shapeMismatch(caseName:prediction:reference:)``, ...), in case order.
    @discardableResult
    public static func aggregateScores(pairs: [(prediction: URL, reference: URL)], options: EvaluationOptions,
                                       jsonOutput: URL? = nil, name: String = "", description: String = "",
                                       author: String = "Fabian", task: String = "",
                                       threads: Int = ThreadSettings.defaultThreads) throws -> EvaluationSummary {
        guard !pairs.isEmpty else { throw EvaluationError.invalidArgument("There are no cases to evaluate.") }
        var results = [Result<CaseScores, Error>?](repeating: nil, count: pairs.count)
        let outer = max(1, min(threads, pairs.count))
        let inner = max(1, threads / outer)
        results.withUnsafeMutableBufferPointer { buffer in
            guard let out = buffer.baseAddress else { return }
            parallelFor(pairs.count, threads: outer) { range in
                for i in range {
                    out[i] = Result {
                        try CaseEvaluator.evaluate(predictionFile: pairs[i].prediction, referenceFile: pairs[i].reference,
                                                   options: options, threads: inner)
                    }
                }
            }
        }
        let cases = try results.map { result -> CaseScores in
            guard let result else { throw EvaluationError.invalidArgument("internal: a case was not evaluated") }
            return try result.get()
        }
        let summary = EvaluationSummary(cases: cases, name: name, description: description, author: author, task: task)
        if let jsonOutput { try summary.write(to: jsonOutput) }
        return summary
    }

    /// Evaluates every `.nii.gz` of `predictionFolder` against the file of the same name in `referenceFolder` and
    /// writes `predictionFolder/summary.json` (v1 `evaluate_folder`, `nnUNet_evaluate_folder`).
    ///
    /// - Throws: ``EvaluationError/mismatchedFileSets(referenceFolder:predictionFolder:missingInPrediction:missingInReference:)``
    ///   listing the differences when the two folders do not hold the same file names,
    ///   ``EvaluationError/emptyFolder(path:)``, and the per-case errors.
    @discardableResult
    public static func evaluateFolder(reference referenceFolder: URL, prediction predictionFolder: URL,
                                      options: EvaluationOptions, writesSummary: Bool = true,
                                      threads: Int = ThreadSettings.defaultThreads) throws -> EvaluationSummary {
        let referenceFiles = try niftiFiles(in: referenceFolder)
        let predictionFiles = try niftiFiles(in: predictionFolder)
        let referenceSet = Set(referenceFiles), predictionSet = Set(predictionFiles)
        let missingInPrediction = referenceFiles.filter { !predictionSet.contains($0) }
        let missingInReference = predictionFiles.filter { !referenceSet.contains($0) }
        guard missingInPrediction.isEmpty && missingInReference.isEmpty else {
            throw EvaluationError.mismatchedFileSets(referenceFolder: referenceFolder.path,
                                                     predictionFolder: predictionFolder.path,
                                                     missingInPrediction: missingInPrediction,
                                                     missingInReference: missingInReference)
        }
        guard !predictionFiles.isEmpty else { throw EvaluationError.emptyFolder(path: predictionFolder.path) }
        let pairs = predictionFiles.map {
            (prediction: predictionFolder.appendingPathComponent($0), reference: referenceFolder.appendingPathComponent($0))
        }
        return try aggregateScores(pairs: pairs, options: options,
                                   jsonOutput: writesSummary ? predictionFolder.appendingPathComponent("summary.json") : nil,
                                   threads: threads)
    }

    /// The `.nii.gz` file names in a folder, sorted (v1 `subfiles(folder, suffix=".nii.gz", join=False)`).
    ///
    /// - Throws: ``EvaluationError/unreadableFile(path:reason:)`` when the folder cannot be listed.
    public static func niftiFiles(in folder: URL) throws -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            throw EvaluationError.unreadableFile(path: folder.path, reason: "the folder cannot be listed (does it exist?)")
        }
        return names.filter { $0.hasSuffix(".nii.gz") && !$0.hasPrefix(".") && isFile(folder.appendingPathComponent($0)) }
            .sorted()
    }

    static func isFile(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }
}
