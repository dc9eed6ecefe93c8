import Foundation
import NNUNetCore
import NNUNetPlanning

extension TrainedModel {
    /// Writes a model folder that ``init(trainerFolder:folds:checkpoint:)`` loads: `plans.json` and
    /// `FOLD/CHECKPOINT.model` (safetensors) + `.model.json` holding `network`'s current weights and `configuration`.
    ///
    /// For weights that did not come from a training run (benchmarks with freshly initialised networks, tests);
    /// training writes its own folders. Existing files of the same names are replaced.
    ///
    /// - Parameters:
    ///   - plans: the plans, written as `plans.json`.
    ///   - configuration: the configuration the network was built from (recorded in the checkpoint).
    ///   - network: the weights to store, by parameter name.
    ///   - trainerFolder: the `TRAINER__PLANS` folder to write (created if needed).
    ///   - fold: the fold (folder `fold_0`, ..., `all`).
    ///   - checkpoint: the checkpoint name without extension.
    ///   - trainerName: the trainer recorded in the checkpoint.
    /// - Throws: `CoreError` when a file cannot be written.
    public static func writeModelFolder(plans: Plans, configuration: TrainingConfiguration, network: GenericUNet,
                                        trainerFolder: URL, fold: Fold = .index(0),
                                        checkpoint: String = "model_final_checkpoint",
                                        trainerName: String = "nnUNetTrainerV2") throws {
        let folder = trainerFolder.appendingPathComponent(fold.folderName, isDirectory: true)
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw CoreError.fileSystem(path: folder.path, reason: "cannot create folder (\(error.localizedDescription))")
        }
        try plans.write(to: trainerFolder.appendingPathComponent("plans.json"))
        let tensors: [(name: String, tensor: Safetensors.Tensor)] = network.namedParameters().map {
            ($0.name, Safetensors.Tensor(shape: $0.parameter.shape, values: $0.parameter.data))
        }
        let configurationJSON = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
        let metadata = CheckpointMetadata(
            trainer: trainerName, token: UUID().uuidString, epoch: 0, seed: 0,
            hyperparameters: TrainingHyperparameters(), log: TrainingLog(), learningRate: 0,
            extras: ["configuration": configurationJSON])
        try metadata.writePair(tensors: tensors, to: folder.appendingPathComponent(checkpoint + ".model"))
    }
}
