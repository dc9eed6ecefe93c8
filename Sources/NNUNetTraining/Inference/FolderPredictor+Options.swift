import Foundation
import NNUNetCore

extension FolderPredictor {
    /// What to predict: an inference folder, or a list of image files.
    ///
    /// Images are named as in v1: `CASE_0000.nii.gz`, `CASE_0001.nii.gz`, ... (one file per modality, four digits).
    public enum Input: Sendable, Equatable {
        /// Every case of a folder of `CASE_XXXX.nii.gz` files (v1 `nnUNet_predict -i FOLDER`), in name order.
        case folder(URL)
        /// The cases of these files, in the order given. A file may be any modality of its case; modalities not in
        /// the list are looked up next to the case's lowest-numbered listed file (so passing each case's
        /// `CASE_0000.nii.gz` is enough).
        case files([URL])
    }

    /// One part of the cases when several processes (or machines) share the work: case i belongs to part
    /// `i % count` (v1 `--part_id` / `--num_parts`).
    public struct Part: Sendable, Equatable {
        /// This part, `0..<count`.
        public var index: Int
        /// The number of parts.
        public var count: Int

        /// Part `index` of `count`.
        public init(_ index: Int, of count: Int) {
            self.index = index
            self.count = count
        }

        /// All the cases (part 0 of 1).
        public static let all = Part(0, of: 1)
    }

    /// Where a 3d_cascade_fullres model gets the 3d_lowres segmentation of each case.
    public enum PreviousStage: Sendable, Equatable {
        /// The segmentations exist in this folder as `CASE.nii.gz` (what predicting with the 3d_lowres model wrote;
        /// `nnunet predict -l FOLDER`).
        case segmentations(URL)
        /// Predict them first with this 3d_lowres trainer folder into `OUTPUT/3d_lowres_predictions/` (what
        /// `nnunet predict -m 3d_cascade_fullres` does without `-l`), with the same options but no probability
        /// export. Only with ``Part/all``.
        case predict(modelFolder: URL)
    }

    /// How ``FolderPredictor`` predicts: v1 `nnUNet_predict`'s options, typed, with v1's defaults.
    public struct Options: Sendable, Equatable {
        /// The folds to use (v1 `-f`); nil for every `fold_*` folder of the model folder.
        public var folds: [Fold]?
        /// The checkpoint name without extension (v1 `-chk`).
        public var checkpoint = "model_final_checkpoint"
        /// Test-time mirroring (on unless v1's `--disable_tta`).
        public var usesMirroring = true
        /// Distance between sliding-window tiles as a fraction of the patch size (v1 `--step_size`).
        public var stepSize = 0.5
        /// Rows per slab of the networks' full-resolution stage, or nil to run each patch whole (the default).
        /// `GenericUNet.defaultSlabDepth` (NNUNetCore) is what `nnunet predict --low_memory` uses: a fraction of the
        /// activation memory for about 4 to 5 times the time. Not in v1.
        public var slabDepth: Int?
        /// How probabilities become labels at the original resolution (v1 `--mode`).
        public var exportMode = SegmentationExporter.Mode.normal
        /// Also write `CASE.npz` (float16 softmax at the cropped size) and `CASE.pkl` (v1 `--save_npz` / `-z`), which
        /// ensembling reads. Needs ``exportMode`` `.normal`.
        public var savesProbabilities = false
        /// The share of the cases this call predicts (v1 `--part_id` / `--num_parts`).
        public var part = Part.all
        /// Predict cases whose `CASE.nii.gz` already exists in the output folder again (v1 `--overwrite_existing`);
        /// by default they are skipped, as in v1.
        public var overwritesExisting = false
        /// Apply the model folder's `postprocessing.json` (chosen by `nnunet determine-postprocessing`), when it has
        /// one, to the cases predicted, and copy it into the output folder (v1 predicts this way unless told
        /// `disable_postprocessing`).
        public var appliesPostprocessing = true
        /// For a 3d_cascade_fullres model: where the 3d_lowres segmentations come from. Required for such a model,
        /// refused for any other.
        public var previousStage: PreviousStage?
        /// Threads for the kernels, preprocessing and export; nil for `ThreadSettings.defaultThreads` (NNUNetCore) of
        /// the calling scope (the processor count unless bound).
        public var threads: Int?
        /// What the run is, written into the output folder's lock file for the message a concurrent run gets; nil
        /// for "FolderPredictor" and the model folder's name.
        public var purpose: String?

        /// v1's defaults: every fold, `model_final_checkpoint`, mirroring, step 0.5, normal export, no npz, every
        /// case, existing outputs skipped, postprocessing applied.
        public init() {}

        /// Checks the options that do not depend on the model or the files.
        /// - Throws: ``TrainingError/invalidPredictionRequest(_:)`` naming the option.
        public func validate() throws {
            guard part.count >= 1, (0..<part.count).contains(part.index) else {
                throw TrainingError.invalidPredictionRequest("part \(part.index) of \(part.count) does not exist; the "
                                                             + "part index must be in 0..<\(max(part.count, 1))")
            }
            if savesProbabilities, exportMode != .normal {
                throw TrainingError.invalidPredictionRequest(
                    "saving probabilities (-z) needs the normal export mode: the \(exportMode.rawValue) mode takes "
                    + "the argmax before resampling and keeps no probabilities (as in v1)")
            }
            if !(stepSize > 0 && stepSize <= 1) {
                throw TrainingError.invalidPredictionRequest("the step size must be in (0, 1], got \(stepSize)")
            }
            if let slabDepth, slabDepth < 1 {
                throw TrainingError.invalidPredictionRequest("the slab depth must be at least 1, got \(slabDepth)")
            }
            if let threads, threads < 1 {
                throw TrainingError.invalidPredictionRequest("the thread count must be at least 1, got \(threads)")
            }
            if case .predict = previousStage, part != .all {
                throw TrainingError.invalidPredictionRequest(
                    "predicting the 3d_lowres stage first cannot be split into parts; predict 3d_lowres per part "
                    + "yourself and pass its folder as the previous stage's segmentations (nnunet predict -l FOLDER)")
            }
        }
    }
}

/// One case to predict: its identifier and one file per modality.
struct InputCase: Equatable {
    var identifier: String
    var imageFiles: [URL]
}

extension FolderPredictor.Input {
    /// The cases, each with `modalities` files in modality order.
    /// - Throws: ``TrainingError/noCasesToPredict(folder:)`` for a folder without `CASE_XXXX.nii.gz` files;
    ///   ``TrainingError/invalidPredictionRequest(_:)`` for a file not named so, or of a modality the model lacks.
    func cases(modalities: Int) throws -> [InputCase] {
        switch self {
        case let .folder(folder):
            let cases = try RawTask.casesInInferenceFolder(folder, modalities: modalities)
            guard !cases.isEmpty else { throw TrainingError.noCasesToPredict(folder: folder.path) }
            return cases.map { InputCase(identifier: $0.identifier, imageFiles: $0.imageFiles) }
        case let .files(files):
            guard !files.isEmpty else { throw TrainingError.invalidPredictionRequest("no input files were given") }
            var order: [String] = []
            var given: [String: [Int: URL]] = [:]
            for file in files {
                let name = file.lastPathComponent
                let stem = name.hasSuffix(".nii.gz") ? String(name.dropLast(".nii.gz".count)) : ""
                let digits = stem.suffix(4)
                guard stem.count > 5, stem.dropLast(4).hasSuffix("_"), digits.allSatisfy(\.isASCII),
                      let modality = Int(digits) else {
                    throw TrainingError.invalidPredictionRequest(
                        "'\(file.path)' is not named CASE_XXXX.nii.gz (XXXX the 4-digit modality index, e.g. "
                        + "CASE_0000.nii.gz)")
                }
                guard modality < modalities else {
                    throw TrainingError.invalidPredictionRequest(
                        "'\(file.path)' is modality \(modality), but the model has \(modalities) modalit"
                        + (modalities == 1 ? "y" : "ies") + " (CASE_0000.nii.gz ... CASE_"
                        + String(format: "%04d", modalities - 1) + ".nii.gz)")
                }
                let identifier = String(stem.dropLast(5))
                if given[identifier] == nil { order.append(identifier) }
                given[identifier, default: [:]][modality] = file
            }
            return order.map { identifier in
                let byModality = given[identifier] ?? [:]
                let folder = (byModality.sorted { $0.key < $1.key }.first?.value ?? URL(fileURLWithPath: "."))
                    .deletingLastPathComponent()
                return InputCase(identifier: identifier, imageFiles: (0..<modalities).map {
                    byModality[$0] ?? folder.appendingPathComponent(
                        RawTask.imageFileName(identifier: identifier, modality: $0))
                })
            }
        }
    }
}
