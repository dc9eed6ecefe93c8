import Foundation
import NNUNetCore

/// The 3d_lowres stage's segmentations the cascade trains on: `pred_next_stage/CASE_segFromPrevStage.npz` in the
/// 3d_lowres trainer folder, one uint8 label map (key `data`) per case in the shape of the stage-1 (full resolution)
/// preprocessed case (reference sheet §12, §14).
///
/// Each 3d_lowres fold writes its validation cases after training, so the five folds together cover every case with
/// a prediction of a model that did not see it. Fold `all` writes nothing here: its "predictions" of its own training
/// cases would be far better than anything the cascade meets at inference (the FAQ: "DO NOT use fold=all when you
/// intend to run the cascade").
public struct PreviousStageSegmentations: Sendable {
    /// Folder name inside the 3d_lowres trainer folder.
    public static let folderName = "pred_next_stage"
    /// File name suffix after the case identifier.
    public static let fileSuffix = "_segFromPrevStage.npz"

    /// The `pred_next_stage` folder.
    public let folder: URL

    /// Wraps a `pred_next_stage` folder (it need not exist yet).
    public init(folder: URL) { self.folder = folder }

    /// The folder of the 3d_lowres model `trainer__plansIdentifier` of `taskName` under `RESULTS_FOLDER/nnUNet`.
    public init(trainedModels: URL, taskName: String, trainer: String = "nnUNetTrainerV2",
                plansIdentifier: String = "nnUNetPlansv2.1") {
        folder = trainedModels.appendingPathComponent(NetworkConfiguration.lowres.rawValue)
            .appendingPathComponent(taskName).appendingPathComponent("\(trainer)__\(plansIdentifier)")
            .appendingPathComponent(Self.folderName)
    }

    /// `CASE_segFromPrevStage.npz`.
    public func file(for identifier: String) -> URL { folder.appendingPathComponent(identifier + Self.fileSuffix) }

    /// The identifiers among `identifiers` that have no file.
    public func missing(among identifiers: [String]) -> [String] {
        identifiers.filter { !FileManager.default.fileExists(atPath: file(for: $0).path) }
    }

    /// Refuses to go on unless every listed case has its segmentation, explaining how to get them.
    /// - Throws: ``TrainingError/incompletePreviousStage(folder:missing:fix:)``.
    public func requireComplete(_ identifiers: [String], task: String) throws {
        let missing = missing(among: identifiers)
        guard !missing.isEmpty else { return }
        throw TrainingError.incompletePreviousStage(
            folder: folder.path, missing: missing,
            fix: "Train all five folds of 3d_lowres first ('nnunet train 3d_lowres nnUNetTrainerV2 \(task) FOLD' for "
                + "FOLD 0 to 4); each fold predicts its validation cases into \(Self.folderName)/. DO NOT use fold=all "
                + "when you intend to run the cascade: a model segmenting its own training cases gives the cascade "
                + "unrealistically good inputs, so fold 'all' writes no \(Self.folderName).")
    }

    /// The label map of a case as Float values, checked against the expected (Z, Y, X) shape.
    /// - Throws: ``TrainingError/unreadableCase(identifier:path:reason:)`` for a missing, unreadable or mis-shaped file.
    public func labels(for identifier: String, shape: [Int]) throws -> [Float] {
        let url = file(for: identifier)
        let array: NPYArray
        do { array = try NPZ.read(url, member: "data") } catch {
            throw TrainingError.unreadableCase(identifier: identifier, path: url.path, reason: "\(error)")
        }
        guard array.shape == shape else {
            throw TrainingError.unreadableCase(
                identifier: identifier, path: url.path,
                reason: "its shape \(array.shape) differs from the stage-1 preprocessed case \(shape); the 3d_lowres "
                    + "predictions belong to other preprocessed data: rerun the 3d_lowres validation (-val)")
        }
        return array.floats()
    }

    /// Writes a case's label map (uint8, key `data`), atomically, creating the folder.
    public func write(labels: [UInt8], shape: [Int], identifier: String) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try NPZ.write([("data", NPYArray(shape: shape, dataType: .uint8, bytes: Data(labels)))],
                      to: file(for: identifier))
    }
}
