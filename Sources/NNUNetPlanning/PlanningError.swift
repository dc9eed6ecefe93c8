import Foundation

/// Errors raised while cropping, fingerprinting, planning and preprocessing a task.
///
/// Each case names the case and file involved and says what to do; nothing is left half-written when one is thrown
/// (every output file is written to a temporary name and renamed into place).
public enum PlanningError: Error, LocalizedError, CustomStringConvertible, Equatable {
    /// A file that dataset.json lists does not exist.
    case missingFile(caseIdentifier: String, path: String)
    /// An image holds NaN (or infinite) values.
    case nonFiniteImage(caseIdentifier: String, path: String, count: Int)
    /// The modalities (or the label map) of a case do not have the same shape.
    case shapeMismatch(caseIdentifier: String, path: String, expected: [Int], found: [Int])
    /// The label map holds no foreground voxel (or no voxel at all).
    case emptyLabelMap(caseIdentifier: String, path: String)
    /// Every modality is zero everywhere, so there is no nonzero region to crop to.
    case emptyImage(caseIdentifier: String)
    /// A stored intermediate (cropped case, fingerprint, plans) is missing or unreadable.
    case missingIntermediate(path: String, hint: String)
    /// Planning cannot proceed (no cases, an unknown planner name, ...).
    case invalidInput(String)

    /// The message shown to the user: the case and file involved, and what to do.
    public var description: String {
        switch self {
        case let .missingFile(id, path):
            return "Case '\(id)': the file '\(path)' listed in dataset.json does not exist. Add the file or remove the "
                + "case from dataset.json ('nnunet verify-dataset' lists every problem)."
        case let .nonFiniteImage(id, path, count):
            return "Case '\(id)': '\(path)' contains \(count) NaN or infinite voxel(s). Fix or remove the image "
                + "(nnU-Net needs finite intensities)."
        case let .shapeMismatch(id, path, expected, found):
            return "Case '\(id)': '\(path)' has shape \(found) (z, y, x) but the case's first modality has \(expected). "
                + "All modalities and the label map of a case must share one voxel grid; resample them first."
        case let .emptyLabelMap(id, path):
            return "Case '\(id)': the label map '\(path)' contains no foreground voxel. Check that the right file is "
                + "referenced, or remove the case from dataset.json."
        case let .emptyImage(id):
            return "Case '\(id)': every modality is zero everywhere, so there is nothing to crop to. Check the image "
                + "files of this case."
        case let .missingIntermediate(path, hint):
            return "'\(path)' is missing or unreadable. \(hint)"
        case let .invalidInput(message):
            return message
        }
    }

    /// Same as ``description``, for `LocalizedError`.
    public var errorDescription: String? { description }
}
