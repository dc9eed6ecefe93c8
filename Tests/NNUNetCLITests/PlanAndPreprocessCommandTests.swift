import ArgumentParser
import Foundation
import Testing
@testable import nnunet_benchmark
@testable import nnunet_cli

@Suite("plan-and-preprocess and its benchmarks on the command line")
struct PlanAndPreprocessCommandTests {
    @Test func gpuMemoryAndThreadValidation() throws {
        let plan = try #require(try NNUNetCommand.parseAsRoot([
            "plan_and_preprocess", "-t", "4", "--gpu-memory-gb", "24", "-pl2d", "None",
        ]) as? PlanAndPreprocessCommand)
        #expect(plan.gpuMemoryGB == 24 && plan.planner2D == "None")
        #expect(throws: (any Error).self) {
            try NNUNetCommand.parseAsRoot(["plan-and-preprocess", "-t", "4", "-tf", "0"])
        }
        #expect(throws: (any Error).self) {
            try NNUNetCommand.parseAsRoot(["plan-and-preprocess", "-t", "4", "--gpu-memory-gb", "-3"])
        }
    }

    @Test func benchmarkSubcommandsParse() throws {
        let resample = try #require(try NNUNetBenchmarkCommand.parseAsRoot([
            "resample", "--threads", "1", "--repeats", "3", "--inputs-dir", "x",
        ]) as? BenchmarkResampleCommand)
        #expect(resample.threads == 1 && resample.repeats == 3 && resample.inputsDir == "x")
        let endToEnd = try #require(try NNUNetBenchmarkCommand.parseAsRoot([
            "plan-and-preprocess", "--raw-task", "Task004_Hippocampus", "--rounds", "1",
        ]) as? BenchmarkPlanAndPreprocessCommand)
        #expect(endToEnd.rawTask == "Task004_Hippocampus" && endToEnd.rounds == 1)
    }
}
