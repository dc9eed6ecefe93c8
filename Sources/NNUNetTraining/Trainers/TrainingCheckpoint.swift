import Foundation
import NNUNetCore

/// The checkpoint files of a fold (architecture: "Checkpoints").
///
/// A checkpoint is one file, `NAME.model`, in safetensors format (readable by Python's `safetensors` or plain `json` +
/// `numpy`): the weights, the optimizer's state under `optimizer.<slot>.<parameter>` (SGD's momentum buffers:
/// `optimizer.momentum_buffer.<parameter>`; Adam's: `optimizer.adam.exp_avg.<parameter>`, ...), and in the
/// header's `__metadata__` under `nnunet_checkpoint` this metadata as JSON text (what v1 keeps in the checkpoint dict
/// and `NAME.model.pkl`: trainer name, init arguments, hyperparameters, epoch, logs, best-metric state, plans). It is
/// written to a temporary name and renamed into place once, so no crash or concurrent writer can tear it. A readable
/// copy of the metadata, `NAME.model.json`, is written after it for people and tools; loading never needs it.
///
/// Checkpoints of earlier versions (weights + `NAME.model.json` sharing a random ``token``) still load.
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
    /// The number of data-parallel ranks that trained up to this checkpoint (JSON `world_size`; absent in checkpoints
    /// of earlier versions, which were all single-process).
    public var worldSize: Int? = nil

    enum CodingKeys: String, CodingKey {
        case formatVersion, trainer, token, epoch, seed, hyperparameters, log, learningRate, extras
        case worldSize = "world_size"
    }
}

extension CheckpointMetadata {
    /// The `__metadata__` key of a checkpoint file that holds this metadata as JSON text.
    static let safetensorsKey = "nnunet_checkpoint"

    /// The metadata as pretty JSON (non-finite numbers as strings).
    func encodedJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity",
                                                                      negativeInfinity: "-Infinity", nan: "NaN")
        return try encoder.encode(self)
    }

    /// Decodes metadata JSON written by ``encodedJSON()``.
    static func decode(_ data: Data) throws -> CheckpointMetadata {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity",
                                                                        negativeInfinity: "-Infinity", nan: "NaN")
        return try decoder.decode(CheckpointMetadata.self, from: data)
    }

    /// Writes the checkpoint `weightsURL` (one safetensors file holding the tensors and this metadata, renamed into
    /// place once), then its readable copy `NAME.model.json`, each atomically.
    func writePair(tensors: [(name: String, tensor: Safetensors.Tensor)], to weightsURL: URL) throws {
        let json = try encodedJSON()
        try Safetensors.write(tensors, metadata: ["format": "nnunet-swift", "token": token,
                                                  Self.safetensorsKey: String(decoding: json, as: UTF8.self)],
                              to: weightsURL)
        try AtomicFile.write(json, to: weightsURL.appendingPathExtension("json"))
    }
}

/// A checkpoint that `-c` found unusable and renamed aside (never deleted).
public struct DamagedCheckpoint: Sendable, Equatable {
    /// The checkpoint as it was named (`.../model_latest.model`).
    public var url: URL
    /// Why it cannot be loaded.
    public var reason: String
    /// Where it was moved (`NAME.model.damaged-<timestamp>`); nil when it was only inspected.
    public var movedTo: URL?
}

/// The checkpoint that `nnunet train -c` continues from, and what was found on the way.
public struct CheckpointSelection: Sendable {
    /// The newest intact checkpoint; nil when none of `model_latest`, `model_final_checkpoint`, `model_best` is.
    public var checkpoint: URL?
    /// The completed epochs recorded in ``checkpoint``.
    public var epoch: Int?
    /// The checkpoints that exist but cannot be loaded.
    public var damaged: [DamagedCheckpoint] = []
    /// One line saying which checkpoint was chosen and why (for the log).
    public var explanation: String {
        var text: String
        if let checkpoint, let epoch {
            text = "Continuing from \(checkpoint.lastPathComponent) (epoch \(epoch)): the newest intact checkpoint"
        } else {
            text = "No intact checkpoint (model_latest, model_final_checkpoint, model_best) to continue from"
        }
        for item in damaged {
            text += "; \(item.url.lastPathComponent) is damaged (\(item.reason))"
            if let movedTo = item.movedTo { text += " and was moved aside to \(movedTo.lastPathComponent)" }
        }
        return text
    }
}

extension NetworkTrainer {
    static let momentumPrefix = "optimizer.momentum_buffer."
    /// Prefix of the optimizer's state tensors: `optimizer.<slot>.<parameter>` (``Optimizer/stateBuffers``).
    static let optimizerPrefix = "optimizer."

    /// The checkpoints `-c` considers, in the order that wins among equal epochs.
    public static let continuationCheckpoints = ["model_latest", "model_final_checkpoint", "model_best"]

    /// What ``NetworkTrainer/saveCheckpoint(named:)`` does by default: writes `NAME.model` (weights, optimizer state,
    /// metadata) and its readable copy; refuses non-finite weights.
    final func writeCheckpoint(named name: String) throws {
        guard savesCheckpoints, isMainRank, let network else { return }
        let parameters = network.namedParameters()
        if let bad = parameters.first(where: { !$0.parameter.data.allSatisfy(\.isFinite) }) {
            throw nonFiniteError("the weights became non-finite (parameter '\(bad.name)'); \(name) was not written")
        }
        let optimizerState = optimizer?.stateBuffers ?? [:]
        if optimizerState.values.contains(where: { $0.contains { $0.map { !$0.allSatisfy(\.isFinite) } ?? false } }) {
            throw nonFiniteError("the optimizer state became non-finite; \(name) was not written")
        }
        let token = UUID().uuidString
        var tensors: [(name: String, tensor: Safetensors.Tensor)] = parameters.map {
            ($0.name, Safetensors.Tensor(shape: $0.parameter.shape, values: $0.parameter.data))
        }
        // Optimizer state as `optimizer.<slot>.<parameter>` (SGD: `optimizer.momentum_buffer.<parameter>`).
        for slot in optimizerState.keys.sorted() {
            for ((parameterName, parameter), buffer) in zip(parameters, optimizerState[slot] ?? []) {
                if let buffer {
                    let shape = buffer.count == parameter.count ? parameter.shape : [buffer.count]
                    tensors.append((Self.optimizerPrefix + slot + "." + parameterName,
                                    .init(shape: shape, values: buffer)))
                }
            }
        }
        let metadata = CheckpointMetadata(
            trainer: Self.trainerName, token: token, epoch: log.epoch, seed: seed, hyperparameters: hyperparameters,
            log: log, learningRate: Double(optimizer?.learningRate ?? 0), extras: checkpointExtras(),
            worldSize: worldSize)
        try metadata.writePair(tensors: tensors, to: outputFolder.appendingPathComponent(name + ".model"))
    }

    /// The error that stops a run whose loss or weights are no longer finite, naming the last finite checkpoint;
    /// also written to the log file.
    func nonFiniteError(_ problem: String) -> TrainingError {
        let selection = inspectCheckpoints()
        let last = selection.checkpoint.map { "\($0.lastPathComponent) (epoch \(selection.epoch ?? 0))" }
        let error = TrainingError.nonFiniteTraining(folder: outputFolder.path, epoch: log.epoch, problem: problem,
                                                    lastFiniteCheckpoint: last)
        logFile?.print(error.description)
        return error
    }

    /// Reads a checkpoint: the metadata inside the file, or, for a checkpoint of an earlier version, from its
    /// `.model.json` sidecar (whose token must match).
    /// - Throws: ``TrainingError/corruptCheckpoint(path:reason:)`` naming the file.
    public static func readCheckpoint(_ weightsURL: URL) throws
        -> (metadata: CheckpointMetadata, tensors: [String: Safetensors.Tensor]) {
        let (tensors, fileMetadata): ([(name: String, tensor: Safetensors.Tensor)], [String: String])
        do {
            (tensors, fileMetadata) = try Safetensors.read(contentsOf: weightsURL)
        } catch {
            throw TrainingError.corruptCheckpoint(path: weightsURL.path, reason: "\(error)")
        }
        let metadata: CheckpointMetadata
        if let text = fileMetadata[CheckpointMetadata.safetensorsKey] {
            do { metadata = try CheckpointMetadata.decode(Data(text.utf8)) } catch {
                throw TrainingError.corruptCheckpoint(path: weightsURL.path,
                                                      reason: "its '\(CheckpointMetadata.safetensorsKey)' metadata is "
                                                          + "not valid (\(error.localizedDescription))")
            }
        } else {
            // A checkpoint of an earlier version: the metadata is in the sidecar, tied to the weights by a token.
            let jsonURL = weightsURL.appendingPathExtension("json")
            do {
                metadata = try CheckpointMetadata.decode(Data(contentsOf: jsonURL))
            } catch {
                throw TrainingError.corruptCheckpoint(path: jsonURL.path, reason: "\(error.localizedDescription)")
            }
            guard fileMetadata["token"] == metadata.token else {
                throw TrainingError.corruptCheckpoint(path: weightsURL.path, reason: "the weights and "
                                                      + "\(jsonURL.lastPathComponent) come from different saves "
                                                      + "(interrupted write)")
            }
        }
        return (metadata, Dictionary(tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a }))
    }

    /// What ``NetworkTrainer/loadCheckpoint(from:)`` does by default: restores weights, optimizer state, epoch, logs
    /// and hyperparameters.
    final func restoreCheckpoint(from weightsURL: URL) throws {
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
            let names = network.namedParameters().map(\.name)
            var buffers: [String: [[Float]?]] = [:]
            for slot in optimizer.stateBuffers.keys {
                buffers[slot] = names.map { tensors[Self.optimizerPrefix + slot + "." + $0]?.values }
            }
            do {
                try optimizer.restoreStateBuffers(buffers)
            } catch {
                throw TrainingError.corruptCheckpoint(path: weightsURL.path, reason: "its optimizer state does not "
                                                      + "fit \(optimizer) (\(error))")
            }
            optimizer.learningRate = Float(metadata.learningRate)
        }
        hyperparameters = metadata.hyperparameters
        log = metadata.log
        let savedWorld = metadata.worldSize ?? 1
        if savedWorld != worldSize {
            logFile?.print("\(weightsURL.lastPathComponent) was trained with \(savedWorld) rank(s); continuing with "
                           + "\(worldSize): the global batch and its samples stay the same")
        }
    }

    /// The checkpoint to continue from (v1 `-c`): the newest intact one of ``continuationCheckpoints`` (see
    /// ``inspectCheckpoints()``); nil if none is. Changes nothing on disk.
    public func checkpointToContinue() -> URL? {
        inspectCheckpoints().checkpoint
    }

    /// Finds the newest intact checkpoint without changing anything: of `model_latest`, `model_final_checkpoint` and
    /// `model_best`, those that read completely with finite weights, the one with the most completed epochs (the
    /// first of that order among equals). The others that exist are reported as damaged.
    public func inspectCheckpoints() -> CheckpointSelection {
        var selection = CheckpointSelection()
        for name in Self.continuationCheckpoints {
            let url = outputFolder.appendingPathComponent(name + ".model")
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            do {
                let (metadata, tensors) = try Self.readCheckpoint(url)
                if let bad = tensors.first(where: { !$0.value.values.allSatisfy(\.isFinite) }) {
                    throw TrainingError.corruptCheckpoint(path: url.path, reason: "'\(bad.key)' is not finite")
                }
                if metadata.epoch > (selection.epoch ?? -1) {
                    selection.checkpoint = url
                    selection.epoch = metadata.epoch
                }
            } catch {
                let reason: String
                if case let TrainingError.corruptCheckpoint(_, text) = error {
                    reason = text
                } else {
                    reason = "\(error)"
                }
                selection.damaged.append(DamagedCheckpoint(url: url, reason: reason, movedTo: nil))
            }
        }
        return selection
    }

    /// ``inspectCheckpoints()``, then renames each damaged checkpoint (and its `.model.json`) aside to
    /// `NAME.model.damaged-<timestamp>`, so that later saves and loads do not trip over it; nothing is deleted.
    /// - Throws: `CoreError.fileSystem(path:reason:)` when a damaged file cannot be renamed.
    public func selectCheckpointToContinue() throws -> CheckpointSelection {
        var selection = inspectCheckpoints()
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss"
        let stamp = formatter.string(from: Date())
        for index in selection.damaged.indices {
            let url = selection.damaged[index].url
            for file in [url, url.appendingPathExtension("json")]
            where FileManager.default.fileExists(atPath: file.path) {
                var target = URL(fileURLWithPath: file.path + ".damaged-\(stamp)")
                var counter = 1
                while FileManager.default.fileExists(atPath: target.path) {
                    target = URL(fileURLWithPath: file.path + ".damaged-\(stamp)-\(counter)")
                    counter += 1
                }
                guard rename(file.path, target.path) == 0 else {
                    throw CoreError.fileSystem(path: file.path, reason: "cannot move the damaged checkpoint aside "
                                               + "(\(String(cString: strerror(errno))))")
                }
                if file == url { selection.damaged[index].movedTo = target }
            }
        }
        return selection
    }
}
