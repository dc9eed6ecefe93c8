import Foundation
import NNUNetCore
import NNUNetPlanning

extension NNUNetTrainer {
    /// v1's `predict_next_stage` after a 3d_lowres fold (reference sheet §14): predicts every validation case from its
    /// stage-0 data (sliding window, mirroring), resamples the class probabilities linearly (order 1, no separate z)
    /// to the shape of the case in `nextStageFolder` (the stage-1 preprocessed data), takes the argmax and writes
    /// `CASE_segFromPrevStage.npz` (uint8, key `data`) into `store`.
    ///
    /// Probabilities are resampled one class at a time into a running argmax, so the full-resolution K-channel
    /// volume never exists.
    /// - Returns: the identifiers written.
    @discardableResult
    public func predictNextStage(nextStageFolder: URL, into store: PreviousStageSegmentations, mirroring: Bool = true,
                                 threads: Int = ThreadSettings.defaultThreads) throws -> [String] {
        try initialize()
        guard let network, let folder = configuration.preprocessedFolder else {
            throw TrainingError.missingData("no preprocessed folder is configured for the next-stage prediction")
        }
        var predictor = SlidingWindowPredictor(network: network, patchSize: configuration.patchSize,
                                               classCount: configuration.classCount)
        predictor.usesMirroring = mirroring
        let dataset = try PreprocessedDataset(folder: URL(fileURLWithPath: folder, isDirectory: true),
                                              caseIdentifiers: validationCases)
        var written: [String] = []
        for (index, item) in dataset.cases.enumerated() {
            let target = try PreprocessedDataset.openCase(item.identifier, in: nextStageFolder).spatialShape
            let spatial = item.spatialShape, voxels = spatial.reduce(1, *)
            let data = try dataset.withVoxels(of: item) { Array($0.prefix(item.modalityCount * voxels)) }
            let probabilities = predictor.predictProbabilities(data, channels: item.modalityCount, shape: spatial)
            let labels = Self.argmaxAfterResampling(probabilities, classCount: configuration.classCount, shape: spatial,
                                                    to: target, threads: threads)
            try store.write(labels: labels, shape: target, identifier: item.identifier)
            written.append(item.identifier)
            logFile?.print("next stage \(index + 1)/\(dataset.cases.count): \(item.identifier) \(spatial) -> \(target)")
        }
        return written
    }

    /// The argmax of `[K, shape]` probabilities after resampling each class linearly to `target`.
    static func argmaxAfterResampling(_ probabilities: [Float], classCount: Int, shape: [Int], to target: [Int],
                                      threads: Int) -> [UInt8] {
        let voxels = shape.reduce(1, *), targetVoxels = target.reduce(1, *)
        var best = [Float](repeating: -.infinity, count: targetVoxels)
        var labels = [UInt8](repeating: 0, count: targetVoxels)
        for k in 0..<classCount {
            let channel = Array(probabilities[(k * voxels)..<((k + 1) * voxels)])
            let resampled = Resampling.resampleProbabilities(channel, shape: shape, to: target, separateAxis: nil,
                                                             threads: threads)
            for i in 0..<targetVoxels where resampled[i] > best[i] {
                best[i] = resampled[i]
                labels[i] = UInt8(k)
            }
        }
        return labels
    }
}
