import Foundation

/// Errors raised while setting up or running training and inference.
public enum TrainingError: Error, LocalizedError, CustomStringConvertible, Equatable {
    /// A splits file that exists but cannot be used.
    case invalidSplits(path: String, reason: String)
    /// A trainer name that is not registered.
    case unknownTrainer(String, known: [String])
    /// Training data that is missing or not set up.
    case missingData(String)
    /// A checkpoint that cannot be loaded.
    case corruptCheckpoint(path: String, reason: String)
    /// A preprocessed case (`CASE.npy` / `CASE.json`) that cannot be read or does not fit its description.
    case unreadableCase(identifier: String, path: String, reason: String)
    /// A preprocessed folder without any case.
    case emptyPreprocessedFolder(path: String)
    /// The batch loader was stopped before the requested batch was made.
    case loaderStopped
    /// The modality files of a case to predict do not describe the same voxel grid.
    case inconsistentModalities(identifier: String, path: String, reason: String)
    /// A model folder (or one of its files) that a model export needs is missing; `reason` says what to do.
    case incompleteModelExport(path: String, reason: String)
    /// A trained model folder that cannot be used for prediction or conversion (missing plans, folds, sidecar files).
    case unusableModel(String)
    /// The cascade cannot run: the 3d_lowres predictions it builds on (`pred_next_stage/`, or a `-l` folder) are
    /// missing for some cases.
    case incompletePreviousStage(folder: String, missing: [String], fix: String)
    /// A prediction that cannot run as asked (``FolderPredictor``): an option, input or output that does not fit;
    /// the text says which and what to do.
    case invalidPredictionRequest(String)
    /// An inference folder without any `CASE_XXXX.nii.gz` file.
    case noCasesToPredict(folder: String)
    /// Some cases could not be predicted (one line per case: `CASE: reason`); the others were written.
    case casesFailed([String])
    /// Training stopped because the loss or the weights became NaN or infinite (`problem` says which, in epoch
    /// `epoch` of the fold folder `folder`); `lastFiniteCheckpoint` names the checkpoint `-c` continues from, if any.
    case nonFiniteTraining(folder: String, epoch: Int, problem: String, lastFiniteCheckpoint: String?)

    /// The message shown to the user: what went wrong, with the file, case or fold involved, and what to do next.
    public var description: String {
        switch self {
        case let .invalidSplits(path, reason):
            return "Cannot use the splits file '\(path)': \(reason). Fix it, or delete it to let nnU-Net create the "
                + "default 5-fold split."
        case let .unknownTrainer(name, known):
            return "Unknown trainer '\(name)'. Registered trainers: \(known.joined(separator: ", ")). A trainer of your "
                + "own must be registered by your program on a TrainerRegistry (registry.register(_:as:)) that it "
                + "passes to TrainingRunner.train(_:paths:registry:)."
        case let .missingData(what):
            return "Cannot train: \(what). Run 'nnunet plan-and-preprocess' for the task first."
        case let .corruptCheckpoint(path, reason):
            return "Cannot load the checkpoint '\(path)': \(reason). The other checkpoints in the same folder are "
                + "untouched; 'nnunet train ... -c' moves a damaged checkpoint aside (NAME.model.damaged-<time>) and "
                + "continues from the newest intact one."
        case let .unreadableCase(identifier, path, reason):
            return "Cannot load preprocessed case '\(identifier)' ('\(path)'): \(reason). Rerun "
                + "'nnunet plan-and-preprocess' for this task to rewrite the preprocessed data."
        case let .emptyPreprocessedFolder(path):
            return "No preprocessed cases (CASE.npy + CASE.json) in '\(path)'. Run 'nnunet plan-and-preprocess' "
                + "first, or check the --stage."
        case let .inconsistentModalities(identifier, path, reason):
            return "Case '\(identifier)': '\(path)' does not match the case's first modality file (\(reason)). All "
                + "modality files of a case must share shape, spacing, origin and direction; resample or fix the "
                + "file header."
        case .loaderStopped:
            return "The batch loader was stopped; create a new loader to draw more batches."
        case let .unusableModel(what):
            return "Cannot use the model: \(what)."
        case let .incompleteModelExport(path, reason):
            return "Cannot export the model: '\(path)' \(reason). Nothing was written."
        case let .nonFiniteTraining(folder, epoch, problem, last):
            let resume = last.map { "The last finite checkpoint is \($0) in '\(folder)'; 'nnunet train ... -c' "
                + "continues from it" } ?? "No finite checkpoint was written in '\(folder)' yet; start the fold again"
            return "Training stopped in epoch \(epoch): \(problem). No checkpoint with non-finite weights was written. "
                + "\(resume). Lower the learning rate (a trainer variant) or check the training data for extreme or "
                + "NaN values first, or the same will happen again."
        case let .invalidPredictionRequest(what):
            return "Cannot predict: \(what)."
        case let .noCasesToPredict(folder):
            return "No CASE_XXXX.nii.gz files in '\(folder)'. Inputs are named like CASE_0000.nii.gz (one file per "
                + "modality, CASE_0001.nii.gz for the second, ...)."
        case let .casesFailed(lines):
            return "\(lines.count) case(s) failed:\n  " + lines.joined(separator: "\n  ")
                + "\nThe other cases were written; fix the inputs named above and run again (existing outputs are "
                + "skipped)."
        case let .incompletePreviousStage(folder, missing, fix):
            let shown = missing.prefix(5).joined(separator: ", ") + (missing.count > 5 ? ", ..." : "")
            return "The 3d_cascade_fullres stage needs the 3d_lowres segmentation of every case, but '\(folder)' lacks "
                + "\(missing.count) (\(shown)). \(fix)"
        }
    }

    /// Same as ``description``, for `LocalizedError`.
    public var errorDescription: String? { description }
}
