import ArgumentParser
import Foundation
import NNUNetCore
import Testing
@testable import nnunet_cli

@Suite("evaluate-folder and determine-postprocessing commands")
struct EvaluationCommandTests {
    /// `Tests/Fixtures`: v1's `evaluate_folder` and `determine_postprocessing` inputs (eval/, postprocessing/).
    static let reference = TestSupport.fixtures

    @Test("v1 and folder-mode flags parse; mixing modes is refused")
    func parsing() throws {
        let cv = try #require(try NNUNetCommand.parseAsRoot([
            "nnUNet_determine_postprocessing", "-m", "3d_fullres", "-t", "4", "-tr", "MyTrainer", "-pl", "MyPlans",
        ]) as? DeterminePostprocessingCommand)
        #expect(cv.model == .fullres && cv.task == "4" && cv.trainer == "MyTrainer" && cv.plansIdentifier == "MyPlans")
        #expect(!cv.isFolderMode)
        let folder = try #require(try NNUNetCommand.parseAsRoot([
            "determine-postprocessing", "--raw", "a", "--gt", "b", "--out", "c", "-l", "0", "1", "2",
        ]) as? DeterminePostprocessingCommand)
        #expect(folder.isFolderMode && folder.labels == [0, 1, 2])
        #expect(throws: (any Error).self) {
            try NNUNetCommand.parseAsRoot(["determine-postprocessing", "--raw", "a", "--gt", "b", "--out", "c", "-m", "2d"])
        }
        #expect(throws: (any Error).self) { try NNUNetCommand.parseAsRoot(["determine-postprocessing", "--raw", "a"]) }
        #expect(throws: (any Error).self) { try NNUNetCommand.parseAsRoot(["determine-postprocessing", "-m", "4d", "-t", "4"]) }
        let evaluate = try #require(try NNUNetCommand.parseAsRoot([
            "evaluate_folder", "-ref", "gt", "-pred", "pred", "-l", "1", "2", "--surface-metrics", "--nsd-tolerance", "2",
        ]) as? EvaluateFolderCommand)
        #expect(evaluate.surfaceMetrics && evaluate.surfaceDiceTolerance == 2)
        #expect(throws: (any Error).self) { try NNUNetCommand.parseAsRoot(["evaluate-folder", "-ref", "a", "-pred", "b"]) }
    }

    @Test("evaluate-folder writes PRED/summary.json; determine-postprocessing folder mode writes OUT")
    func running() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nnunet-cli-eval-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let pred = scratch.appendingPathComponent("pred")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.reference.appendingPathComponent("eval/pred"), to: pred)
        var evaluate = try NNUNetCommand.parseAsRoot([
            "evaluate-folder", "-ref", Self.reference.appendingPathComponent("eval/ref").path, "-pred", pred.path,
            "-l", "1", "2", "--threads", "2",
        ])
        try evaluate.run()
        #expect(FileManager.default.fileExists(atPath: pred.appendingPathComponent("summary.json").path))

        let out = scratch.appendingPathComponent("out")
        var determine = try NNUNetCommand.parseAsRoot([
            "determine-postprocessing", "--raw", Self.reference.appendingPathComponent("postprocessing/validation_raw").path,
            "--gt", Self.reference.appendingPathComponent("postprocessing/gt_niftis").path, "--out", out.path,
        ])
        try determine.run()
        let text = try String(contentsOf: out.appendingPathComponent("postprocessing.json"), encoding: .utf8)
        #expect(text.contains("\"for_which_classes\": [\n        1\n    ]"))
    }
}
