import Foundation

/// Errors raised while setting up or running training and inference.
public enum TrainingError: Error, LocalizedError, CustomStringConvertible, Equatable {
    /// A splits file that exists but cannot be used.
    case invalidSplits(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidSplits(path, reason):
            return "Cannot use the splits file '\(path)': \(reason). Fix it, or delete it to let nnU-Net create the "
                + "default 5-fold split."
        }
    }

    public var errorDescription: String? { description }
}
