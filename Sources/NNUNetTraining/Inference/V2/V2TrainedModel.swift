import Foundation
import NNUNetCore
import NNUNetEvaluation

/// An nnU-Net **v2** trained model folder (`nnUNet_results/DatasetXXX_NAME/TRAINER__PLANS__CONFIGURATION/`) loaded
/// for prediction without Python: `dataset.json`, `plans.json` and `fold_K/checkpoint_final.pth` (a `torch.save`
/// zip whose `network_weights` hold the state dict), one network per fold.
///
/// Port of the behaviour of v2 `inference/predict_from_raw_data.py`
/// `nnUNetPredictor.initialize_from_trained_model_folder`: the configuration and trainer come from the first fold's
/// checkpoint (`init_args.configuration`, `trainer_name`), as do the mirroring axes
/// (`inference_allowed_mirroring_axes`; a checkpoint without them is predicted without mirroring, as v2 does). The
/// network is built from the configuration's `architecture` (NNUNetCore's `PlainConvUNet` or
/// `ResidualEncoderUNet`) with the dataset's channels and segmentation heads, and every fold's `network_weights` must
/// fit it by name and shape.
///
/// ```swift
/// let model = try V2TrainedModel(modelFolder: folder, folds: [.index(0)])
/// let prediction = try model.predictCase(imageFiles: [image], identifier: "case_001", keepingProbabilities: false)
/// try NIfTI.write(prediction.labels, to: output, dataType: .uint8)
/// ```
public final class V2TrainedModel {
    /// The model folder.
    public let modelFolder: URL
    /// `plans.json`.
    public let plans: V2Plans
    /// `dataset.json`.
    public let dataset: V2DatasetDescription
    /// The configuration the checkpoints were trained with.
    public let configuration: V2Configuration
    /// The trainer class name recorded in the checkpoint (`nnUNetTrainer`, ...).
    public let trainerName: String
    /// The patch axes v2 may mirror at inference (`inference_allowed_mirroring_axes`), nil when the checkpoint names
    /// none (then nothing is mirrored).
    public let allowedMirroringAxes: [Int]?
    /// One network per fold, in the requested order (fold folder name, network).
    public let folds: [(name: String, network: Module)]
    /// Whether test-time mirroring is used (`--disable_tta` turns it off).
    public var usesMirroring = true
    /// Tile step as a fraction of the patch size (`-step_size`, default 0.5), in (0, 1].
    public var stepSize = 0.5
    /// Threads for preprocessing and export (the network kernels use their own setting).
    public var threads = ThreadSettings.defaultThreads

    /// The trainers whose network is the plans' `architecture` (v2's `nnUNetTrainer.build_network_architecture`).
    /// Other trainer names load too when their weights fit that network.
    public static let knownTrainers: Set<String> = [
        "nnUNetTrainer", "nnUNetTrainer_1epoch", "nnUNetTrainer_5epochs", "nnUNetTrainer_10epochs",
        "nnUNetTrainer_20epochs", "nnUNetTrainer_50epochs", "nnUNetTrainer_100epochs", "nnUNetTrainer_250epochs",
        "nnUNetTrainer_2000epochs", "nnUNetTrainer_4000epochs", "nnUNetTrainer_8000epochs", "nnUNetTrainerNoMirroring",
        "nnUNetTrainer_onlyMirror01", "nnUNetTrainerDiceCELoss_noSmooth", "nnUNetTrainerCELoss",
        "nnUNetTrainerDiceLoss", "nnUNetTrainerNoDA",
    ]

    /// Whether `folder` looks like an nnU-Net v2 model folder: it has `dataset.json` and a `plans.json` whose top level
    /// has `configurations` (this package's and v1's plans have none).
    public static func isModelFolder(_ folder: URL) -> Bool {
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("dataset.json").path),
              let data = try? Data(contentsOf: folder.appendingPathComponent("plans.json")),
              let plans = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        return plans["configurations"] != nil
    }

    /// The fold folders of `modelFolder` that hold `checkpoint` (v2's `auto_detect_available_folds`: `fold_N` only,
    /// not `fold_all`), sorted by folder name.
    public static func availableFolds(in modelFolder: URL, checkpoint: String = "checkpoint_final.pth") -> [Fold] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: modelFolder.path)) ?? []).sorted()
        return names.filter { $0.hasPrefix("fold_") && $0 != "fold_all" }
            .filter { FileManager.default.fileExists(atPath: modelFolder.appendingPathComponent($0)
                                                        .appendingPathComponent(checkpoint).path) }
            .compactMap { Fold(folderName: $0) }
    }

    /// Loads the folder's JSON files and the checkpoint of each fold.
    ///
    /// - Parameters:
    ///   - modelFolder: the `TRAINER__PLANS__CONFIGURATION` folder.
    ///   - requested: the folds (folders `fold_N`, and `fold_all` for `Fold.all`, as v2 names it); nil uses every
    ///     `fold_N` folder holding the checkpoint.
    ///   - checkpoint: the checkpoint file name in each fold folder.
    /// - Throws: ``TrainingError/unusableModel(_:)`` naming the file (and field, or parameter) that is missing,
    ///   malformed or does not fit: a missing fold or checkpoint, an unsupported network class, a weight of another
    ///   shape than the plans' network needs.
    public init(modelFolder: URL, folds requested: [Fold]? = nil, checkpoint: String = "checkpoint_final.pth")
        throws {
        self.modelFolder = modelFolder
        let datasetFile = modelFolder.appendingPathComponent("dataset.json")
        let plansFile = modelFolder.appendingPathComponent("plans.json")
        for file in [datasetFile, plansFile] where !FileManager.default.fileExists(atPath: file.path) {
            throw TrainingError.unusableModel("'\(file.path)' does not exist; is '\(modelFolder.path)' an nnU-Net v2 "
                                              + "model folder (TRAINER__PLANS__CONFIGURATION with dataset.json, "
                                              + "plans.json and fold_N/)?")
        }
        dataset = try V2DatasetDescription(contentsOf: datasetFile)
        plans = try V2Plans(contentsOf: plansFile)
        // v2 names the fold folders `fold_N` and `fold_all` (v1: `all`).
        let foldNames = (requested ?? Self.availableFolds(in: modelFolder, checkpoint: checkpoint))
            .map { $0.index.map { "fold_\($0)" } ?? "fold_all" }
        guard !foldNames.isEmpty else {
            throw TrainingError.unusableModel("no fold_N folder of '\(modelFolder.path)' holds '\(checkpoint)' (train "
                                              + "the model, or name the checkpoint with -chk)")
        }
        var loaded: [(String, Module)] = []
        var firstFold: (trainer: String, configuration: V2Configuration, axes: [Int]?)?
        for name in foldNames {
            let file = modelFolder.appendingPathComponent(name).appendingPathComponent(checkpoint)
            guard FileManager.default.fileExists(atPath: file.path) else {
                throw TrainingError.unusableModel("'\(file.path)' does not exist (fold \(name) not trained, or another "
                                                  + "-chk is needed; folds with this checkpoint: "
                                                  + Self.availableFolds(in: modelFolder, checkpoint: checkpoint)
                                                      .map(\.rawValue).joined(separator: ", ") + ")")
            }
            let torch: TorchCheckpoint
            do { torch = try TorchCheckpoint(contentsOf: file) } catch {
                throw TrainingError.unusableModel("'\(file.path)' is not a readable nnU-Net v2 checkpoint (\(error))")
            }
            if firstFold == nil {
                guard let trainer = torch.root["trainer_name"]?.stringValue else {
                    throw TrainingError.unusableModel("'\(file.path)' has no 'trainer_name' (is it an nnU-Net v2 "
                                                      + "checkpoint?)")
                }
                guard let configurationName = torch.root["init_args"]?["configuration"]?.stringValue else {
                    throw TrainingError.unusableModel("'\(file.path)' has no 'init_args.configuration'")
                }
                let axes = torch.root["inference_allowed_mirroring_axes"]?.elements?.compactMap(\.intValue)
                firstFold = (trainer, try plans.configuration(configurationName), axes)
            }
            guard let first = firstFold else { continue }
            loaded.append((name, try Self.loadNetwork(torch, file: file, configuration: first.configuration,
                                                       dataset: dataset, trainer: first.trainer)))
        }
        guard let first = firstFold else {
            throw TrainingError.unusableModel("no fold of '\(modelFolder.path)' could be loaded")
        }
        trainerName = first.trainer
        configuration = first.configuration
        allowedMirroringAxes = first.axes
        folds = loaded
    }

    /// Builds the configuration's network and assigns a checkpoint's `network_weights` by name.
    static func loadNetwork(_ torch: TorchCheckpoint, file: URL, configuration: V2Configuration,
                            dataset: V2DatasetDescription, trainer: String) throws -> Module {
        // A cascade stage also sees the previous stage's segmentation, one channel per foreground label.
        let labelChannels = configuration.previousStage == nil ? 0 : dataset.foregroundLabels.count
        let network = try configuration.architecture.makeNetwork(inputChannels: dataset.channelCount + labelChannels,
                                                                 classCount: dataset.segmentationHeadCount)
        let className = configuration.architecture.networkClass
        guard case .dict(let entries)? = torch.root["network_weights"] else {
            throw TrainingError.unusableModel("'\(file.path)' has no 'network_weights' state dict (is it an nnU-Net v2 "
                                              + "checkpoint?)")
        }
        var tensors: [String: TorchTensorReference] = [:]
        for entry in entries {
            guard let name = entry.key.stringValue, case .tensor(let tensor) = entry.value else { continue }
            let key = name.hasPrefix("module.") ? String(name.dropFirst("module.".count))
                : name.hasPrefix("_orig_mod.") ? String(name.dropFirst("_orig_mod.".count)) : name
            tensors[key] = tensor
        }
        let hint = knownTrainers.contains(trainer) ? ""
            : " (trainer '\(trainer)' may build another network than the plans' architecture)"
        let parameters = network.namedParameters()
        let expected = Set(parameters.map(\.name))
        // v2's state dict also names every tensor a second time (the decoder's reference to the encoder, and the
        // blocks' `all_modules` sequence); any other unknown key means another network.
        if let unexpected = tensors.keys.sorted().first(where: {
            !expected.contains($0) && !$0.hasPrefix("decoder.encoder.") && !$0.contains(".all_modules.")
        }) {
            throw TrainingError.unusableModel("'\(file.path)': network_weights has '\(unexpected)', which the plans' "
                                              + "\(className) does not have\(hint)")
        }
        for (name, parameter) in parameters {
            guard let tensor = tensors[name] else {
                throw TrainingError.unusableModel("'\(file.path)': network_weights has no '\(name)', which the plans' "
                                                  + "\(className) needs\(hint)")
            }
            guard tensor.shape == parameter.shape else {
                throw TrainingError.unusableModel("'\(file.path)': network_weights '\(name)' has shape "
                                                  + "\(tensor.shape), the plans' \(className) needs "
                                                  + "\(parameter.shape)\(hint)")
            }
            do { parameter.assign(try torch.values(of: tensor)) } catch {
                throw TrainingError.unusableModel("'\(file.path)': network_weights '\(name)' cannot be read (\(error))")
            }
        }
        return network
    }

    /// The mirror axes used when predicting: the checkpoint's, or none without mirroring.
    public var mirrorAxes: [Int]? { usesMirroring ? allowedMirroringAxes : nil }

    /// The fold-averaged float16 logits `[K, shape]` of a preprocessed case (v2's
    /// `predict_logits_from_preprocessed_data`: each fold's sliding window in float16, summed in float16 and divided
    /// by the number of folds).
    /// - Throws: ``TrainingError/unusableModel(_:)`` when the float16 logits overflow.
    public func predictLogits(_ preprocessed: V2PreprocessedCase) throws -> [Float16] {
        let window = V2SlidingWindow(patchSize: configuration.patchSize, classCount: dataset.segmentationHeadCount,
                                     stepSize: stepSize, mirrorAxes: mirrorAxes)
        var sum: [Float16] = []
        for (_, network) in folds {
            let logits = try window.predictLogits(network: network, data: preprocessed.data,
                                                  channels: preprocessed.channels, shape: preprocessed.shape)
            if sum.isEmpty { sum = logits } else {
                for i in sum.indices { sum[i] = Float16(Float(sum[i]) + Float(logits[i])) }
            }
        }
        if folds.count > 1 {
            let divisor = Float(folds.count)
            for i in sum.indices { sum[i] = Float16(Float(sum[i]) / divisor) }
        }
        return sum
    }

    /// One predicted case: the segmentation in the input's geometry and, when asked for, v2's `probabilities`.
    public struct CasePrediction: Sendable {
        /// The label map (values 0 ... K − 1 as Float, or the region classes) in the input's shape and geometry.
        public var labels: Volume
        /// Class probabilities (softmax, or sigmoid per region) `[K, z, y, x]` in the input's array shape, float32,
        /// background 1 outside the crop box: v2's `CASE.npz` `probabilities`. Nil unless requested.
        public var probabilities: [Float]?
        /// `[K, z, y, x]` of ``probabilities``.
        public var probabilityShape: [Int]
        /// The preprocessing properties (v2's `CASE.pkl`).
        public var properties: V2CaseProperties
    }

    /// Whether the configuration is a cascade stage, which needs the previous stage's segmentation of every case
    /// (`previous_stage` in the plans, v2's `-prev_stage_predictions`).
    public var needsPreviousStage: Bool { configuration.previousStage != nil }

    /// Segments one case from its channel files (`CASE_0000.nii.gz`, ...): preprocess, sliding window over every
    /// fold, export to the input's geometry.
    ///
    /// - Parameters:
    ///   - imageFiles: the case's channel files.
    ///   - identifier: the case, for messages.
    ///   - previousStage: the previous stage's segmentation of the case (`CASE<file_ending>` of the folder given to
    ///     v2 as `-prev_stage_predictions`); required exactly when ``needsPreviousStage``.
    ///   - keepingProbabilities: whether the probabilities are returned.
    /// - Throws: ``TrainingError`` naming the file that cannot be read or the case that does not fit the model.
    public func predictCase(imageFiles: [URL], identifier: String, previousStage: URL? = nil,
                            keepingProbabilities: Bool) throws -> CasePrediction {
        if needsPreviousStage && previousStage == nil {
            throw TrainingError.unusableModel("configuration '\(configuration.name)' is a cascade stage: case "
                                              + "'\(identifier)' needs the segmentation of its previous stage "
                                              + "'\(configuration.previousStage ?? "")' (-prev_stage_predictions)")
        }
        if !needsPreviousStage, let previousStage {
            throw TrainingError.unusableModel("configuration '\(configuration.name)' has no previous stage; "
                                              + "'\(previousStage.path)' cannot be used (-prev_stage_predictions is "
                                              + "for cascade stages only)")
        }
        var preprocessor = V2Preprocessor(plans: plans, configuration: configuration)
        preprocessor.threads = threads
        preprocessor.dataset = dataset
        let preprocessed = try preprocessor.preprocess(imageFiles: imageFiles, identifier: identifier,
                                                       previousStage: previousStage)
        let logits = try predictLogits(preprocessed)
        return try V2Exporter.export(logits: logits, preprocessedShape: preprocessed.shape,
                                     properties: preprocessed.properties, plans: plans, configuration: configuration,
                                     dataset: dataset, keepingProbabilities: keepingProbabilities, threads: threads)
    }
}
