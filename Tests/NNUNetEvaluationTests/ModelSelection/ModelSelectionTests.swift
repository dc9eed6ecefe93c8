import Foundation
import NNUNetCore
@testable import NNUNetEvaluation
import Testing

@Suite("Model selection (nnunet find-best-configuration)")
struct ModelSelectionTests {
    typealias Fixture = ModelSelectionFixture
    static let ensemble = "ensemble_2d__nnUNetTrainerV2__nnUNetPlansv2.1--3d_fullres__nnUNetTrainerV2__nnUNetPlansv2.1"
    static let options = ModelSelection.Options(configurations: [.twoD, .fullres], folds: [0, 1], threads: 2)

    static func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }

    static func csvRow(_ name: String, _ dice: [Int: Double]) -> String {
        name + [dice[1], dice[2], Fixture.score(dice)].map { String(format: ",%.4f", $0 ?? .nan) }.joined()
    }

    @Test("the fixture's design holds: the ensemble beats 3d_fullres, which beats 2d")
    func fixtureDesign() {
        let single2d = Fixture.score(Fixture.singleModelDice("2d"))
        let single3d = Fixture.score(Fixture.singleModelDice("3d_fullres"))
        let ensemble = Fixture.score(Fixture.ensembleDice)
        #expect(single2d < single3d && single3d < ensemble && ensemble < 1)
    }

    @Test("scores, choice, summary.csv, prediction commands and the ensemble folder layout")
    func fullRun() throws {
        try Fixture.withFixture { fixture in
            var lines: [String] = []
            let result = try ModelSelection.run(trainedModels: fixture.trainedModels, task: Fixture.task,
                                                options: Self.options) { lines.append($0) }
            let expected = [("2d", Fixture.singleModelDice("2d")), ("3d_fullres", Fixture.singleModelDice("3d_fullres")),
                            (Self.ensemble, Fixture.ensembleDice)]
            #expect(result.candidates.map(\.name) == expected.map(\.0))
            for (candidate, (_, dice)) in zip(result.candidates, expected) {
                #expect(TestSupport.isClose(candidate.score, Fixture.score(dice), relative: 1e-12))
                #expect(TestSupport.isClose(candidate.foregroundMeanDice, Fixture.score(dice), relative: 1e-12))
                for label in 1...2 {
                    #expect(TestSupport.isClose(candidate.meanDice[String(label)] ?? .nan, dice[label] ?? .nan,
                                                relative: 1e-12))
                }
            }
            #expect(result.best.map(\.name) == [Self.ensemble])
            #expect(result.best.first?.models.map(\.configuration) == [.twoD, .fullres])

            // summary.csv
            let folder = fixture.trainedModels.appendingPathComponent("ensembles/\(Fixture.task)")
            #expect(result.ensemblesFolder.standardizedFileURL == folder.standardizedFileURL)
            let csv = try String(contentsOf: folder.appendingPathComponent("summary.csv"), encoding: .utf8)
            #expect(csv == result.summaryCSV)
            #expect(csv == (["model,class1,class2,average"] + expected.map { Self.csvRow($0.0, $0.1) })
                .joined(separator: "\n") + "\n")

            // prediction_commands.txt
            let pp = folder.appendingPathComponent(Self.ensemble).appendingPathComponent("postprocessing.json").path
            let commands = """
                nnunet predict -i FOLDER_WITH_TEST_CASES -o OUTPUT_FOLDER_MODEL1 -tr nnUNetTrainerV2 \
                -ctr nnUNetTrainerV2CascadeFullRes -m 2d -p nnUNetPlansv2.1 -t Task099_Synthetic -z
                nnunet predict -i FOLDER_WITH_TEST_CASES -o OUTPUT_FOLDER_MODEL2 -tr nnUNetTrainerV2 \
                -ctr nnUNetTrainerV2CascadeFullRes -m 3d_fullres -p nnUNetPlansv2.1 -t Task099_Synthetic -z
                nnunet ensemble -f OUTPUT_FOLDER_MODEL1 OUTPUT_FOLDER_MODEL2 -o OUTPUT_FOLDER -pp \(pp)

                """
            #expect(try String(contentsOf: folder.appendingPathComponent("prediction_commands.txt"), encoding: .utf8)
                    == commands)
            #expect(result.predictionCommands == commands)

            // Single models: consolidated, foreground_mean added to cv_niftis_raw/summary.json.
            for configuration in ["2d", "3d_fullres"] {
                let trainerFolder = fixture.trainerFolder(configuration)
                #expect(Self.exists(trainerFolder.appendingPathComponent("postprocessing.json")))
                #expect(Self.exists(trainerFolder.appendingPathComponent("cv_niftis_postprocessed/summary.json")))
                let summaryFile = trainerFolder.appendingPathComponent("cv_niftis_raw/summary.json")
                let text = try String(contentsOf: summaryFile, encoding: .utf8)
                #expect(text.hasPrefix("{\n    \"author\": \"Fabian\",\n"))
                let json = try JSONValue.parse(text)
                let mean = try #require(json["results"]?["mean"])
                #expect(mean.keys == ["0", "1", "2", "mean"])
                let dice = Fixture.singleModelDice(configuration)
                #expect(TestSupport.isClose(mean["mean"]?["Dice"]?.doubleValue ?? .nan, Fixture.score(dice),
                                            relative: 1e-12))
                #expect(mean["mean"]?.keys.contains("Jaccard") == true)
            }

            // The ensemble folder.
            let ensembleFolder = folder.appendingPathComponent(Self.ensemble)
            let raw = ensembleFolder.appendingPathComponent("ensembled_raw")
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: raw.path))
                    == Set((0..<4).map { "case\($0).nii.gz" } + ["summary.json"]))
            for index in 0..<Fixture.caseCount {
                let written = try NIfTI.read(raw.appendingPathComponent("case\(index).nii.gz"))
                #expect(written.shape == Fixture.original && written.geometry == Fixture.geometry)
                #expect(written.data.map { Int($0) } == Fixture.ensembleLabels(caseIndex: index))
            }
            let rawSummary = try JSONValue.read(raw.appendingPathComponent("summary.json"))
            #expect(rawSummary["name"]?.stringValue == "\(Fixture.task)__\(Self.ensemble)")
            #expect(rawSummary["task"]?.stringValue == Fixture.task)
            #expect(rawSummary["results"]?["mean"]?.keys == ["1", "2", "mean"])
            #expect(Self.exists(ensembleFolder.appendingPathComponent("postprocessing.json")))
            let decision = try PostprocessingDecision.read(ensembleFolder.appendingPathComponent("postprocessing.json"))
            #expect(decision.rawFolderName == "ensembled_raw" && decision.finalFolderName == "ensembled_postprocessed")
            #expect(decision.numberOfSamples == 4)
            let postprocessed = try JSONValue.read(ensembleFolder.appendingPathComponent("ensembled_postprocessed/summary.json"))
            #expect(postprocessed["experiment_name"]?.stringValue == Self.ensemble)
            let copied = fixture.trainedModels.appendingPathComponent("summary_jsons/\(Fixture.task)__\(Self.ensemble).json")
            #expect(try JSONValue.read(copied) == postprocessed)

            // Progress: one line per step.
            #expect(lines.contains { $0.contains("2d: consolidating folds 0 1") })
            #expect(lines.contains { $0.contains("\(Self.ensemble): averaging the probabilities of 4 validation cases") })
            #expect(lines.last == "\(Fixture.task) submit model \(Self.ensemble) "
                    + String(format: "%.6f", Fixture.score(Fixture.ensembleDice)))

            // A second run reuses the consolidation, recomputes the ensemble and gives the same result.
            let again = try ModelSelection.run(trainedModels: fixture.trainedModels, task: Fixture.task,
                                               options: Self.options)
            #expect(again.candidates.map(\.score) == result.candidates.map(\.score))
            #expect(again.summaryCSV == csv && again.predictionCommands == commands)
        }
    }

    @Test("--disable_ensembling: single configurations only; the better one is chosen")
    func withoutEnsembling() throws {
        try Fixture.withFixture { fixture in
            var options = Self.options
            options.usesEnsembling = false
            let result = try ModelSelection.run(trainedModels: fixture.trainedModels, task: Fixture.task,
                                                options: options)
            #expect(result.candidates.map(\.name) == ["2d", "3d_fullres"])
            #expect(result.best.map(\.name) == ["3d_fullres"])
            #expect(result.predictionCommands == "nnunet predict -i FOLDER_WITH_TEST_CASES -o OUTPUT_FOLDER_MODEL1 "
                    + "-tr nnUNetTrainerV2 -ctr nnUNetTrainerV2CascadeFullRes -m 3d_fullres -p nnUNetPlansv2.1 "
                    + "-t Task099_Synthetic\n")
            #expect(result.summaryCSV == "model,class1,class2,average\n"
                    + Self.csvRow("2d", Fixture.singleModelDice("2d")) + "\n"
                    + Self.csvRow("3d_fullres", Fixture.singleModelDice("3d_fullres")) + "\n")
            let folder = fixture.trainedModels.appendingPathComponent("ensembles/\(Fixture.task)")
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
                    == ["summary.csv", "prediction_commands.txt"])
        }
    }

    @Test("--disable_postprocessing: only cv_niftis_raw is collected; no postprocessing anywhere; no -pp")
    func withoutPostprocessing() throws {
        try Fixture.withFixture { fixture in
            var options = Self.options
            options.usesPostprocessing = false
            let result = try ModelSelection.run(trainedModels: fixture.trainedModels, task: Fixture.task,
                                                options: options)
            #expect(result.best.map(\.name) == [Self.ensemble])
            #expect(result.predictionCommands.hasSuffix(
                "\nnnunet ensemble -f OUTPUT_FOLDER_MODEL1 OUTPUT_FOLDER_MODEL2 -o OUTPUT_FOLDER\n"))
            #expect(!result.predictionCommands.contains("-pp"))
            for configuration in ["2d", "3d_fullres"] {
                let trainerFolder = fixture.trainerFolder(configuration)
                #expect(Self.exists(trainerFolder.appendingPathComponent("cv_niftis_raw/summary.json")))
                #expect(!Self.exists(trainerFolder.appendingPathComponent("postprocessing.json")))
                #expect(!Self.exists(trainerFolder.appendingPathComponent("cv_niftis_postprocessed")))
                let mean = try JSONValue.read(trainerFolder.appendingPathComponent("cv_niftis_raw/summary.json"))
                #expect(mean["results"]?["mean"]?.keys == ["0", "1", "2", "mean"])
            }
            let ensembleFolder = fixture.trainedModels.appendingPathComponent("ensembles/\(Fixture.task)/\(Self.ensemble)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: ensembleFolder.path) == ["ensembled_raw"])
            #expect(!Self.exists(fixture.trainedModels.appendingPathComponent("summary_jsons")))
            #expect(TestSupport.isClose(result.best[0].score, Fixture.score(Fixture.ensembleDice), relative: 1e-12))
        }
    }

    @Test("a missing model folder is named before anything is done")
    func missingModelFolder() throws {
        try Fixture.withFixture { fixture in
            var options = Self.options
            options.configurations = [.twoD, .lowres, .fullres]
            let expectedFolder = fixture.trainedModels.appendingPathComponent("3d_lowres/\(Fixture.task)/"
                + "nnUNetTrainerV2__nnUNetPlansv2.1").path
            let error = #expect(throws: EvaluationError.self) {
                try ModelSelection.run(trainedModels: fixture.trainedModels, task: Fixture.task, options: options)
            }
            #expect(error == .missingModelFolders(configurations: [.lowres], folders: [expectedFolder]))
            #expect(error?.description.contains(expectedFolder) == true)
            #expect(!Self.exists(fixture.trainerFolder("2d").appendingPathComponent("cv_niftis_raw")))
        }
    }

    @Test("missing npz files are named with the command that rewrites them")
    func missingNPZ() throws {
        try Fixture.withFixture(withoutNPZ: ["3d_fullres": [3]]) { fixture in
            let error = #expect(throws: EvaluationError.self) {
                try ModelSelection.run(trainedModels: fixture.trainedModels, task: Fixture.task, options: Self.options)
            }
            let folder = fixture.trainerFolder("3d_fullres").appendingPathComponent("fold_1/validation_raw").path
            guard case let .incompleteValidation(reported, problem, rerun) = error else {
                Issue.record("unexpected error \(String(describing: error))")
                return
            }
            #expect(reported == folder)
            #expect(problem.contains("case3.npz") && !problem.contains("case2"))
            #expect(rerun == "nnunet train 3d_fullres nnUNetTrainerV2 Task099_Synthetic 1 -val --npz")
            #expect(error?.description.contains("-val --npz") == true)
        }
    }

    @Test("a missing fold is named by the consolidation")
    func missingFold() throws {
        try Fixture.withFixture { fixture in
            var options = Self.options
            options.folds = [0, 1, 2]
            let error = #expect(throws: EvaluationError.self) {
                try ModelSelection.run(trainedModels: fixture.trainedModels, task: Fixture.task, options: options)
            }
            #expect(error == .missingFolds(trainerFolder: fixture.trainerFolder("2d").path, folds: [2],
                                           validationFolder: "validation_raw"))
        }
    }

    @Test("names, trainers of the cascade, and NaN in the csv")
    func namesAndFormatting() {
        let options = ModelSelection.Options(trainer: "T", cascadeTrainer: "C", plansIdentifier: "P")
        #expect(options.model(for: .cascadeFullres) == .init(configuration: .cascadeFullres, trainer: "C",
                                                             plansIdentifier: "P"))
        #expect(ModelSelection.ensembleName(options.model(for: .fullres), options.model(for: .cascadeFullres))
                == "ensemble_3d_fullres__T__P--3d_cascade_fullres__C__P")
        let candidate = ModelSelection.Candidate(name: "2d", models: [options.model(for: .twoD)], score: .nan,
                                                 meanDice: ["0": 0.9, "1": 0.123456, "2": .nan],
                                                 foregroundMeanDice: 0.123456, summaryFile: URL(fileURLWithPath: "/x"))
        #expect(ModelSelection.summaryCSV(candidates: [candidate], classCount: 3)
                == "model,class1,class2,class3,average\n2d,0.1235,nan,nan,0.1235\n")
    }
}
