import Foundation
import NNUNetCore
import NNUNetPlanning

/// nnU-Net v1 trained model folders read without Python: `fold_k/<checkpoint>.model` (a `torch.save` zip archive)
/// next to `<checkpoint>.model.pkl` (constructor arguments, trainer name and plans), and `plans.pkl` in the trainer
/// folder.
///
/// v1's `state_dict` names are `GenericUNet`'s own parameter names, so the weights load by name; a `module.` prefix
/// (`nn.DataParallel`) is stripped as v1 does. The network topology comes from the plans stored in the `.model.pkl`,
/// the stage from its `init` arguments, as in v1's `load_model_and_checkpoint_files`.
public enum V1ModelFolder {
    /// Trainers whose network is v1's `Generic_UNet` with the standard topology, which these loaders can run.
    /// Others load too when their `state_dict` matches that network; otherwise the error names the first parameter
    /// that does not fit.
    public static let knownTrainers: Set<String> = [
        "nnUNetTrainerV2", "nnUNetTrainerV2_5epochs", "nnUNetTrainerV2_Loss_Dice", "nnUNetTrainerV2_Loss_CE",
        "nnUNetTrainerV2_noDeepSupervision", "nnUNetTrainerV2_DA3", "nnUNetTrainerV2_DA5", "nnUNetTrainerV2_fp32",
        "nnUNetTrainerV2_noMirroring", "nnUNetTrainer", "nnUNetTrainerV2_Loss_DiceCE_noSmooth",
    ]

    /// Whether `weights` is a v1 checkpoint (a torch zip archive without this package's `.model.json`).
    public static func isV1Checkpoint(_ weights: URL) -> Bool {
        if FileManager.default.fileExists(atPath: weights.path + ".json") { return false }
        guard let handle = try? FileHandle(forReadingFrom: weights) else { return false }
        defer { try? handle.close() }
        let magic = (try? handle.read(upToCount: 4)) ?? Data()
        return magic == Data([0x50, 0x4B, 0x03, 0x04])
    }

    /// What a v1 `.model.pkl` says about its model.
    public struct ModelInfo: Sendable {
        /// The trainer class name (`name`), e.g. `nnUNetTrainerV2`.
        public var trainerName: String
        /// The stage of the plans the model was trained on (`init[5]`).
        public var stage: Int
        /// The plans the trainer used (`plans`).
        public var plans: Plans
    }

    /// Reads `<checkpoint>.model.pkl`.
    /// - Throws: ``TrainingError/corruptCheckpoint(path:reason:)`` naming the file when it is not a v1 model pickle.
    public static func readModelInfo(_ url: URL, fallbackPlans: Plans?) throws -> ModelInfo {
        let value: PickleValue
        do { value = try PickleReader.read(contentsOf: url) } catch {
            throw TrainingError.corruptCheckpoint(path: url.path, reason: "\(error)")
        }
        guard let name = value["name"]?.stringValue else {
            throw TrainingError.corruptCheckpoint(path: url.path, reason: "it has no trainer 'name' (is it an nnU-Net v1 "
                                                  + ".model.pkl?)")
        }
        let stage = value["init"]?.elements.flatMap { $0.count > 5 ? $0[5].intValue : nil } ?? 0
        let plans: Plans
        if let stored = value["plans"], case .dict = stored {
            plans = try Plans(v1Pickle: stored, source: url.path + ": plans")
        } else if let fallbackPlans {
            plans = fallbackPlans
        } else {
            throw TrainingError.corruptCheckpoint(path: url.path, reason: "it stores no plans and the folder has none")
        }
        return ModelInfo(trainerName: name, stage: stage, plans: plans)
    }

    /// The configuration of a model: the folder two levels above the trainer folder when it is one of v1's
    /// configurations (`.../3d_fullres/TaskXXX/TRAINER__PLANS`), otherwise inferred from the trainer and stage.
    public static func configuration(trainerFolder: URL, info: ModelInfo) -> NetworkConfiguration {
        let fromPath = trainerFolder.deletingLastPathComponent().deletingLastPathComponent().lastPathComponent
        if let configuration = NetworkConfiguration(rawValue: fromPath) { return configuration }
        if info.trainerName.contains("Cascade") { return .cascadeFullres }
        if let stage = info.plans.stage(info.stage), stage.patchSize.count == 2 { return .twoD }
        return info.plans.numStages > 1 && info.stage == 0 ? .lowres : .fullres
    }

    /// Loads one fold: the configuration from the `.model.pkl` and the network with the checkpoint's weights.
    /// - Throws: ``TrainingError/corruptCheckpoint(path:reason:)`` naming the file and the parameter that is missing
    ///   or has another shape.
    public static func loadFold(weights: URL, trainerFolder: URL, folderPlans: Plans?)
        throws -> (configuration: TrainingConfiguration, network: GenericUNet, info: ModelInfo) {
        let pickle = URL(fileURLWithPath: weights.path + ".pkl")
        guard FileManager.default.fileExists(atPath: pickle.path) else {
            throw TrainingError.unusableModel("'\(pickle.path)' does not exist: a v1 checkpoint needs its .model.pkl next "
                                            + "to it (copy both files)")
        }
        let info = try readModelInfo(pickle, fallbackPlans: folderPlans)
        let networkConfiguration = Self.configuration(trainerFolder: trainerFolder, info: info)
        let fold = Fold(folderName: weights.deletingLastPathComponent().lastPathComponent)?.index
        let configuration = try TrainingConfiguration(
            plans: info.plans, configuration: networkConfiguration,
            taskName: trainerFolder.deletingLastPathComponent().lastPathComponent, fold: fold,
            plansIdentifier: trainerFolder.lastPathComponent.components(separatedBy: "__").last ?? "nnUNetPlansv2.1",
            preprocessedTaskFolder: nil)
        let checkpoint: TorchCheckpoint
        do { checkpoint = try TorchCheckpoint(contentsOf: weights) } catch {
            throw TrainingError.corruptCheckpoint(path: weights.path, reason: "\(error)")
        }
        var tensors: [String: TorchTensorReference] = [:]
        for (key, tensor) in checkpoint.stateDict {
            tensors[key.hasPrefix("module.") ? String(key.dropFirst("module.".count)) : key] = tensor
        }
        guard !tensors.isEmpty else {
            throw TrainingError.corruptCheckpoint(path: weights.path, reason: "it has no state_dict tensors")
        }
        let network = configuration.makeInferenceNetwork()
        let hint = knownTrainers.contains(info.trainerName) ? ""
            : " (trainer '\(info.trainerName)' may build another network than Generic_UNet)"
        for (parameterName, parameter) in network.namedParameters() {
            guard let tensor = tensors[parameterName] else {
                throw TrainingError.corruptCheckpoint(path: weights.path, reason: "state_dict has no '\(parameterName)'"
                                                      + hint)
            }
            guard tensor.shape == parameter.shape else {
                throw TrainingError.corruptCheckpoint(path: weights.path, reason: "'\(parameterName)' has shape "
                                                      + "\(tensor.shape), the plans' network needs \(parameter.shape)"
                                                      + hint)
            }
            do { parameter.assign(try checkpoint.values(of: tensor)) } catch {
                throw TrainingError.corruptCheckpoint(path: weights.path, reason: "\(error)")
            }
        }
        return (configuration, network, info)
    }
}
