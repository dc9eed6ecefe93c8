import Foundation
import NNUNetCore
@testable import NNUNetEvaluation
@testable import NNUNetPlanning

/// A fake `RESULTS_FOLDER/nnUNet` with two trained configurations (2d, 3d_fullres) of a 3-class task, two folds
/// of two cases each, as `nnunet train ... --npz` leaves them: `gt_niftis/`, and per fold `validation_raw/` with
/// `CASE.nii.gz`, `CASE.npz` (float16 softmax at the cropped size), `CASE.pkl` and `summary.json`.
///
/// Each model's softmax gives the correct class 0.8 (others 0.1), except at its own error voxels, where a wrong class
/// gets 0.6 and the correct one 0.3. 3d_fullres errs at every 7th voxel, 2d at every 4th (with two different wrong
/// classes), so 3d_fullres beats 2d and their average fixes every voxel where only one of them errs.
struct ModelSelectionFixture {
    static let task = "Task099_Synthetic"
    static let trainer = "nnUNetTrainerV2"
    static let plans = "nnUNetPlansv2.1"
    static let original = [4, 6, 7]
    static let box = [[0, 4], [1, 6], [1, 7]]
    static let cropped = [4, 5, 6]
    static let classCount = 3
    /// ITK (x, y, z) values that float32 holds exactly.
    static let geometry = ImageGeometry(itkSpacing: [0.75, 1.5, 2.5], itkOrigin: [10.25, -20.5, 5.0],
                                        itkDirection: [-1, 0, 0, 0, -1, 0, 0, 0, 1])
    static let folds: [(fold: Int, cases: [Int])] = [(0, [0, 1]), (1, [2, 3])]
    static let caseCount = 4
    static func caseName(_ index: Int) -> String { "case\(index)" }

    let trainedModels: URL

    func trainerFolder(_ configuration: String) -> URL {
        trainedModels.appendingPathComponent(configuration).appendingPathComponent(Self.task)
            .appendingPathComponent("\(Self.trainer)__\(Self.plans)")
    }

    /// Correct label of a cropped voxel.
    static func truth(z: Int, y: Int, x: Int, caseIndex: Int) -> Int { ((z + y + 2 * x + caseIndex) / 3) % 3 }

    /// The ground truth in the full image (0 outside the crop box).
    static func groundTruth(caseIndex: Int) -> [Int] {
        var labels = [Int](repeating: 0, count: original.reduce(1, *))
        for z in 0..<cropped[0] {
            for y in 0..<cropped[1] {
                for x in 0..<cropped[2] {
                    labels[fullIndex(z: z, y: y, x: x)] = truth(z: z, y: y, x: x, caseIndex: caseIndex)
                }
            }
        }
        return labels
    }

    static func fullIndex(z: Int, y: Int, x: Int) -> Int {
        ((z + box[0][0]) * original[1] + y + box[1][0]) * original[2] + x + box[2][0]
    }

    /// The class a model wrongly predicts at a cropped voxel, nil where it is right.
    static func error(configuration: String, voxel v: Int, caseIndex: Int, truth c: Int) -> Int? {
        switch configuration {
        case "3d_fullres": return (v + caseIndex) % 7 == 0 ? (c + 1) % 3 : nil
        case "2d": return (v + 2 * caseIndex) % 4 == 0 ? (v % 8 == 0 ? (c + 1) % 3 : (c + 2) % 3) : nil
        default: return nil
        }
    }

    /// A model's softmax `[3, z, y, x]` at the cropped size, already rounded to float16.
    static func probabilities(configuration: String, caseIndex: Int) -> [Float] {
        let voxels = cropped.reduce(1, *)
        var values = [Float](repeating: 0, count: classCount * voxels)
        var v = 0
        for z in 0..<cropped[0] {
            for y in 0..<cropped[1] {
                for x in 0..<cropped[2] {
                    let c = truth(z: z, y: y, x: x, caseIndex: caseIndex)
                    var column: [Float] = [0.1, 0.1, 0.1]
                    if let wrong = error(configuration: configuration, voxel: v, caseIndex: caseIndex, truth: c) {
                        column[wrong] = 0.6
                        column[c] = 0.3
                    } else {
                        column[c] = 0.8
                    }
                    for k in 0..<classCount { values[k * voxels + v] = Float(Float16(column[k])) }
                    v += 1
                }
            }
        }
        return values
    }

    /// Argmax (first maximum) of `[3, z, y, x]` probabilities pasted into the full image.
    static func labels(probabilities: [Float]) -> [Int] {
        let voxels = cropped.reduce(1, *)
        var labels = [Int](repeating: 0, count: original.reduce(1, *))
        var v = 0
        for z in 0..<cropped[0] {
            for y in 0..<cropped[1] {
                for x in 0..<cropped[2] {
                    var best = 0
                    for k in 1..<classCount where probabilities[k * voxels + v] > probabilities[best * voxels + v] {
                        best = k
                    }
                    labels[fullIndex(z: z, y: y, x: x)] = best
                    v += 1
                }
            }
        }
        return labels
    }

    /// The labels of the two models' ensemble: float16 inputs averaged in float32, rounded to float16, argmax.
    static func ensembleLabels(caseIndex: Int) -> [Int] {
        let a = probabilities(configuration: "2d", caseIndex: caseIndex)
        let b = probabilities(configuration: "3d_fullres", caseIndex: caseIndex)
        return labels(probabilities: zip(a, b).map { Float(Float16(($0 + $1) / 2)) })
    }

    static func properties(caseIndex: Int) -> PreprocessedCaseProperties {
        let cropping = CroppedCaseProperties(
            originalSizeOfRawData: original, originalSpacing: geometry.spacing,
            listOfDataFiles: ["imagesTr/\(caseName(caseIndex))_0000.nii.gz"], segFile: nil,
            itkOrigin: geometry.itkOrigin, itkSpacing: geometry.itkSpacing, itkDirection: geometry.itkDirection,
            cropBBox: box, classes: [0, 1, 2], sizeAfterCropping: cropped)
        return PreprocessedCaseProperties(cropping: cropping, sizeAfterResampling: cropped,
                                          spacingAfterResampling: geometry.spacing, classLocations: [:])
    }

    static func writeLabels(_ labels: [Int], to url: URL) throws {
        try NIfTI.write(Volume(data: labels.map(Float.init), shape: original, geometry: geometry), to: url,
                        dataType: .uint8)
    }

    /// Writes one configuration's trainer folder. `withoutNPZ` lists case indices whose `CASE.npz` is left out.
    func writeModel(_ configuration: String, withoutNPZ: Set<Int> = []) throws {
        let folder = trainerFolder(configuration)
        let groundTruth = folder.appendingPathComponent("gt_niftis")
        try FileManager.default.createDirectory(at: groundTruth, withIntermediateDirectories: true)
        for index in 0..<Self.caseCount {
            try Self.writeLabels(Self.groundTruth(caseIndex: index),
                                 to: groundTruth.appendingPathComponent(Self.caseName(index) + ".nii.gz"))
        }
        for (fold, cases) in Self.folds {
            let validation = folder.appendingPathComponent("fold_\(fold)/validation_raw")
            try FileManager.default.createDirectory(at: validation, withIntermediateDirectories: true)
            for index in cases {
                let name = Self.caseName(index)
                let softmax = Self.probabilities(configuration: configuration, caseIndex: index)
                try Self.writeLabels(Self.labels(probabilities: softmax),
                                     to: validation.appendingPathComponent(name + ".nii.gz"))
                if !withoutNPZ.contains(index) {
                    try NPZ.write([("softmax", NPYArray(float16: softmax, shape: [Self.classCount] + Self.cropped))],
                                  to: validation.appendingPathComponent(name + ".npz"))
                }
                try PickleWriter.write(Self.properties(caseIndex: index).v1PickleValue,
                                       to: validation.appendingPathComponent(name + ".pkl"))
            }
            // The trainer's validation summary (labels 0..K-1), which the consolidation reads the labels from.
            try FolderEvaluation.aggregateScores(
                pairs: cases.map { (validation.appendingPathComponent(Self.caseName($0) + ".nii.gz"),
                                    groundTruth.appendingPathComponent(Self.caseName($0) + ".nii.gz")) },
                options: EvaluationOptions(labels: [0, 1, 2]),
                jsonOutput: validation.appendingPathComponent("summary.json"), threads: 1)
        }
    }

    /// A fresh fixture with both models, removed after `body`.
    static func withFixture<T>(withoutNPZ: [String: Set<Int>] = [:], _ body: (ModelSelectionFixture) throws -> T)
        throws -> T {
        try TestSupport.withTemporaryFolder { root in
            let fixture = ModelSelectionFixture(trainedModels: root.appendingPathComponent("results/nnUNet"))
            for configuration in ["2d", "3d_fullres"] {
                try fixture.writeModel(configuration, withoutNPZ: withoutNPZ[configuration] ?? [])
            }
            return try body(fixture)
        }
    }

    // MARK: Independent expected scores

    /// 2tp / (2tp + fp + fn) over the full image; NaN when the label is in neither.
    static func dice(_ prediction: [Int], _ reference: [Int], label: Int) -> Double {
        var tp = 0, fp = 0, fn = 0
        for (p, r) in zip(prediction, reference) {
            if p == label && r == label { tp += 1 } else if p == label { fp += 1 } else if r == label { fn += 1 }
        }
        return tp + fp + fn == 0 ? .nan : Double(2 * tp) / Double(2 * tp + fp + fn)
    }

    /// Mean Dice per label over all cases, for predictions made by `predict(caseIndex)`.
    static func meanDice(_ predict: (Int) -> [Int]) -> [Int: Double] {
        var result: [Int: Double] = [:]
        for label in 0..<classCount {
            var sum = 0.0
            for index in 0..<caseCount { sum += dice(predict(index), groundTruth(caseIndex: index), label: label) }
            result[label] = sum / Double(caseCount)
        }
        return result
    }

    static func singleModelDice(_ configuration: String) -> [Int: Double] {
        meanDice { labels(probabilities: probabilities(configuration: configuration, caseIndex: $0)) }
    }

    static var ensembleDice: [Int: Double] { meanDice { ensembleLabels(caseIndex: $0) } }

    /// Mean of the foreground labels' mean Dice.
    static func score(_ dice: [Int: Double]) -> Double { ((dice[1] ?? .nan) + (dice[2] ?? .nan)) / 2 }
}
