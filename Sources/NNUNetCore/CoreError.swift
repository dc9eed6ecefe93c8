import Foundation

/// Errors raised by NNUNetCore: file formats, raw datasets and their folders.
///
/// Every case carries the file or folder involved and says what to do next, so that a command-line user can fix the
/// problem without reading the source.
public enum CoreError: Error, LocalizedError, CustomStringConvertible, Equatable {
    /// A file could not be read as NIfTI (missing, truncated, not NIfTI, unsupported datatype...).
    case unreadableImage(path: String, reason: String)
    /// An image could not be written.
    case unwritableImage(path: String, reason: String)
    /// A NIfTI datatype this package does not handle (complex, RGB, ...).
    case unsupportedDataType(path: String, code: Int32)
    /// The data given to the writer does not fit the shape or the datatype.
    case invalidVolume(String)
    /// A JSON file (dataset.json, splits, ...) is missing or malformed.
    case invalidJSON(path: String, reason: String)
    /// An environment variable the command needs is not set.
    case missingEnvironmentVariable(name: String, purpose: String)
    /// A task id or name that matches no folder, or several.
    case unknownTask(String, searched: [String])
    /// A task id that matches several task names (each id must belong to one name).
    case ambiguousTask(id: Int, names: [String])
    /// A folder or file that should exist does not.
    case missingPath(path: String, hint: String)
    /// A raw task folder that does not follow the expected layout.
    case invalidTaskFolder(path: String, reason: String)
    /// Generic file-system failure (copy, rename, create folder).
    case fileSystem(path: String, reason: String)
    /// A pickle that is malformed, truncated or uses unsupported features.
    case invalidPickle(source: String, reason: String)
    /// A pickle that names a Python global outside the reader's allow-list (it is never executed).
    case forbiddenPickleGlobal(source: String, name: String)
    /// A folder that another run holds the ``FolderLock`` of; `holder` is the lock file's text (process id, host,
    /// start time, purpose).
    case folderLocked(path: String, holder: String)
    /// An image header whose geometry is unusable: a non-finite or non-positive spacing (`pixdim`), a non-finite
    /// origin or direction (quaternion, `qoffset`, `srow`), or a direction that is not orthonormal.
    case invalidGeometry(path: String, field: String, reason: String)
    /// A data-parallel job that cannot run as asked (MPI library missing, a batch that cannot be split, ranks that
    /// disagree).
    case distributed(String)
    /// A configuration name that is none of ``NetworkConfiguration``'s (`2d`, `3d_lowres`, `3d_fullres`,
    /// `3d_cascade_fullres`).
    case unknownConfiguration(String)
    /// A fold that is neither a non-negative number nor `all` (see ``Fold``).
    case invalidFold(String)

    /// The message shown to the user: what went wrong, with the file or folder involved, and what to do next.
    public var description: String {
        switch self {
        case let .unreadableImage(path, reason):
            return "Cannot read image '\(path)': \(reason)"
        case let .unwritableImage(path, reason):
            return "Cannot write image '\(path)': \(reason)"
        case let .unsupportedDataType(path, code):
            return "Image '\(path)' has NIfTI datatype \(code), which is not supported. "
                + "Convert it to uint8, int8, int16, uint16, int32, uint32, int64, float32 or float64."
        case let .invalidVolume(reason):
            return "Invalid volume: \(reason)"
        case let .invalidJSON(path, reason):
            return "Cannot use JSON file '\(path)': \(reason)"
        case let .missingEnvironmentVariable(name, purpose):
            return "The environment variable \(name) is not set. It must point to \(purpose). "
                + "Set it (e.g. 'export \(name)=/data/nnUNet/...') or pass the folder explicitly."
        case let .unknownTask(task, searched):
            return "Could not find a task matching '\(task)'. Searched: \(searched.joined(separator: ", ")). "
                + "Check the task id, or convert/create the task first (e.g. 'nnunet convert-decathlon-task')."
        case let .ambiguousTask(id, names):
            return "Task id \(id) matches several task names: \(names.joined(separator: ", ")). "
                + "Each task id must belong to one task name; rename or remove the extra folders."
        case let .missingPath(path, hint):
            return "'\(path)' does not exist. \(hint)"
        case let .invalidTaskFolder(path, reason):
            return "The task folder '\(path)' is not usable: \(reason)"
        case let .invalidPickle(source, reason):
            return "Cannot read pickle '\(source)': \(reason)"
        case let .forbiddenPickleGlobal(source, name):
            return "Refusing to load pickle '\(source)': it references the Python global '\(name)', which is not on "
                + "the allow-list of plain data types (pickles can run code; this reader never does). Only nnU-Net "
                + "plans, splits, model pickles and PyTorch checkpoints are supported."
        case let .fileSystem(path, reason):
            return "File system operation on '\(path)' failed: \(reason)"
        case let .folderLocked(path, holder):
            return "'\(path)' is in use by another run: \(holder). Two runs must not write the same folder; wait for "
                + "that run to finish or stop it. (The lock is released when its process ends, even by kill -9, so "
                + "a lock file left by a dead process is taken over automatically.)"
        case let .invalidGeometry(path, field, reason):
            return "Image '\(path)' has an unusable geometry: header field \(field) \(reason). Fix the header (e.g. "
                + "rewrite the image with a valid spacing and affine in SimpleITK or nibabel) or remove the case."
        case let .unknownConfiguration(name):
            return "'\(name)' is not a configuration: use one of \(NetworkConfiguration.allowedValues)."
        case let .distributed(reason):
            return "Distributed training: \(reason)"
        case let .invalidFold(fold):
            return "'\(fold)' is not a fold: use 0, 1, 2, 3, 4 (or another number of the splits file) or 'all'."
        }
    }

    /// Same as ``description``, for `LocalizedError`.
    public var errorDescription: String? { description }
}
