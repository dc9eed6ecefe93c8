import ArgumentParser
import Foundation
import NNUNetCore

/// `nnunet verify-dataset -t ID`: v1's `--verify_dataset_integrity` on its own.
struct VerifyDatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-dataset",
        abstract: "Check a raw task for missing files, geometry mismatches, NaNs and undeclared labels.",
        discussion: """
            The same check as 'nnunet plan-and-preprocess --verify_dataset_integrity', without planning. \
            Every problem is listed (case, file, what to do); the exit status is non-zero if there is any. \
            Nothing is written.
            """,
        aliases: ["verify_dataset_integrity"]
    )

    @Option(name: .customShort("t"), parsing: .upToNextOption, help: "Task ids (or TaskXXX_NAME).")
    var tasks: [String] = []

    @Option(name: .customShort("i"), help: "A task folder to check directly (instead of -t).")
    var folder: String?

    func run() throws {
        if let folder { try Self.verify(folder: URL(fileURLWithPath: folder, isDirectory: true)) }
        let paths = EnvironmentPaths.current()
        for task in tasks {
            let name = try TaskLocator.resolve(task, paths: paths)
            try Self.verify(folder: try paths.rawData().appendingPathComponent(name))
        }
        if folder == nil && tasks.isEmpty { throw ValidationError("Pass -t TASK or -i FOLDER.") }
    }

    /// Runs the check on one folder, prints the report and throws if there are problems.
    static func verify(folder: URL) throws {
        print("Verifying \(folder.lastPathComponent) ...")
        let report = try DatasetIntegrity.verify(taskFolder: folder)
        for warning in report.warnings { print("WARNING: \(warning)") }
        guard report.isOK else {
            for problem in report.problems { print("  - \(problem)") }
            throw CLIError.failed("\(report.problems.count) problem(s) found in \(folder.path). Fix them and run "
                                  + "the check again.")
        }
        print("Dataset OK: \(report.trainingCases) training and \(report.testCases) test cases.")
    }
}
