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
    /// A plans file cannot normalise one of its modalities (CT without intensity statistics, an unsupported scheme).
    case unusableNormalization(plans: String, modality: Int, reason: String)
    /// A label map holds values that dataset.json's `labels` does not declare (checked always, not only with
    /// `--verify_dataset_integrity` as in v1).
    case undeclaredLabels(caseIdentifier: String, path: String, values: [Double], declared: [Int])

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
        case let .undeclaredLabels(id, path, values, declared):
            let shown = values.prefix(10).map { $0 == $0.rounded() ? String(Int($0)) : String($0) }
            return "Case '\(id)': the label map '\(path)' contains label value(s) [\(shown.joined(separator: ", "))"
                + "\(values.count > 10 ? ", ..." : "")] that dataset.json 'labels' does not declare (declared: "
                + "\(declared)). Add them to dataset.json or correct the label map. (Checked always; nnU-Net v1 checks "
                + "this only with --verify_dataset_integrity and otherwise trains with the undeclared label.)"
        case let .unusableNormalization(plans, modality, reason):
            return "Plans '\(plans)', modality \(modality): \(reason). Plan the task again ('nnunet plan-and-preprocess') "
                + "or use the plans file the model was trained with."
        }
    }

    /// Same as ``description``, for `LocalizedError`.
    public var errorDescription: String? { description }
}
