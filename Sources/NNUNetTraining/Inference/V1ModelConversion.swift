import Foundation
import NNUNetCore
import NNUNetPlanning

/// Converts an nnU-Net v1 trainer folder into this package's formats (`nnunet convert-v1-model`): `plans.json`
/// instead of `plans.pkl`, and per fold `NAME.model` (safetensors) + `NAME.model.json` instead of the torch zip and
/// its `.model.pkl`. `postprocessing.json`, `debug.json`, `progress.png`, training logs and validation folders are
/// copied unchanged. The weights are the same float32 values, so predictions are identical.
///
/// Momentum buffers of SGD (`optimizer_state_dict`) are carried over under the names training resumes from, and the
/// epoch and loss curves (`plot_stuff`) go into the checkpoint's log.
public enum V1ModelConversion {
    /// What one conversion wrote.
    public struct Report: Sendable {
        /// Folds converted (folders `fold_0`, ..., `all`), in order.
        public var folds: [Fold]
        /// Checkpoints converted per fold (`model_final_checkpoint`, `model_best`, ...).
        public var checkpoints: [String]
        /// Files copied unchanged, relative to the trainer folder.
        public var copiedFiles: [String]
    }

    /// Converts `source` (a v1 trainer folder) into `destination` (created; existing files of the same names are
    /// replaced; the source is never written to).
    /// - Throws: ``TrainingError`` naming the file that is missing or cannot be read.
    @discardableResult
    public static func convert(trainerFolder source: URL, to destination: URL,
                               progress: (String) -> Void = { _ in }) throws -> Report {
        let fm = FileManager.default
        let plansURL = source.appendingPathComponent("plans.pkl")
        guard fm.fileExists(atPath: plansURL.path) else {
            throw TrainingError.unusableModel("'\(plansURL.path)' does not exist; give a v1 trainer folder "
                                            + "(RESULTS_FOLDER/nnUNet/CONFIG/TaskXXX/TRAINER__PLANS)")
        }
        let plans: Plans
        do {
            plans = try Plans.loadV1Pickle(from: plansURL)
            try Normalization.checkStatistics(of: plans, source: plansURL.path)
        } catch {
            throw TrainingError.unusableModel("\(error)")
        }
        let folds = ((try? fm.contentsOfDirectory(atPath: source.path)) ?? []).compactMap { Fold(folderName: $0) }
            .sorted()
        guard !folds.isEmpty else {
            throw TrainingError.unusableModel("no fold_* folder in '\(source.path)'")
        }
        try fm.createDirectory(at: destination, withIntermediateDirectories: true)
        try plans.write(to: destination.appendingPathComponent("plans.json"))
        var report = Report(folds: [], checkpoints: [], copiedFiles: ["plans.json (from plans.pkl)"])
        for file in try copyList(in: source) {
            let target = destination.appendingPathComponent(file)
            try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try AtomicFile.copy(source.appendingPathComponent(file), to: target)
            report.copiedFiles.append(file)
        }
        for fold in folds {
            let folder = source.appendingPathComponent(fold.folderName)
            let checkpoints = ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? [])
                .filter { $0.hasSuffix(".model") }.map { String($0.dropLast(".model".count)) }.sorted()
            for name in checkpoints {
                let weights = folder.appendingPathComponent(name + ".model")
                guard V1ModelFolder.isV1Checkpoint(weights) else { continue }
                progress("\(fold.folderName)/\(name).model")
                try convertCheckpoint(weights, trainerFolder: source, plans: plans,
                                      into: destination.appendingPathComponent(fold.folderName), name: name)
                report.checkpoints.append("\(fold.folderName)/\(name)")
            }
            report.folds.append(fold)
        }
        return report
    }

    /// Files other than checkpoints and pickles that belong to the model folder: summaries, postprocessing
    /// decisions, logs, plots (relative paths).
    static func copyList(in source: URL) throws -> [String] {
        guard let walker = FileManager.default.enumerator(at: source, includingPropertiesForKeys: [.isRegularFileKey])
        else { return [] }
        var files: [String] = []
        let base = source.standardizedFileURL.path
        for case let url as URL in walker {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            let path = url.standardizedFileURL.path
            guard path.hasPrefix(base + "/") else { continue }
            let relative = String(path.dropFirst(base.count + 1))
            let name = url.lastPathComponent
            if name.hasSuffix(".model") || name.hasSuffix(".model.pkl") || relative == "plans.pkl"
                || relative == "plans.pkl.json" { continue }
            files.append(relative)
        }
        return files.sorted()
    }

    static func convertCheckpoint(_ weights: URL, trainerFolder: URL, plans: Plans, into folder: URL, name: String) throws {
        let (configuration, network, info) = try V1ModelFolder.loadFold(weights: weights, trainerFolder: trainerFolder,
                                                                        folderPlans: plans)
        let checkpoint: TorchCheckpoint
        do { checkpoint = try TorchCheckpoint(contentsOf: weights) } catch {
            throw TrainingError.corruptCheckpoint(path: weights.path, reason: "\(error)")
        }
        var tensors: [(name: String, tensor: Safetensors.Tensor)] = network.namedParameters().map {
            ($0.name, Safetensors.Tensor(shape: $0.parameter.shape, values: $0.parameter.data))
        }
        // SGD momentum: optimizer state is keyed by parameter index, in state_dict order (Generic_UNet has no buffers).
        let stateNames = checkpoint.stateDict.map { $0.name.hasPrefix("module.") ? String($0.name.dropFirst(7)) : $0.name }
        if case .dict(let entries)? = checkpoint.root["optimizer_state_dict"]?["state"] {
            for entry in entries {
                guard let index = entry.key.intValue, index < stateNames.count,
                      case .tensor(let buffer)? = entry.value["momentum_buffer"] else { continue }
                let values = try checkpoint.values(of: buffer)
                tensors.append((NetworkTrainer.momentumPrefix + stateNames[index], .init(shape: buffer.shape,
                                                                                         values: values)))
            }
        }
        var log = TrainingLog()
        log.epoch = checkpoint.root["epoch"]?.intValue ?? 0
        if let plot = checkpoint.root["plot_stuff"]?.elements, plot.count >= 4 {
            func numbers(_ value: PickleValue) -> [Double] { value.elements?.compactMap(\.doubleValue) ?? [] }
            log.trainLosses = numbers(plot[0])
            log.validationLosses = numbers(plot[1])
            log.validationMetrics = numbers(plot[3])
        }
        if let best = checkpoint.root["best_stuff"]?.elements, best.count >= 3 {
            log.bestEpoch = best[0].intValue
            log.bestMetricMovingAverage = best[1].doubleValue
        }
        let learningRate = checkpoint.root["optimizer_state_dict"]?["param_groups"]?.elements?.first?["lr"]?
            .doubleValue ?? 0
        let configurationJSON = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
        let token = UUID().uuidString
        let metadata = CheckpointMetadata(
            trainer: info.trainerName, token: token, epoch: log.epoch, seed: 0, hyperparameters: TrainingHyperparameters(),
            log: log, learningRate: learningRate,
            extras: ["configuration": configurationJSON, "converted_from": "nnU-Net v1 " + weights.lastPathComponent])
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try metadata.writePair(tensors: tensors, to: folder.appendingPathComponent(name + ".model"))
    }
}
