import Foundation
import NNUNetCore

/// The checkpoint files of a fold (architecture: "Checkpoints").
///
/// `NAME.model` holds the weights in safetensors format (readable by Python's `safetensors` or plain `json` +
/// `numpy`), with the optimizer's momentum buffers under `optimizer.momentum_buffer.<parameter>`; `NAME.model.json`
/// holds what v1 keeps in the checkpoint dict and `NAME.model.pkl`: trainer name, init arguments, hyperparameters,
/// epoch, logs, best-metric state, plans. Both are written to temporary names and renamed, weights first; a random
/// token stored in both detects a pair torn apart by a crash between the two renames.
public struct CheckpointMetadata: Codable, Sendable, Equatable {
    /// Version of this metadata layout (1).
    public var formatVersion = 1
    /// The trainer's registered name (``NetworkTrainer/trainerName``).
    public var trainer: String
    /// Random token also stored in `NAME.model`; a mismatch means the two files belong to different saves.
    public var token: String
    /// Completed epochs at the time of the save.
    public var epoch: Int
    /// Seed of the run.
    public var seed: UInt64
    /// The effective hyperparameters of the run.
    public var hyperparameters: TrainingHyperparameters
    /// Losses, metrics and best-metric state recorded so far.
    public var log: TrainingLog
    /// The optimizer's learning rate at the time of the save.
    public var learningRate: Double
    /// Trainer-specific fields (configuration, task, fold, plans as JSON text, ...).
    public var extras: [String: String]
}

extension CheckpointMetadata {
    /// Writes `weightsURL` (safetensors with ``token``) and then its `.model.json` sidecar, each atomically.
    func writePair(tensors: [(name: String, tensor: Safetensors.Tensor)], to weightsURL: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity",
                                                                      negativeInfinity: "-Infinity", nan: "NaN")
        let json = try encoder.encode(self)
        try Safetensors.write(tensors, metadata: ["format": "nnunet-swift", "token": token], to: weightsURL)
        try AtomicFile.write(json, to: weightsURL.appendingPathExtension("json"))
    }
}

extension NetworkTrainer {
    static let momentumPrefix = "optimizer.momentum_buffer."

    /// Writes `NAME.model` and `NAME.model.json` into the output folder (no-op when saving is disabled).
    public func saveCheckpoint(named name: String) throws {
        guard savesCheckpoints, let network else { return }
        let token = UUID().uuidString
        var tensors: [(name: String, tensor: Safetensors.Tensor)] = network.namedParameters().map {
            ($0.name, Safetensors.Tensor(shape: $0.parameter.shape, values: $0.parameter.data))
        }
        if let optimizer {
            for ((parameterName, parameter), buffer) in zip(network.namedParameters(), optimizer.momentumBuffers) {
                if let buffer {
                    tensors.append((Self.momentumPrefix + parameterName, .init(shape: parameter.shape, values: buffer)))
                }
            }
        }
        let metadata = CheckpointMetadata(
            trainer: Self.trainerName, token: token, epoch: log.epoch, seed: seed, hyperparameters: hyperparameters,
            log: log, learningRate: Double(optimizer?.learningRate ?? 0), extras: checkpointExtras())
        try metadata.writePair(tensors: tensors, to: outputFolder.appendingPathComponent(name + ".model"))
    }

    /// Reads a checkpoint pair and checks that it belongs together.
    /// - Throws: ``TrainingError/corruptCheckpoint(path:reason:)`` naming the file.
    public static func readCheckpoint(_ weightsURL: URL) throws
        -> (metadata: CheckpointMetadata, tensors: [String: Safetensors.Tensor]) {
        let jsonURL = weightsURL.appendingPathExtension("json")
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity",
                                                                        negativeInfinity: "-Infinity", nan: "NaN")
        let metadata: CheckpointMetadata
        do {
            metadata = try decoder.decode(CheckpointMetadata.self, from: Data(contentsOf: jsonURL))
        } catch {
            throw TrainingError.corruptCheckpoint(path: jsonURL.path, reason: "\(error.localizedDescription)")
        }
        let (tensors, fileMetadata): ([(name: String, tensor: Safetensors.Tensor)], [String: String])
        do {
            (tensors, fileMetadata) = try Safetensors.read(contentsOf: weightsURL)
        } catch {
            throw TrainingError.corruptCheckpoint(path: weightsURL.path, reason: "\(error)")
        }
        guard fileMetadata["token"] == metadata.token else {
            throw TrainingError.corruptCheckpoint(path: weightsURL.path, reason: "the weights and \(jsonURL.lastPathComponent) "
                                                  + "come from different saves (interrupted write)")
        }
        return (metadata, Dictionary(tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a }))
    }

    /// Loads weights, optimizer state, epoch, logs and hyperparameters from a checkpoint, so that training continues
    /// with the same schedule and counters.
    public func loadCheckpoint(from weightsURL: URL) throws {
        try initialize()
        guard let network else { return }
        let (metadata, tensors) = try Self.readCheckpoint(weightsURL)
        for (name, parameter) in network.namedParameters() {
            guard let tensor = tensors[name], tensor.shape == parameter.shape else {
                throw TrainingError.corruptCheckpoint(path: weightsURL.path, reason: "parameter '\(name)' of shape "
                                                      + "\(parameter.shape) is missing or has another shape")
            }
            parameter.assign(tensor.values)
        }
        if let optimizer {
            optimizer.momentumBuffers = network.namedParameters().map { tensors[Self.momentumPrefix + $0.name]?.values }
            optimizer.learningRate = Float(metadata.learningRate)
        }
        hyperparameters = metadata.hyperparameters
        log = metadata.log
    }

    /// The checkpoint to continue from (v1 `-c`): final, else latest, else best; nil if none exists.
    public func checkpointToContinue() -> URL? {
        ["model_final_checkpoint", "model_latest", "model_best"].map {
            outputFolder.appendingPathComponent($0 + ".model")
        }.first { FileManager.default.fileExists(atPath: $0.path) }
    }
}
