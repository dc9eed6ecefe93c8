import Foundation
import NNUNetCore

/// The only place the CLI reads nnU-Net's folder variables.
enum EnvironmentPaths {
    /// `nnUNet_raw_data_base`, `nnUNet_preprocessed` and `RESULTS_FOLDER` from the process environment.
    static func current() -> NNUNetPaths {
        NNUNetPaths.fromEnvironment(ProcessInfo.processInfo.environment)
    }
}

/// Errors that belong to the command line itself.
enum CLIError: Error, CustomStringConvertible {
    /// A subcommand whose capability is not implemented yet: it says so and exits non-zero.
    case notYetAvailable(command: String, what: String)
    /// The command ran and found problems it already printed; exit non-zero.
    case failed(String)

    var description: String {
        switch self {
        case let .notYetAvailable(command, what):
            return "'nnunet \(command)' is not available yet in this version of nnU-Net for Swift: \(what) "
                + "is still being built. Nothing was done."
        case let .failed(message):
            return message
        }
    }
}
