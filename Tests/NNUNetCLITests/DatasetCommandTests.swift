import ArgumentParser
import Foundation
import NNUNetCore
import Testing
@testable import nnunet_cli

@Suite("Dataset commands")
struct DatasetCommandTests {
    @Test("verify-dataset fails with a non-zero status on a broken task and passes on a good one")
    func verifyExitStatus() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nnunet-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var configuration = SyntheticTaskConfiguration()
        configuration.trainingCases = 3
        configuration.testCases = 0
        configuration.shape = [12, 14, 12]
        let task = try SyntheticTaskGenerator.generate(configuration, rawDataFolder: folder)

        var good = try NNUNetCommand.parseAsRoot(["verify-dataset", "-i", task.path])
        try good.run()

        try FileManager.default.removeItem(at: task.appendingPathComponent("labelsTr/synthetic_001.nii.gz"))
        var bad = try NNUNetCommand.parseAsRoot(["verify-dataset", "-i", task.path])
        #expect(throws: CLIError.self) { try bad.run() }
        // The exit code ArgumentParser derives from the error is a failure.
        do { try bad.run() } catch {
            #expect(NNUNetCommand.exitCode(for: error) != .success)
        }
    }
}
