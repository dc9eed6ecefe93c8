import Foundation
import NNUNetCore
import NNUNetEvaluation

extension FolderPredictor {
    /// Where one case stands in the run, as reported with each case event.
    public struct CaseProgress: Sendable, Equatable {
        /// The case identifier (`CASE` of `CASE_0000.nii.gz`).
        public var identifier: String
        /// Its position among this part's cases, from 0.
        public var index: Int
        /// The number of cases of this part.
        public var count: Int
        /// The label map it is (or would be) written to, `OUTPUT/CASE.nii.gz`.
        public var output: URL
    }

    /// Why a case was not predicted.
    public enum SkipReason: Sendable, Equatable {
        /// Its output exists and ``Options/overwritesExisting`` is off. Not a failure.
        case outputExists
        /// A modality file of the case does not exist. Counted as a failure.
        case missingModality(URL)
        /// The cascade's 3d_lowres segmentation of the case does not exist. Counted as a failure.
        case missingPreviousStage(URL)
    }

    /// What ``FolderPredictor/predict(_:into:progress:)`` reports as it goes, in order.
    public enum Event: Sendable {
        /// Temporary files of interrupted earlier runs were removed from the output folder (after taking its lock).
        case removedTemporaryFiles(count: Int)
        /// The cascade's 3d_lowres stage starts predicting into `folder` (``PreviousStage/predict(modelFolder:)``);
        /// its own events follow.
        case previousStageStarted(folder: URL)
        /// The cascade's 3d_lowres stage is done.
        case previousStageFinished(folder: URL)
        /// A model starts on its cases.
        case started(modelFolder: URL, caseCount: Int, foldCount: Int, usesMirroring: Bool)
        /// A case starts.
        case caseStarted(CaseProgress)
        /// A case's label map (and, if asked, its npz and pkl) is written.
        case caseFinished(CaseProgress, seconds: Double)
        /// A case was not predicted.
        case caseSkipped(CaseProgress, reason: SkipReason)
        /// A case failed; the run goes on with the next one and throws at the end.
        case caseFailed(CaseProgress, message: String)
        /// The model folder's `postprocessing.json` was applied to the cases predicted.
        case postprocessingApplied(file: URL, decision: PostprocessingDecision)
        /// The model folder has no `postprocessing.json` (run `nnunet determine-postprocessing` after the
        /// cross-validation): the raw predictions are final.
        case postprocessingMissing(expected: URL)
        /// A model is done with its cases.
        case finished(Summary)
    }

    /// A case that could not be predicted, and why.
    public struct Failure: Sendable, Equatable {
        /// The case identifier.
        public var identifier: String
        /// What went wrong (the error's description, which names the file).
        public var message: String
    }

    /// The outcome of predicting a folder with one model.
    public struct Summary: Sendable {
        /// The folder written.
        public var outputFolder: URL
        /// The cases predicted by this call, in order.
        public var predicted: [String]
        /// The cases skipped because their output existed.
        public var skipped: [String]
        /// The cases that could not be predicted.
        public var failures: [Failure]
        /// Whether the model folder's postprocessing was applied.
        public var appliedPostprocessing: Bool
        /// Wall-clock seconds of the whole call (also written to `prediction_time.txt`).
        public var seconds: Double
    }
}
