import ArgumentParser
import Foundation
import NNUNetCore
import Testing
@testable import nnunet_benchmark
@testable import nnunet_cli

@Suite("Command-line parsing")
struct CommandParsingTests {
    @Test("v1 flag spellings are accepted")
    func v1Flags() throws {
        let command = try NNUNetCommand.parseAsRoot([
            "plan-and-preprocess", "-t", "4", "5", "-pl3d", "ExperimentPlanner3D_v21_32GB", "-pl2d", "None",
            "-tl", "2", "-tf", "3", "--verify_dataset_integrity", "-no_pp",
        ])
        let plan = try #require(command as? PlanAndPreprocessCommand)
        #expect(plan.tasks == ["4", "5"])
        #expect(plan.planner3D == "ExperimentPlanner3D_v21_32GB")
        #expect(plan.planner2D == "None")
        #expect(plan.threadsLowres == 2 && plan.threadsFullres == 3)
        #expect(plan.verifyDatasetIntegrity && plan.noPreprocessing)

        let convert = try #require(try NNUNetCommand.parseAsRoot([
            "convert_decathlon_task", "-i", "Task04_Hippocampus", "-output_task_id", "4",
        ]) as? ConvertDecathlonTaskCommand)
        #expect(convert.outputTaskID == 4)

        let predict = try #require(try NNUNetCommand.parseAsRoot([
            "predict", "-i", "in", "-o", "out", "-t", "4", "-tr", "MyTrainer", "-f", "0", "1", "-z", "-chk",
            "model_best", "--step_size", "0.25", "--disable_tta",
        ]) as? PredictCommand)
        #expect(predict.trainer == "MyTrainer" && predict.folds == [.index(0), .index(1)] && predict.saveNpz)
        #expect(predict.checkpoint == "model_best" && predict.stepSize == 0.25 && predict.disableTTA)
        #expect(predict.model == .fullres && predict.mode == .normal)

        let train = try #require(try NNUNetCommand.parseAsRoot([
            "train", "3d_fullres", "nnUNetTrainerV2", "4", "all", "--npz", "-c", "--epochs", "3",
        ]) as? TrainCommand)
        #expect(train.configuration == .fullres && train.fold == .all)
        #expect(train.saveNpz && train.continueTraining && train.epochs == 3)

        let evaluate = try #require(try NNUNetCommand.parseAsRoot([
            "evaluate-folder", "-ref", "gt", "-pred", "pred", "-l", "1", "2",
        ]) as? EvaluateFolderCommand)
        #expect(evaluate.labels == [1, 2])
    }

    @Test("bad configurations, folds and modes fail with a message naming the allowed values")
    func badValues() {
        func message(_ arguments: [String]) -> String {
            do {
                _ = try NNUNetCommand.parseAsRoot(arguments)
                return ""
            } catch {
                return NNUNetCommand.message(for: error)
            }
        }
        let configurations = "'2d', '3d_lowres', '3d_fullres' or '3d_cascade_fullres'"
        #expect(message(["train", "3d", "nnUNetTrainerV2", "4", "0"]).contains(configurations))
        #expect(message(["train", "3d_fullres", "nnUNetTrainerV2", "4", "x"]).contains("'x' is not a fold"))
        #expect(message(["predict", "-i", "a", "-o", "b", "-t", "4", "-m", "3D"]).contains(configurations))
        #expect(message(["predict", "-i", "a", "-o", "b", "-t", "4", "--mode", "slow"])
            .contains("'normal', 'fast' or 'fastest'"))
        #expect(message(["predict", "-i", "a", "-o", "b", "-t", "4", "-f", "0", "one"]).contains("'one' is not a fold"))
        #expect(message(["export-model-to-zip", "-t", "4", "-o", "m.zip", "-m", "4d"]).contains(configurations))
        #expect(message(["find-best-configuration", "-t", "4", "-m", "2d", "3d"]).contains(configurations))
        func help(_ command: any ParsableCommand.Type) -> String {
            NNUNetCommand.helpMessage(for: command).split(whereSeparator: \.isWhitespace).joined(separator: " ")
        }
        #expect(help(TrainCommand.self).contains("(values: 2d, 3d_lowres, 3d_fullres, 3d_cascade_fullres)"))
        #expect(help(PredictCommand.self).contains("(values: normal, fast, fastest; default: normal)"))
        #expect(help(ExportModelToZipCommand.self).contains("default: 2d, 3d_lowres, 3d_fullres, 3d_cascade_fullres)"))
    }

    @Test("nnunet lists only user commands: the benchmarks are the separate nnunet-benchmark executable")
    func noBenchmarkInUserTool() {
        let names = NNUNetCommand.configuration.subcommands.compactMap { $0.configuration.commandName }
        #expect(!names.isEmpty)
        #expect(!names.contains { $0.contains("benchmark") })
        #expect(!NNUNetCommand.helpMessage().contains("benchmark"))
        #expect(throws: (any Error).self) { try NNUNetCommand.parseAsRoot(["benchmark", "conv3d"]) }
    }

    @Test("nnunet-benchmark has its eleven benchmarks, with their flags")
    func benchmarkRootCommand() throws {
        #expect(NNUNetBenchmarkCommand.configuration.commandName == "nnunet-benchmark")
        let names = NNUNetBenchmarkCommand.configuration.subcommands.compactMap { $0.configuration.commandName }
        #expect(Set(names) == ["conv3d", "train-step", "forward", "predict", "predict-v2", "predict-large", "resample",
                               "plan-and-preprocess", "augmentation", "evaluation", "hippocampus"])
        #expect(names.count == 11)
        let v2 = try #require(try NNUNetBenchmarkCommand.parseAsRoot([
            "predict-v2", "-m", "model", "--input", "in", "-f", "0", "1", "--disable_tta", "--threads", "3",
            "--peer-bin", "venv/bin", "--json",
        ]) as? BenchmarkPredictV2Command)
        #expect(v2.model == "model" && v2.input == "in" && v2.folds == [.index(0), .index(1)] && v2.disableTTA)
        #expect(v2.threads == 3 && v2.peerBin == "venv/bin" && v2.json)
        let conv = try #require(try NNUNetBenchmarkCommand.parseAsRoot([
            "conv3d", "--channels", "4", "--size", "8", "--iterations", "1", "--warmup", "0", "--threads", "1",
            "--skip-sgemm", "--json",
        ]) as? BenchmarkConv3DCommand)
        #expect(conv.channels == 4 && conv.size == 8 && conv.iterations == 1 && conv.skipSGEMM && conv.json)
        let step = try #require(try NNUNetBenchmarkCommand.parseAsRoot([
            "train-step", "--plans", "plans_3D.json", "--stage", "0", "--json",
        ]) as? BenchmarkTrainStepCommand)
        #expect(step.options.plans == "plans_3D.json" && step.options.stage == 0 && step.options.json)
        let large = try #require(try NNUNetBenchmarkCommand.parseAsRoot([
            "predict-large", "--shape", "40", "64", "64", "--base-features", "8", "--skip-tta", "--json",
        ]) as? BenchmarkPredictLargeCommand)
        #expect(large.shape == [40, 64, 64] && large.baseFeatures == 8 && large.skipTTA)
        // The evaluation benchmark keeps its alias.
        #expect(try NNUNetBenchmarkCommand.parseAsRoot(["connected-components", "--threads", "1"])
            is EvaluationBenchmarkCommand)
        for name in names {
            let help = NNUNetBenchmarkCommand.helpMessage(for: NNUNetBenchmarkCommand.configuration.subcommands.first {
                $0.configuration.commandName == name
            }!)
            #expect(help.contains("nnunet-benchmark \(name)"))
        }
    }

    @Test("every subcommand has help text", arguments: NNUNetCommand.configuration.subcommands.map {
        $0.configuration.commandName ?? ""
    })
    func helpTexts(name: String) {
        let help = NNUNetCommand.helpMessage(for: NNUNetCommand.configuration.subcommands.first {
            $0.configuration.commandName == name
        }!)
        #expect(help.contains("USAGE"))
    }
}
