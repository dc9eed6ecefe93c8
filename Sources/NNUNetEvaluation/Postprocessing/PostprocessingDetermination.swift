import Foundation
import NNUNetCore

/// Chooses the postprocessing ("keep the largest component") from validation predictions and their ground truth.
///
/// Port of v1 `postprocessing/connected_components.py` `determine_postprocessing` with its defaults
/// (`dice_threshold=0`, `advanced_postprocessing=False`), reference sheet §11:
/// 1. classes = the labels of the raw summary's `mean` except 0, in the file's (sorted-string) key order.
/// 2. Keep the largest region of all classes together; accepted iff at least one class's mean Dice strictly
///    increases and none decreases (comparisons with NaN are false). Accepted → `for_which_classes = [classes]`.
/// 3. With more than one class: from the step-2 result if accepted, else from the raw predictions, keep the largest
///    component of each class; class c is accepted iff its mean Dice exceeds the reference (step 2 if accepted, else
///    raw). Accepted classes are appended as integers.
/// 4. The final list is applied to the raw predictions → final folder with its `summary.json` (labels = classes),
///    and `postprocessing.json` is written.
///
/// Deliberate difference: v1 writes the intermediate predictions of steps 2 and 3 to `temp_allClasses/` and
/// `temp_perClass/` and deletes them at the end; here they stay in memory (each case is read once for steps 2–3),
/// which gives the same numbers without the disk traffic. The outputs (final folder, its summary, the decision) are
/// v1's.
public enum PostprocessingDetermination {
    /// Per-fold form, as the trainer's validation calls it: `base/rawSubfolder` holds the raw predictions and their
    /// `summary.json`, the decision goes to `base/postprocessing.json` and the final predictions to
    /// `base/finalSubfolder` (v1 `determine_postprocessing(base, gt_labels_folder, raw_subfolder_name,
    /// final_subf_name=...)`).
    ///
    /// - Throws: ``EvaluationError/invalidJSON(path:reason:)`` when the raw `summary.json` is missing, and the
    ///   reading/evaluation errors naming the case.
    @discardableResult
    public static func determine(base: URL, groundTruthFolder: URL, rawSubfolder: String = "validation_raw",
                                 finalSubfolder: String = "validation_final",
                                 decisionFileName: String = "postprocessing.json",
                                 threads: Int = ThreadSettings.defaultThreads) throws -> PostprocessingDecision {
        let rawFolder = base.appendingPathComponent(rawSubfolder, isDirectory: true)
        let summaryURL = rawFolder.appendingPathComponent("summary.json")
        guard FileManager.default.fileExists(atPath: summaryURL.path) else {
            throw EvaluationError.invalidJSON(path: summaryURL.path,
                                              reason: "the raw predictions need their summary.json (evaluate them first)")
        }
        let rawSummary = try EvaluationSummary.read(summaryURL)
        return try determine(rawFolder: rawFolder, rawSummary: rawSummary, groundTruthFolder: groundTruthFolder,
                             finalFolder: base.appendingPathComponent(finalSubfolder, isDirectory: true),
                             decisionFile: base.appendingPathComponent(decisionFileName), threads: threads)
    }

    /// General form: any raw folder (read only), its evaluation, and where the final predictions and the decision go.
    /// `validation_raw` / `validation_final` in the decision are the two folders' names.
    @discardableResult
    public static func determine(rawFolder: URL, rawSummary: EvaluationSummary, groundTruthFolder: URL,
                                 finalFolder: URL, decisionFile: URL,
                                 threads: Int = ThreadSettings.defaultThreads) throws -> PostprocessingDecision {
        // v1 reads the keys from the file, where they are sorted as strings.
        let classes = rawSummary.mean.map(\.label).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            .compactMap { Int($0) }.filter { $0 != 0 }
        guard !classes.isEmpty else {
            throw EvaluationError.invalidArgument("The raw summary of '\(rawFolder.path)' has no foreground label; "
                + "there is nothing to postprocess.")
        }
        let names = try FolderEvaluation.niftiFiles(in: rawFolder)
        guard !names.isEmpty else { throw EvaluationError.emptyFolder(path: rawFolder.path) }
        let options = EvaluationOptions(labels: classes, checksGeometry: false)
        let allClasses = [ClassSet.union(classes)], perClass = classes.map { ClassSet.single($0) }

        // Steps 2 and 3 on every case: all classes as one; per class from raw; per class from the step-2 output.
        var scores = [Result<[CaseScores], Error>?](repeating: nil, count: names.count)
        let outer = max(1, min(threads, names.count)), inner = max(1, threads / outer)
        scores.withUnsafeMutableBufferPointer { buffer in
            guard let out = buffer.baseAddress else { return }
            parallelFor(names.count, threads: outer) { range in
                for i in range {
                    out[i] = Result {
                        var (raw, gt) = try CaseEvaluator.readVolumePair(rawFolder.appendingPathComponent(names[i]),
                                                                   groundTruthFolder.appendingPathComponent(names[i]),
                                                                   threads: inner)
                        let v = LargestComponentFilter.volumePerVoxel(raw.geometry)
                        let caseName = CaseEvaluator.caseName(of: rawFolder.appendingPathComponent(names[i]))
                        func score(_ prediction: Volume) throws -> CaseScores {
                            CaseScores(labels: try CaseEvaluator.evaluate(prediction: prediction, reference: gt,
                                                                          caseName: caseName, options: options,
                                                                          threads: inner))
                        }
                        // Three volumes in memory at a time: raw, ground truth and one working copy.
                        var work = raw
                        LargestComponentFilter.apply(to: &work.data, shape: raw.shape, volumePerVoxel: v,
                                                     classSets: allClasses, threads: inner)
                        let allScores = try score(work)
                        LargestComponentFilter.apply(to: &work.data, shape: raw.shape, volumePerVoxel: v,
                                                     classSets: perClass, threads: inner)
                        let perFromAllScores = try score(work)
                        work = Volume(data: [], shape: [0, 0, 0], geometry: raw.geometry)
                        LargestComponentFilter.apply(to: &raw.data, shape: raw.shape, volumePerVoxel: v,
                                                     classSets: perClass, threads: inner)
                        return [allScores, try score(raw), perFromAllScores]
                    }
                }
            }
        }
        let perCase = try scores.map { try ($0 ?? .failure(EvaluationError.invalidArgument("case not run"))).get() }
        let allSummary = EvaluationSummary(cases: perCase.map { $0[0] })

        var decision = PostprocessingDecision(numberOfSamples: rawSummary.cases.count,
                                              rawFolderName: rawFolder.lastPathComponent,
                                              finalFolderName: finalFolder.lastPathComponent)
        for c in classes {
            decision.dicePerClassRaw[String(c)] = rawSummary.meanDice(of: c)
            decision.dicePerClassAllClasses[String(c)] = allSummary.meanDice(of: c)
        }
        let rawDice = classes.map { rawSummary.meanDice(of: $0) }, allDice = classes.map { allSummary.meanDice(of: $0) }
        let improves = zip(allDice, rawDice).contains { $0 > $1 }
        let worsens = zip(allDice, rawDice).contains { $0 < $1 }
        let acceptsAllClasses = improves && !worsens
        if acceptsAllClasses { decision.forWhichClasses.append(.union(classes)) }

        if classes.count > 1 {
            let perClassSummary = EvaluationSummary(cases: perCase.map { $0[acceptsAllClasses ? 2 : 1] })
            let before = acceptsAllClasses ? allDice : rawDice
            for (c, reference) in zip(classes, before) {
                let after = perClassSummary.meanDice(of: c)
                decision.dicePerClassPerClass[String(c)] = after
                if after > reference { decision.forWhichClasses.append(.single(c)) }
            }
        }

        // Step 4: apply the decision to the raw predictions and evaluate.
        try createFolder(finalFolder)
        try PostprocessingApplication.apply(classSets: decision.forWhichClasses, minimumSizes: nil, inputFolder: rawFolder,
                                            outputFolder: finalFolder, fileNames: names, threads: threads)
        try FolderEvaluation.aggregateScores(
            pairs: names.map { (finalFolder.appendingPathComponent($0), groundTruthFolder.appendingPathComponent($0)) },
            options: options, jsonOutput: finalFolder.appendingPathComponent("summary.json"), threads: threads)
        try decision.write(to: decisionFile)
        return decision
    }

    static func createFolder(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw EvaluationError.unwritableFile(path: url.path, reason: "the folder cannot be created")
        }
    }
}
