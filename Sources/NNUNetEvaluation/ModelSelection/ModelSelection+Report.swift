import Foundation

extension ModelSelection {
    /// The placeholder folders of the printed commands (v1's spelling).
    static let testCasesPlaceholder = "FOLDER_WITH_TEST_CASES"

    /// The commands that predict test cases with the chosen candidates: the text of `prediction_commands.txt`.
    ///
    /// One block per best candidate (several when scores tie), one command per line, each ending in a newline:
    /// - a configuration: `nnunet predict -i FOLDER_WITH_TEST_CASES -o OUTPUT_FOLDER_MODEL1 -tr TR -ctr CTR -m CONFIG
    ///   -p PLANS -t TASK`;
    /// - an ensemble: that command for each of its two configurations with `-z` (outputs `OUTPUT_FOLDER_MODEL1` and
    ///   `OUTPUT_FOLDER_MODEL2`), then `nnunet ensemble -f OUTPUT_FOLDER_MODEL1 OUTPUT_FOLDER_MODEL2 -o OUTPUT_FOLDER
    ///   -pp trainedModels/ensembles/TASK/ENSEMBLE/postprocessing.json` (no `-pp` without postprocessing).
    ///
    /// As in v1, `-tr` and `-ctr` are the options' trainers (the predict command picks the cascade trainer itself).
    public static func predictionCommands(best: [Candidate], task: String, options: Options,
                                          trainedModels: URL) -> String {
        func predict(_ model: Model, output: String, savesProbabilities: Bool) -> String {
            "nnunet predict -i \(testCasesPlaceholder) -o \(output) -tr \(options.trainer) -ctr \(options.cascadeTrainer) "
                + "-m \(model.configuration) -p \(options.plansIdentifier) -t \(task)"
                + (savesProbabilities ? " -z" : "") + "\n"
        }
        var text = ""
        for candidate in best {
            guard candidate.isEnsemble else {
                if let model = candidate.models.first {
                    text += predict(model, output: "OUTPUT_FOLDER_MODEL1", savesProbabilities: false)
                }
                continue
            }
            text += predict(candidate.models[0], output: "OUTPUT_FOLDER_MODEL1", savesProbabilities: true)
            text += predict(candidate.models[1], output: "OUTPUT_FOLDER_MODEL2", savesProbabilities: true)
            text += "nnunet ensemble -f OUTPUT_FOLDER_MODEL1 OUTPUT_FOLDER_MODEL2 -o OUTPUT_FOLDER"
            if options.usesPostprocessing {
                text += " -pp " + ensemblesFolder(trainedModels: trainedModels, task: task)
                    .appendingPathComponent(candidate.name, isDirectory: true)
                    .appendingPathComponent("postprocessing.json").path
            }
            text += "\n"
        }
        return text
    }

    /// The text of `summary.csv` (v1's layout): header `model,class1,...,classN,average`, then one row per candidate
    /// with the mean Dice of labels 1...N and `results.mean.mean.Dice`, formatted `%.4f` (`nan` when NaN or absent).
    ///
    /// - Parameters:
    ///   - candidates: the configurations and ensembles scored, in row order.
    ///   - classCount: N; v1 takes the number of foreground labels of the (last) best candidate.
    public static func summaryCSV(candidates: [Candidate], classCount: Int) -> String {
        func number(_ value: Double?) -> String { String(format: "%.4f", value ?? .nan) }
        var text = "model" + (classCount > 0 ? (1...classCount).map { ",class\($0)" }.joined() : "") + ",average\n"
        for candidate in candidates {
            text += candidate.name
            if classCount > 0 {
                for c in 1...classCount { text += "," + number(candidate.meanDice[String(c)]) }
            }
            text += "," + number(candidate.foregroundMeanDice) + "\n"
        }
        return text
    }
}
