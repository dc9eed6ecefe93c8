import Foundation
import NNUNetCore

/// `nnunet train ... -pretrained_weights FILE` (v1's `load_pretrained_weights`): initialises a network from another
/// model's checkpoint before training starts.
///
/// Matching is by parameter name. Every parameter of the encoder and decoder blocks (`conv_blocks_*`) must exist in the
/// file with the same shape, otherwise the weights are refused (the architectures differ); the remaining parameters
/// (transposed convolutions, segmentation heads) are taken when their shape matches and keep their fresh
/// initialisation otherwise, so a model trained for another number of classes can be fine-tuned. Both this package's
/// checkpoints (safetensors `NAME.model` + `.model.json`) and nnU-Net v1's torch checkpoints are accepted.
public enum PretrainedWeights {
    /// Which parameters were taken from the file and which kept their initialisation.
    public struct Report: Sendable {
        /// Names of the parameters copied from the file.
        public var loaded: [String]
        /// Names of the parameters that kept their initialisation (missing in the file or of another shape).
        public var kept: [String]
    }

    /// Loads the matching weights of `file` into `network`.
    /// - Throws: ``TrainingError/corruptCheckpoint(path:reason:)`` naming the first block parameter that is missing or
    ///   has another shape, or the file when it cannot be read.
    @discardableResult
    public static func load(_ file: URL, into network: GenericUNet) throws -> Report {
        let weights = try read(file)
        var report = Report(loaded: [], kept: [])
        for (name, parameter) in network.namedParameters() where name.hasPrefix("conv_blocks") {
            guard let tensor = weights[name] else {
                throw TrainingError.corruptCheckpoint(path: file.path, reason: "it has no '\(name)': the pretrained "
                                                      + "network's architecture differs from this plan's")
            }
            guard tensor.shape == parameter.shape else {
                throw TrainingError.corruptCheckpoint(path: file.path, reason: "'\(name)' has shape \(tensor.shape), "
                                                      + "this plan's network needs \(parameter.shape): the "
                                                      + "architectures differ")
            }
        }
        for (name, parameter) in network.namedParameters() {
            if let tensor = weights[name], tensor.shape == parameter.shape {
                parameter.assign(try tensor.values())
                report.loaded.append(name)
            } else {
                report.kept.append(name)
            }
        }
        return report
    }

    /// A parameter in a checkpoint file, read on demand.
    struct StoredTensor {
        var shape: [Int]
        var values: () throws -> [Float]
    }

    static func read(_ file: URL) throws -> [String: StoredTensor] {
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw TrainingError.corruptCheckpoint(path: file.path, reason: "the file does not exist")
        }
        if V1ModelFolder.isV1Checkpoint(file) {
            let checkpoint: TorchCheckpoint
            do { checkpoint = try TorchCheckpoint(contentsOf: file) } catch {
                throw TrainingError.corruptCheckpoint(path: file.path, reason: "\(error)")
            }
            var out: [String: StoredTensor] = [:]
            for (key, tensor) in checkpoint.stateDict {
                let name = key.hasPrefix("module.") ? String(key.dropFirst("module.".count)) : key
                out[name] = StoredTensor(shape: tensor.shape) { try checkpoint.values(of: tensor) }
            }
            return out
        }
        let (_, tensors) = try NetworkTrainer.readCheckpoint(file)
        return tensors.filter { !$0.key.hasPrefix(NetworkTrainer.optimizerPrefix) }
            .mapValues { tensor in StoredTensor(shape: tensor.shape) { tensor.values } }
    }
}
