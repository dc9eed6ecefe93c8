import Foundation
import NNUNetCore

/// Picks the best configuration (or pair of configurations to ensemble) of a task from its cross-validation: the
/// Swift API behind `nnunet find-best-configuration`.
///
/// Port of v1 `evaluation/model_selection/figure_out_what_to_submit.py` (`nnUNet_find_best_configuration`), reference
/// sheet §13. For one task, under `trainedModels` (`RESULTS_FOLDER/nnUNet`):
/// 1. Every configuration's trainer folder (`<config>/<Task>/<trainer>__<plans>`; the cascade uses the cascade
///    trainer) must exist. When `postprocessing.json` or `cv_niftis_raw/` is missing the folds are consolidated
///    (``CrossValidationConsolidation/consolidate(trainerFolder:validationFolder:folds:threads:)``); with
///    postprocessing disabled only `cv_niftis_raw/` is collected and evaluated, if its `summary.json` is missing.
///    Score = the plain mean over the foreground labels of the mean Dice in `cv_niftis_raw/summary.json` (before
///    postprocessing); v1's `foreground_mean` (`results.mean.mean`) is then added to that file.
/// 2. Unless ensembling is disabled, every unordered pair of configurations (in the given order, as
///    `itertools.combinations`) is ensembled on the validation folds (``CrossValidationEnsemble``) and scored from
///    `ensembled_raw/summary.json` the same way.
/// 3. The best score wins; every candidate with exactly that score is reported.
/// 4. `prediction_commands.txt` and `summary.csv` are written to `ensembles/<Task>/`.
///
/// ```swift
/// let result = try ModelSelection.run(trainedModels: results.appendingPathComponent("nnUNet"),
///                                     task: "Task004_Hippocampus",
///                                     options: .init(configurations: [.twoD, .fullres]))
/// print(result.best.map(\.name), result.predictionCommands)
/// ```
///
/// Deliberate differences from v1: all model folders are checked before any work starts (v1 stops at the first
/// missing one after consolidating the earlier ones); ensembles are recomputed on every run (v1 keeps existing
/// `ensembled_raw` files, summary and `postprocessing.json`, so a retrained model would be compared with a stale
/// ensemble); the ground truth of an ensemble is the first model's `gt_niftis/` (v1 reads the preprocessed
/// `gt_segmentations/`, the same files) and its labels the first model's foreground labels (v1 reads `all_classes`
/// from its plans, the same labels); a NaN score is never chosen (v1 then fails); and the printed commands use this
/// package's `nnunet predict` / `nnunet ensemble`.
///
/// ### See Also
/// - ``CrossValidationEnsemble``
/// - ``CrossValidationConsolidation``
public enum ModelSelection {
    /// One trained model: a configuration with its trainer and plans.
    public struct Model: Sendable, Equatable, Hashable {
        /// `2d`, `3d_lowres`, `3d_fullres` or `3d_cascade_fullres`.
        public var configuration: NetworkConfiguration
        /// The trainer class name, e.g. `nnUNetTrainerV2`.
        public var trainer: String
        /// The plans identifier, e.g. `nnUNetPlansv2.1`.
        public var plansIdentifier: String

        /// Creates a model.
        public init(configuration: NetworkConfiguration, trainer: String, plansIdentifier: String) {
            self.configuration = configuration
            self.trainer = trainer
            self.plansIdentifier = plansIdentifier
        }

        /// `<configuration>__<trainer>__<plans>`, the part of an ensemble's name that stands for this model.
        public var identifier: String { "\(configuration)__\(trainer)__\(plansIdentifier)" }

        /// `trainedModels/<configuration>/<task>/<trainer>__<plans>`.
        public func trainerFolder(trainedModels: URL, task: String) -> URL {
            CrossValidationConsolidation.trainerFolder(trainedModels: trainedModels, configuration: configuration,
                                                       task: task, trainer: trainer, plansIdentifier: plansIdentifier)
        }
    }

    /// What to compare (v1's command-line arguments).
    public struct Options: Sendable, Equatable {
        /// The configurations, in order (v1 `-m`; default all four). Pairs are formed in this order.
        public var configurations: [NetworkConfiguration]
        /// Trainer of every configuration but the cascade (v1 `-tr`).
        public var trainer: String
        /// Trainer of `3d_cascade_fullres` (v1 `-ctr`).
        public var cascadeTrainer: String
        /// Plans identifier (v1 `-pl`).
        public var plansIdentifier: String
        /// Cross-validation folds (v1 `-f`; default 0–4).
        public var folds: [Int]
        /// Whether pairs of configurations are ensembled (v1 `--disable_ensembling` turns it off).
        public var usesEnsembling: Bool
        /// Whether postprocessing is determined (v1 `--disable_postprocessing` turns it off).
        public var usesPostprocessing: Bool
        /// Cases processed at the same time.
        public var threads: Int

        /// Creates options; the defaults are v1's: all four configurations, `nnUNetTrainerV2`, `nnUNetPlansv2.1`,
        /// folds 0–4, ensembling and postprocessing on.
        public init(configurations: [NetworkConfiguration] = NetworkConfiguration.allCases,
                    trainer: String = "nnUNetTrainerV2", cascadeTrainer: String = "nnUNetTrainerV2CascadeFullRes",
                    plansIdentifier: String = "nnUNetPlansv2.1", folds: [Int] = [0, 1, 2, 3, 4],
                    usesEnsembling: Bool = true, usesPostprocessing: Bool = true,
                    threads: Int = ThreadSettings.defaultThreads) {
            self.configurations = configurations
            self.trainer = trainer
            self.cascadeTrainer = cascadeTrainer
            self.plansIdentifier = plansIdentifier
            self.folds = folds
            self.usesEnsembling = usesEnsembling
            self.usesPostprocessing = usesPostprocessing
            self.threads = threads
        }

        /// The model of a configuration: the cascade trainer for `3d_cascade_fullres`, the trainer otherwise.
        public func model(for configuration: NetworkConfiguration) -> Model {
            Model(configuration: configuration, trainer: configuration.isCascade ? cascadeTrainer : trainer,
                  plansIdentifier: plansIdentifier)
        }
    }

    /// A scored configuration or ensemble.
    public struct Candidate: Sendable, Equatable {
        /// The configuration (`3d_fullres`) or the ensemble's name (``ensembleName(_:_:)``), as v1 prints it.
        public var name: String
        /// One model, or the two models of an ensemble.
        public var models: [Model]
        /// The plain mean over the foreground labels of the mean Dice (NaN when any of them is NaN, as `np.mean`).
        public var score: Double
        /// Mean Dice per label (`"0"`, `"1"`, ...) as in the summary's `results.mean`.
        public var meanDice: [String: Double]
        /// `results.mean.mean.Dice`: the nanmean of the foreground labels' Dice (v1 `foreground_mean`).
        public var foregroundMeanDice: Double
        /// The `summary.json` the score comes from (`cv_niftis_raw/` or `ensembled_raw/`).
        public var summaryFile: URL

        /// Whether this is an ensemble of two configurations.
        public var isEnsemble: Bool { models.count > 1 }
    }

    /// What ``run(trainedModels:task:options:progress:)`` found and wrote.
    public struct Result: Sendable, Equatable {
        /// The task folder name.
        public var task: String
        /// Single configurations in the given order, then the ensembles in pair order.
        public var candidates: [Candidate]
        /// Every candidate with the best score, in candidate order.
        public var best: [Candidate]
        /// The text of `prediction_commands.txt`.
        public var predictionCommands: String
        /// The text of `summary.csv`.
        public var summaryCSV: String
        /// `trainedModels/ensembles/<Task>`, which holds `prediction_commands.txt`, `summary.csv` and the ensembles.
        public var ensemblesFolder: URL
    }

    /// `ensemble_<m1>__<tr1>__<pl>--<m2>__<tr2>__<pl>`, the name of an ensemble and of its folder.
    public static func ensembleName(_ first: Model, _ second: Model) -> String {
        "ensemble_\(first.identifier)--\(second.identifier)"
    }

    /// `trainedModels/ensembles/<task>`.
    public static func ensemblesFolder(trainedModels: URL, task: String) -> URL {
        trainedModels.appendingPathComponent("ensembles", isDirectory: true).appendingPathComponent(task, isDirectory: true)
    }

    /// Runs the model selection for one task (see the type's discussion).
    ///
    /// - Parameters:
    ///   - trainedModels: `RESULTS_FOLDER/nnUNet`.
    ///   - task: the task folder name, `TaskXXX_NAME`.
    ///   - options: configurations, trainers, plans, folds and switches.
    ///   - progress: called with one line per step (consolidation, evaluation, each ensemble, the verdict).
    /// - Returns: the candidates, the best ones and the texts written.
    /// - Throws: ``EvaluationError/missingModelFolders(configurations:folders:)`` before anything is done; the
    ///   consolidation's errors (``EvaluationError/missingFolds(trainerFolder:folds:validationFolder:)``, ...);
    ///   ``EvaluationError/incompleteValidation(folder:problem:rerunCommand:)`` when a fold lacks saved
    ///   probabilities for ensembling; ``EvaluationError/unwritableFile(path:reason:)``.
    @discardableResult
    public static func run(trainedModels: URL, task: String, options: Options,
                           progress: ((String) -> Void)? = nil) throws -> Result {
        let log = progress ?? { _ in }
        guard !options.configurations.isEmpty else {
            throw EvaluationError.invalidArgument("Give at least one configuration (-m) to compare.")
        }
        guard Set(options.configurations).count == options.configurations.count else {
            throw EvaluationError.invalidArgument("Each configuration may be given only once (-m "
                + options.configurations.map(\.rawValue).joined(separator: " ") + ").")
        }
        guard !options.folds.isEmpty else { throw EvaluationError.invalidArgument("Give at least one fold (-f).") }
        let models = options.configurations.map(options.model(for:))
        let folders = models.map { $0.trainerFolder(trainedModels: trainedModels, task: task) }
        let missing = zip(models, folders).filter { !CrossValidationConsolidation.isDirectory($0.1) }
        guard missing.isEmpty else {
            throw EvaluationError.missingModelFolders(configurations: missing.map { $0.0.configuration },
                                                     folders: missing.map { $0.1.path })
        }

        var candidates: [Candidate] = []
        for (model, folder) in zip(models, folders) {
            let rawFolder = folder.appendingPathComponent(CrossValidationConsolidation.rawFolderName, isDirectory: true)
            let summaryFile = rawFolder.appendingPathComponent("summary.json")
            if options.usesPostprocessing {
                let decision = folder.appendingPathComponent("postprocessing.json")
                if !FileManager.default.fileExists(atPath: decision.path)
                    || !CrossValidationConsolidation.isDirectory(rawFolder) {
                    log("\(task) \(model.configuration): consolidating folds \(foldList(options.folds)) and "
                        + "determining the postprocessing")
                    try CrossValidationConsolidation.consolidate(trainerFolder: folder, folds: options.folds,
                                                                 threads: options.threads)
                }
            } else if !FileManager.default.fileExists(atPath: summaryFile.path) {
                log("\(task) \(model.configuration): collecting and evaluating the validation predictions of folds "
                    + foldList(options.folds))
                try CrossValidationConsolidation.collectAndEvaluate(trainerFolder: folder, folds: options.folds,
                                                                    threads: options.threads)
            }
            let candidate = try score(summaryFile: summaryFile, name: model.configuration.rawValue, models: [model])
            log("\(task) \(model.configuration): foreground mean Dice \(format(candidate.score))")
            candidates.append(candidate)
        }

        if options.usesEnsembling && models.count > 1 {
            log("\(task): ensembling every pair of " + options.configurations.map(\.rawValue).joined(separator: ", "))
            for i in 0..<(models.count - 1) {
                for j in (i + 1)..<models.count {
                    let name = ensembleName(models[i], models[j])
                    let labels = candidates[i].meanDice.keys.compactMap { Int($0) }.filter { $0 != 0 }.sorted()
                    log("\(task) \(name): ensembling folds \(foldList(options.folds))")
                    let ensemble = CrossValidationEnsemble(
                        first: models[i], firstFolder: folders[i], second: models[j], secondFolder: folders[j],
                        task: task, outputFolder: ensemblesFolder(trainedModels: trainedModels, task: task)
                            .appendingPathComponent(name, isDirectory: true))
                    try ensemble.run(folds: options.folds, labels: labels,
                                     determinesPostprocessing: options.usesPostprocessing,
                                     summaryJSONsFolder: trainedModels.appendingPathComponent("summary_jsons",
                                                                                             isDirectory: true),
                                     threads: options.threads, progress: log)
                    let candidate = try score(summaryFile: ensemble.rawSummaryFile, name: name,
                                              models: [models[i], models[j]])
                    log("\(task) \(name): foreground mean Dice \(format(candidate.score))")
                    candidates.append(candidate)
                }
            }
        }

        let scores = candidates.map(\.score).filter { !$0.isNaN }
        guard let bestScore = scores.max() else {
            throw EvaluationError.invalidArgument("No configuration of \(task) has a foreground mean Dice (every "
                + "score is NaN): the validation predictions and the ground truth hold no foreground.")
        }
        let best = candidates.filter { $0.score == bestScore }
        for candidate in candidates { log("\(candidate.name) \(format(candidate.score))") }
        for candidate in best { log("\(task) submit model \(candidate.name) \(format(candidate.score))") }

        let folder = ensemblesFolder(trainedModels: trainedModels, task: task)
        let commands = predictionCommands(best: best, task: task, options: options, trainedModels: trainedModels)
        let csv = summaryCSV(candidates: candidates, classCount: best.last.map(foregroundClassCount) ?? 0)
        try PostprocessingDetermination.createFolder(folder)
        try AtomicFileWriter.write(commands, to: folder.appendingPathComponent("prediction_commands.txt"))
        try AtomicFileWriter.write(csv, to: folder.appendingPathComponent("summary.csv"))
        return Result(task: task, candidates: candidates, best: best, predictionCommands: commands, summaryCSV: csv,
                      ensemblesFolder: folder)
    }

    /// Reads a `summary.json`, scores it and adds v1's `foreground_mean` to the file.
    static func score(summaryFile: URL, name: String, models: [Model]) throws -> Candidate {
        let summary = try EvaluationSummary.read(summaryFile)
        // v1 get_foreground_mean: np.mean over the labels other than "0" (and the added "mean"), NaN propagating.
        let foreground = summary.mean.filter { $0.label != "0" && $0.label != "mean" }
        let score = NumPyMean.mean(foreground.map { $0.values[SegmentationMetric.dice.rawValue] ?? .nan })
        let withMean = summary.addingForegroundMean()
        try withMean.write(to: summaryFile)
        var dice: [String: Double] = [:]
        for label in withMean.mean { dice[label.label] = label.values[SegmentationMetric.dice.rawValue] ?? .nan }
        return Candidate(name: name, models: models, score: score, meanDice: dice,
                         foregroundMeanDice: withMean.foregroundMean?[SegmentationMetric.dice.rawValue] ?? .nan,
                         summaryFile: summaryFile)
    }

    /// The number of labels other than 0 in a candidate's summary (v1 sizes the csv columns with the best one).
    static func foregroundClassCount(_ candidate: Candidate) -> Int {
        candidate.meanDice.keys.filter { $0 != "0" && $0 != "mean" }.count
    }

    static func foldList(_ folds: [Int]) -> String { folds.map(String.init).joined(separator: " ") }

    static func format(_ value: Double) -> String { value.isNaN ? "NaN" : String(format: "%.6f", value) }
}
