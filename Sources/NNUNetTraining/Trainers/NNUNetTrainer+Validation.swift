import Foundation
import NNUNetCore
import NNUNetEvaluation
import NNUNetPlanning

extension NNUNetTrainer {
    /// What `runFinalValidation` does by default (v1's validation of the fold).
    final func validateFold(plans: Plans, groundTruthSource: URL, folderName: String, mirroring: Bool,
                            determinesPostprocessing: Bool, overwrites: Bool, savesSoftmax: Bool) throws
        -> EvaluationSummary? {
        try initialize()
        guard let network, let folder = configuration.preprocessedFolder else {
            throw TrainingError.missingData("no preprocessed folder is configured for validation")
        }
        let stage = URL(fileURLWithPath: folder, isDirectory: true)
        let output = outputFolder.appendingPathComponent(folderName, isDirectory: true)
        let groundTruth = outputFolder.deletingLastPathComponent().appendingPathComponent("gt_niftis", isDirectory: true)
        if isMainRank {
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: groundTruth, withIntermediateDirectories: true)
        }
        communicator?.barrier()
        let rank = communicator?.rank ?? 0
        var predictor = SlidingWindowPredictor(network: network, patchSize: configuration.patchSize,
                                               classCount: configuration.classCount)
        predictor.usesMirroring = mirroring
        let dataset = try PreprocessedDataset(folder: stage, caseIdentifiers: validationCases)
        var pairs: [(prediction: URL, reference: URL)] = []
        for (index, item) in dataset.cases.enumerated() {
            let prediction = output.appendingPathComponent(item.identifier + ".nii.gz")
            let reference = groundTruth.appendingPathComponent(item.identifier + ".nii.gz")
            if isMainRank, !FileManager.default.fileExists(atPath: reference.path) {
                try AtomicFile.copy(groundTruthSource.appendingPathComponent(item.identifier + ".nii.gz"), to: reference)
            }
            pairs.append((prediction, reference))
            guard index % worldSize == rank else { continue }
            let npz = output.appendingPathComponent(item.identifier + ".npz")
            if !overwrites, FileManager.default.fileExists(atPath: prediction.path),
               !savesSoftmax || FileManager.default.fileExists(atPath: npz.path) { continue }
            let properties = try PreprocessedCaseProperties.load(from: stage.appendingPathComponent(item.identifier + ".json"))
            let spatial = item.spatialShape
            let modalities = try dataset.withVoxels(of: item) { Array($0.prefix(item.modalityCount * spatial.reduce(1, *))) }
            let (data, channels) = try validationInput(identifier: item.identifier, data: modalities,
                                                       channels: item.modalityCount, shape: spatial)
            var exporter = ProbabilitySlabExporter(
                classCount: configuration.classCount, shape: spatial, properties: properties,
                transposeForward: plans.transposeForward, transposeBackward: plans.transposeBackward,
                keepingProbabilities: savesSoftmax)
            predictor.forEachProbabilitySlab(data, channels: channels, shape: spatial) { exporter.consume($0) }
            let (labels, kept) = exporter.finish()
            if let kept {
                try NPZ.write([("softmax", NPYArray(float16: kept, shape: [configuration.classCount]
                                                    + properties.cropping.sizeAfterCropping))], to: npz)
                try PickleWriter.write(properties.v1PickleValue,
                                       to: output.appendingPathComponent(item.identifier + ".pkl"))
            }
            try NIfTI.write(labels, to: prediction, dataType: .uint8)
            logFile?.print("validation \(index + 1)/\(dataset.cases.count): \(item.identifier)")
        }
        // Every rank's cases are written before rank 0 evaluates them.
        communicator?.barrier()
        guard isMainRank else { return nil }
        let summary = try FolderEvaluation.aggregateScores(
            pairs: pairs, options: EvaluationOptions(labels: Array(0..<configuration.classCount)),
            jsonOutput: output.appendingPathComponent("summary.json"), name: "\(Self.trainerName) val tiled True",
            task: configuration.taskName)
        let foreground = (1..<configuration.classCount).map { summary.meanDice(of: $0) }
        logFile?.print("Validation mean Dice per foreground class: ["
                       + foreground.map { String(format: "%.4f", $0) }.joined(separator: ", ") + "]")
        if determinesPostprocessing {
            let decision = try PostprocessingDetermination.determine(
                base: outputFolder, groundTruthFolder: groundTruth, rawSubfolder: folderName,
                finalSubfolder: folderName + "_postprocessed")
            logFile?.print("Postprocessing for this fold: \(decision.forWhichClasses)")
        }
        return summary
    }
}
