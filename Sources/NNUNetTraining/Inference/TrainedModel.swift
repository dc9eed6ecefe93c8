import Foundation
import NNUNetCore
import NNUNetPlanning

/// A trained model folder (`RESULTS_FOLDER/nnUNet/CONFIG/TaskXXX_NAME/TRAINER__PLANS/`) loaded once for prediction:
/// the plans and one network per fold. The Swift API behind `nnunet predict`.
///
/// ```swift
/// let model = try TrainedModel(trainerFolder: folder)
/// let labels = try model.predict(imageFiles: [url])   // a Volume in the input's geometry
/// try NIfTI.write(labels, to: output, dataType: .uint8)
/// ```
public final class TrainedModel {
    public let trainerFolder: URL
    public let plans: Plans
    /// One network and configuration per fold, in fold order.
    public let folds: [(name: String, configuration: TrainingConfiguration, network: GenericUNet)]
    public var usesMirroring = true
    public var stepSize = 0.5
    public var threads = ThreadSettings.defaultThreads

    /// Loads `plans.json` and the checkpoint `checkpoint` of every requested fold (default: every `fold_*` folder).
    /// - Throws: ``TrainingError`` naming what is missing.
    public init(trainerFolder: URL, folds requested: [String]? = nil, checkpoint: String = "model_final_checkpoint")
        throws {
        self.trainerFolder = trainerFolder
        let plansURL = trainerFolder.appendingPathComponent("plans.json")
        guard FileManager.default.fileExists(atPath: plansURL.path) else {
            throw TrainingError.missingData("the model folder '\(trainerFolder.path)' has no plans.json (is it a "
                                            + "trained model folder?)")
        }
        plans = try Plans.load(from: plansURL)
        let available = ((try? FileManager.default.contentsOfDirectory(atPath: trainerFolder.path)) ?? [])
            .filter { $0.hasPrefix("fold_") }.sorted()
        let names: [String] = try requested.map { list in
            try list.map { fold in
                if fold == "all" { return "all" }
                guard let index = Int(fold) else { throw TrainingError.invalidFold(fold) }
                return "fold_\(index)"
            }
        } ?? available
        guard !names.isEmpty else {
            throw TrainingError.missingData("no fold_* folder in '\(trainerFolder.path)'; train the model first")
        }
        var loaded: [(String, TrainingConfiguration, GenericUNet)] = []
        for name in names {
            let weights = trainerFolder.appendingPathComponent(name).appendingPathComponent(checkpoint + ".model")
            guard FileManager.default.fileExists(atPath: weights.path) else {
                throw TrainingError.missingData("'\(weights.path)' does not exist (fold \(name) not trained, or "
                                                + "another -chk is needed)")
            }
            let (metadata, tensors) = try NetworkTrainer.readCheckpoint(weights)
            guard let text = metadata.extras["configuration"],
                  let configuration = try? JSONDecoder().decode(TrainingConfiguration.self, from: Data(text.utf8)) else {
                throw TrainingError.corruptCheckpoint(path: weights.path, reason: "it records no configuration")
            }
            var generator = SeededGenerator(seed: 0)
            let network = GenericUNet(inputChannels: configuration.inputChannels, baseFeatures: configuration.baseFeatures,
                                      classCount: configuration.classCount, poolKernels: configuration.poolKernels,
                                      convKernels: configuration.convKernels, convsPerStage: configuration.convsPerStage,
                                      generator: &generator)
            for (parameterName, parameter) in network.namedParameters() {
                guard let tensor = tensors[parameterName], tensor.shape == parameter.shape else {
                    throw TrainingError.corruptCheckpoint(path: weights.path, reason: "parameter '\(parameterName)' is "
                                                          + "missing or has another shape")
                }
                parameter.assign(tensor.values)
            }
            loaded.append((name, configuration, network))
        }
        folds = loaded
    }

    /// Class probabilities `[K, z, y, x]` of a preprocessed case `[C, z, y, x]`, averaged over the folds.
    public func predictProbabilities(_ data: [Float], channels: Int, shape: [Int]) -> [Float] {
        var sum: [Float] = []
        for (_, configuration, network) in folds {
            var predictor = SlidingWindowPredictor(network: network, patchSize: configuration.patchSize,
                                                   classCount: configuration.classCount)
            predictor.usesMirroring = usesMirroring
            predictor.stepSize = stepSize
            let probabilities = predictor.predictProbabilities(data, channels: channels, shape: shape)
            if sum.isEmpty { sum = probabilities } else { for i in sum.indices { sum[i] += probabilities[i] } }
        }
        let scale = 1 / Float(max(folds.count, 1))
        return sum.map { $0 * scale }
    }

    /// Segments one case given its modality files (`CASE_0000.nii.gz`, ...): crop, transpose, resample, normalise as
    /// in training, predict, and export to the input's exact geometry.
    public func predict(imageFiles: [URL], identifier: String = "case") throws -> Volume {
        guard let configuration = folds.first?.configuration else {
            throw TrainingError.missingData("the model has no folds")
        }
        let (cropped, shape, cropping) = try Cropper.cropCase(.init(testCase: identifier, imageFiles: imageFiles))
        let stageIndex = configuration.configurationName == "2d" || configuration.configurationName == "3d_lowres"
            ? 0 : plans.numStages - 1
        guard let stage = plans.stage(stageIndex) else {
            throw TrainingError.missingData("the plans have no stage \(stageIndex)")
        }
        var preprocessor = Preprocessor(plans: plans)
        preprocessor.isTwoD = configuration.configurationName == "2d"
        let (array, preprocessedShape, properties) = preprocessor.preprocess(
            array: cropped, shape: shape, properties: cropping, targetSpacing: stage.currentSpacing, threads: threads)
        let channels = preprocessedShape[0] - 1
        let spatial = Array(preprocessedShape.dropFirst())
        let data = Array(array.prefix(channels * spatial.reduce(1, *)))
        let probabilities = predictProbabilities(data, channels: channels, shape: spatial)
        return SegmentationExporter.labelMap(probabilities: probabilities, classCount: configuration.classCount,
                                             shape: spatial, properties: properties,
                                             transposeForward: plans.transposeForward,
                                             transposeBackward: plans.transposeBackward, threads: threads)
    }
}
