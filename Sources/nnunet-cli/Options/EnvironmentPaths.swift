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
    /// The command ran and found problems it already printed; exit non-zero.
    case failed(String)

    var description: String {
        switch self {
        case let .failed(message):
            return message
        }
    }
}
