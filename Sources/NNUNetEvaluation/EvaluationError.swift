import Foundation
import NNUNetCore

/// Errors raised by NNUNetEvaluation: folders and files to evaluate, summaries and postprocessing decisions.
///
/// Every case names the file, folder or case involved and says what to do next.
public enum EvaluationError: Error, LocalizedError, CustomStringConvertible, Equatable {
    /// The reference and prediction folders do not hold the same file names.
    case mismatchedFileSets(referenceFolder: String, predictionFolder: String, missingInPrediction: [String],
                            missingInReference: [String])
    /// A folder holds no `.nii.gz` files.
    case emptyFolder(path: String)
    /// Prediction and reference of one case have different array shapes.
    case shapeMismatch(caseName: String, prediction: [Int], reference: [Int])
    /// Prediction and reference of one case have different spacing, origin or direction.
    case geometryMismatch(caseName: String, detail: String)
    /// A segmentation file has several channels (a 4D image).
    case notASegmentation(path: String, channels: Int)
    /// A file could not be read (wraps the reader's message, which names the file).
    case unreadableFile(path: String, reason: String)
    /// A file could not be written.
    case unwritableFile(path: String, reason: String)
    /// A JSON file (summary.json, postprocessing.json) is missing or malformed.
    case invalidJSON(path: String, reason: String)
    /// Cross-validation folds that should exist do not.
    case missingFolds(trainerFolder: String, folds: [Int], validationFolder: String)
    /// The consolidated cross-validation predictions do not cover the ground truth.
    case incompleteCrossValidation(trainerFolder: String, predictions: Int, groundTruth: Int)
    /// An argument makes no sense (e.g. an empty label list).
    case invalidArgument(String)
    /// None of the folders to ensemble holds saved probabilities (`CASE.npz`).
    case noSavedProbabilities(folders: [String])
    /// A folder to ensemble lacks the probabilities (`CASE.npz`) or properties (`CASE.pkl`) of some cases.
    case incompleteEnsembleFolder(folder: String, missingCases: [String], missingFiles: [String])
    /// The saved probabilities of one case do not fit together (other shapes across folders, or not the cropped size
    /// that the case's properties record).
    case inconsistentProbabilities(caseName: String, detail: String)
    /// Trained model folders that model selection needs do not exist (`configurations[i]` expects `folders[i]`).
    case missingModelFolders(configurations: [NetworkConfiguration], folders: [String])
    /// A fold's validation output cannot be ensembled (folder, `summary.json` or `CASE.npz`/`CASE.pkl` missing, or
    /// the two models validated other cases); `rerunCommand` redoes the validation with saved probabilities.
    case incompleteValidation(folder: String, problem: String, rerunCommand: String)

    /// The message shown to the user: what went wrong, with the file, folder or case involved, and what to do next.
    public var description: String {
        switch self {
        case let .mismatchedFileSets(referenceFolder, predictionFolder, missingInPrediction, missingInReference):
            var lines = ["The reference folder '\(referenceFolder)' and the prediction folder '\(predictionFolder)' "
                + "must hold the same .nii.gz file names."]
            if !missingInPrediction.isEmpty {
                lines.append("Missing in the predictions (\(missingInPrediction.count)): "
                    + missingInPrediction.joined(separator: ", "))
            }
            if !missingInReference.isEmpty {
                lines.append("Missing in the references (\(missingInReference.count)): "
                    + missingInReference.joined(separator: ", "))
            }
            lines.append("Predict the missing cases or remove the extra files, then run the evaluation again.")
            return lines.joined(separator: "\n")
        case let .emptyFolder(path):
            return "The folder '\(path)' holds no .nii.gz files. Check the path."
        case let .shapeMismatch(caseName, prediction, reference):
            return "Case '\(caseName)': the prediction has shape \(prediction) (z, y, x) but the reference has shape "
                + "\(reference). Predictions must be exported at the reference's resolution."
        case let .geometryMismatch(caseName, detail):
            return "Case '\(caseName)': prediction and reference do not lie on the same grid (\(detail)). "
                + "Predictions must be exported with the reference's geometry."
        case let .notASegmentation(path, channels):
            return "'\(path)' has \(channels) channels; a segmentation must be a single 3D label map."
        case let .unreadableFile(path, reason):
            return "Cannot read '\(path)': \(reason)"
        case let .unwritableFile(path, reason):
            return "Cannot write '\(path)': \(reason). Check that the folder exists and is writable."
        case let .invalidJSON(path, reason):
            return "Cannot use JSON file '\(path)': \(reason)"
        case let .missingFolds(trainerFolder, folds, validationFolder):
            return "Some cross-validation folds are missing in '\(trainerFolder)': no "
                + folds.map { "fold_\($0)/\(validationFolder)" }.joined(separator: ", ")
                + ". Run the full 5-fold cross-validation (nnunet train ... FOLD for each missing fold) first."
        case let .incompleteCrossValidation(trainerFolder, predictions, groundTruth):
            return "The folds in '\(trainerFolder)' hold \(predictions) validation predictions but gt_niftis holds "
                + "\(groundTruth) cases. It seems that not all folds were trained or validated; finish them first."
        case let .invalidArgument(message):
            return message
        case let .noSavedProbabilities(folders):
            return "None of the folders " + folders.map { "'\($0)'" }.joined(separator: ", ")
                + " holds saved probabilities (CASE.npz). Predict with 'nnunet predict ... -z' (--save_npz) to keep "
                + "them for ensembling."
        case let .incompleteEnsembleFolder(folder, missingCases, missingFiles):
            let shown = missingFiles.prefix(20).joined(separator: ", ")
                + (missingFiles.count > 20 ? ", ... (\(missingFiles.count - 20) more)" : "")
            return "The folder '\(folder)' lacks the saved prediction of \(missingCases.count) case(s): "
                + missingCases.prefix(20).joined(separator: ", ") + (missingCases.count > 20 ? ", ..." : "")
                + " (missing files: \(shown)). Every folder must hold CASE.npz and CASE.pkl of every case found in "
                + "any of them: predict the missing cases with 'nnunet predict ... -z', or remove the extra cases. "
                + "Nothing was written."
        case let .inconsistentProbabilities(caseName, detail):
            return "Case '\(caseName)': the saved probabilities cannot be ensembled: \(detail). The folders must "
                + "come from 'nnunet predict -z' runs on the same images."
        case let .missingModelFolders(configurations, folders):
            return "The trained model folder of " + zip(configurations, folders).map { "\($0) ('\($1)')" }
                .joined(separator: ", ") + (folders.count == 1 ? " is" : " are") + " missing. Model selection "
                + "compares the configurations given with -m: train them (every fold) first, or leave them out of -m. "
                + "Nothing was done."
        case let .incompleteValidation(folder, problem, rerunCommand):
            return "Cannot ensemble the validation in '\(folder)': \(problem). Please rerun the validation with "
                + "'\(rerunCommand)' (it saves CASE.npz and CASE.pkl for every validation case)."
        }
    }

    /// Same as ``description``, for `LocalizedError`.
    public var errorDescription: String? { description }
}
