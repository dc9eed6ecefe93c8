import Foundation
import NNUNetCore
@testable import NNUNetEvaluation
import NNUNetPlanning
import Testing

@Suite("Ensembling saved probabilities (nnunet ensemble)")
struct ProbabilityEnsembleTests {
    /// A synthetic case: K = 3 classes at a 6 × 7 × 8 cropped size inside a 9 × 10 × 12 image.
    static let classCount = 3
    static let cropped = [6, 7, 8]
    static let original = [9, 10, 12]
    static let box = [[2, 8], [1, 8], [3, 11]]
    /// ITK (x, y, z) values that float32 (the NIfTI header) holds exactly.
    static let spacing = [0.75, 1.5, 2.5]
    static let origin = [10.25, -20.5, 5.0]
    static let direction: [Double] = [-1, 0, 0, 0, -1, 0, 0, 0, 1]
    static let cases = ["caseA", "caseB"]

    /// v1's `CASE.pkl` properties for the synthetic case.
    static func properties(_ identifier: String) -> PickleValue {
        func ints(_ v: [Int]) -> PickleValue { .list(v.map { .int($0) }) }
        let entries: [(String, PickleValue)] = [
            ("original_size_of_raw_data", ints(original)),
            ("original_spacing", .list(spacing.reversed().map { .float($0) })),
            ("list_of_data_files", .list([.string("imagesTs/\(identifier)_0000.nii.gz")])),
            ("seg_file", .none),
            ("itk_origin", .tuple(origin.map { .float($0) })),
            ("itk_spacing", .tuple(spacing.map { .float($0) })),
            ("itk_direction", .tuple(direction.map { .float($0) })),
            ("crop_bbox", .list(box.map(ints))),
            ("classes", .list([.int(0)])),
            ("size_after_cropping", .tuple(cropped.map { .int($0) })),
            ("size_after_resampling", .tuple(cropped.map { .int($0) })),
            ("spacing_after_resampling", .list(spacing.reversed().map { .float($0) })),
        ]
        return .dict(entries.map { .init(key: .string($0.0), value: $0.1) })
    }

    /// Random class probabilities (columns sum to 1), with a few exact ties between classes 1 and 2.
    static func probabilities(seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        let voxels = cropped.reduce(1, *)
        var values = [Float](repeating: 0, count: classCount * voxels)
        for v in 0..<voxels {
            var column = (0..<classCount).map { _ in Float.random(in: 0.01...1, using: &generator) }
            if v % 17 == 0 { column[2] = column[1] }
            let total = column.reduce(0, +)
            for k in 0..<classCount { values[k * voxels + v] = column[k] / total }
        }
        return values
    }

    /// Writes a `predict -z` folder: CASE.npz (float16 softmax), CASE.pkl and a dummy CASE.nii.gz per case.
    static func writePredictionFolder(_ folder: URL, seed: UInt64, cases: [String] = cases) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (n, identifier) in cases.enumerated() {
            let values = probabilities(seed: seed &* 31 &+ UInt64(n))
            try NPZ.write([("softmax", NPYArray(float16: values, shape: [classCount] + cropped))],
                          to: folder.appendingPathComponent(identifier + ".npz"))
            try PickleWriter.write(properties(identifier), to: folder.appendingPathComponent(identifier + ".pkl"))
            try TestSupport.writeLabels([Float](repeating: 0, count: original.reduce(1, *)), shape: original,
                                        to: folder.appendingPathComponent(identifier + ".nii.gz"))
        }
    }

    /// The plain reference: float16 inputs, mean in float32 rounded to float16, argmax (first maximum), paste.
    static func reference(folders: [URL], identifier: String) throws -> (labels: [Float], mean: [Float]) {
        let inputs = try folders.map { try NPZ.read($0.appendingPathComponent(identifier + ".npz"), member: "softmax")
            .floats() }
        var mean = [Float](repeating: 0, count: inputs[0].count)
        for i in mean.indices {
            var sum: Float = 0
            for input in inputs { sum += input[i] }
            mean[i] = Float(Float16(sum / Float(inputs.count)))
        }
        let voxels = cropped.reduce(1, *)
        var labels = [Float](repeating: 0, count: original.reduce(1, *))
        for z in 0..<cropped[0] {
            for y in 0..<cropped[1] {
                for x in 0..<cropped[2] {
                    let v = (z * cropped[1] + y) * cropped[2] + x
                    var label = 0
                    for k in 0..<classCount where mean[k * voxels + v] > mean[label * voxels + v] { label = k }
                    let target = ((z + box[0][0]) * original[1] + y + box[1][0]) * original[2] + x + box[2][0]
                    labels[target] = Float(label)
                }
            }
        }
        return (labels, mean)
    }

    static let expectedGeometry = ImageGeometry(itkSpacing: spacing, itkOrigin: origin, itkDirection: direction)

    @Test("labels equal average → argmax → paste, voxel for voxel, with the pkl's geometry")
    func labelsMatchReference() throws {
        try TestSupport.withTemporaryFolder { root in
            let folders = [root.appendingPathComponent("model1"), root.appendingPathComponent("model2")]
            try Self.writePredictionFolder(folders[0], seed: 1)
            try Self.writePredictionFolder(folders[1], seed: 2)
            let output = root.appendingPathComponent("out")
            var progress: [String] = []
            let result = try ProbabilityEnsemble.ensemble(folders: folders, outputFolder: output, threads: 2) {
                done, total, identifier in progress.append("[\(done)/\(total)] \(identifier)")
            }
            #expect(result.caseIdentifiers == Self.cases)
            #expect(result.rawFolder == output && result.postprocessing == nil)
            // One line per case; counts run 1...n, cases may finish in any order.
            #expect(Set(progress.map { $0.prefix(5) }) == ["[1/2]", "[2/2]"])
            #expect(Set(progress.map { $0.dropFirst(6) }) == ["caseA", "caseB"])
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: output.path))
                    == ["caseA.nii.gz", "caseB.nii.gz"])
            var tieVoxels = 0
            for identifier in Self.cases {
                let (expected, mean) = try Self.reference(folders: folders, identifier: identifier)
                let written = try NIfTI.read(output.appendingPathComponent(identifier + ".nii.gz"))
                #expect(written.sourceDataType == .uint8)
                #expect(written.shape == Self.original)
                #expect(written.geometry == Self.expectedGeometry)
                let differing = zip(written.data, expected).filter { $0 != $1 }.count
                #expect(written.data == expected, "\(identifier): labels differ in \(differing) voxels")
                let voxels = Self.cropped.reduce(1, *)
                tieVoxels += (0..<voxels).filter { v in
                    let top = (0..<Self.classCount).map { mean[$0 * voxels + v] }.max() ?? 0
                    return (0..<Self.classCount).filter { mean[$0 * voxels + v] == top }.count > 1
                }.count
                // Outside the crop box everything is background.
                #expect(written.data.enumerated().allSatisfy { index, value in
                    let z = index / (Self.original[1] * Self.original[2])
                    let y = index / Self.original[2] % Self.original[1], x = index % Self.original[2]
                    let inside = (Self.box[0][0]..<Self.box[0][1]).contains(z) && (Self.box[1][0]..<Self.box[1][1])
                        .contains(y) && (Self.box[2][0]..<Self.box[2][1]).contains(x)
                    return inside || value == 0
                })
            }
            // The data has exact ties, so the first-maximum rule was exercised.
            #expect(tieVoxels > 0)
        }
    }

    @Test("--npz writes the averaged float16 softmax and the first folder's pkl")
    func npzRoundTrip() throws {
        try TestSupport.withTemporaryFolder { root in
            let folders = [root.appendingPathComponent("model1"), root.appendingPathComponent("model2"),
                           root.appendingPathComponent("model3")]
            for (n, folder) in folders.enumerated() { try Self.writePredictionFolder(folder, seed: UInt64(10 + n)) }
            let output = root.appendingPathComponent("out")
            try ProbabilityEnsemble.ensemble(folders: folders, outputFolder: output, savesProbabilities: true,
                                             threads: 1)
            for identifier in Self.cases {
                let (labels, mean) = try Self.reference(folders: folders, identifier: identifier)
                let saved = try NPZ.read(output.appendingPathComponent(identifier + ".npz"), member: "softmax")
                #expect(saved.dataType == .float16)
                #expect(saved.shape == [Self.classCount] + Self.cropped)
                #expect(saved.floats() == mean)
                let pickle = try Data(contentsOf: output.appendingPathComponent(identifier + ".pkl"))
                #expect(pickle == (try Data(contentsOf: folders[0].appendingPathComponent(identifier + ".pkl"))))
                #expect(try NIfTI.read(output.appendingPathComponent(identifier + ".nii.gz")).data == labels)
            }
            // The output is itself a valid ensemble input: ensembling it alone reproduces its labels.
            let again = root.appendingPathComponent("again")
            try ProbabilityEnsemble.ensemble(folders: [output], outputFolder: again)
            for identifier in Self.cases {
                #expect(try NIfTI.read(again.appendingPathComponent(identifier + ".nii.gz")).data
                        == (try NIfTI.read(output.appendingPathComponent(identifier + ".nii.gz")).data))
            }
        }
    }

    @Test("-pp: raw ensemble in OUT/not_postprocessed, postprocessed in OUT, postprocessing.json copied")
    func postprocessingLayout() throws {
        try TestSupport.withTemporaryFolder { root in
            let folders = [root.appendingPathComponent("model1"), root.appendingPathComponent("model2")]
            try Self.writePredictionFolder(folders[0], seed: 3)
            try Self.writePredictionFolder(folders[1], seed: 4)
            let decisionFile = root.appendingPathComponent("postprocessing.json")
            try PostprocessingDecision(forWhichClasses: [ClassSet.single(1), .single(2)]).write(to: decisionFile)
            let output = root.appendingPathComponent("out")
            let result = try ProbabilityEnsemble.ensemble(folders: folders, outputFolder: output,
                                                          postprocessingFile: decisionFile, savesProbabilities: true)
            let raw = output.appendingPathComponent("not_postprocessed")
            #expect(result.rawFolder.standardizedFileURL == raw.standardizedFileURL)
            #expect(result.postprocessing?.forWhichClasses == [ClassSet.single(1), .single(2)])
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: raw.path))
                    == ["caseA.nii.gz", "caseB.nii.gz", "caseA.npz", "caseB.npz", "caseA.pkl", "caseB.pkl"])
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: output.path))
                    == ["caseA.nii.gz", "caseB.nii.gz", "postprocessing.json", "not_postprocessed"])
            #expect(try Data(contentsOf: output.appendingPathComponent("postprocessing.json"))
                    == (try Data(contentsOf: decisionFile)))
            // The raw labels are the plain ensemble; OUT holds them after "keep the largest component" of 1 and 2.
            let check = root.appendingPathComponent("check")
            try PostprocessingApplication.apply(classSets: [ClassSet.single(1), .single(2)], minimumSizes: nil,
                                                inputFolder: raw, outputFolder: check)
            var changed = 0
            for identifier in Self.cases {
                let rawLabels = try NIfTI.read(raw.appendingPathComponent(identifier + ".nii.gz"))
                #expect(rawLabels.data == (try Self.reference(folders: folders, identifier: identifier).labels))
                let final = try NIfTI.read(output.appendingPathComponent(identifier + ".nii.gz"))
                #expect(final.data == (try NIfTI.read(check.appendingPathComponent(identifier + ".nii.gz")).data))
                #expect(final.geometry == Self.expectedGeometry)
                changed += zip(rawLabels.data, final.data).filter { $0 != $1 }.count
            }
            // Random probabilities make scattered components, so postprocessing really changed voxels.
            #expect(changed > 0)
        }
    }

    @Test("a folder that lacks a case is named, with the case, before anything is written")
    func missingCase() throws {
        try TestSupport.withTemporaryFolder { root in
            let folders = [root.appendingPathComponent("model1"), root.appendingPathComponent("model2")]
            try Self.writePredictionFolder(folders[0], seed: 5)
            try Self.writePredictionFolder(folders[1], seed: 6)
            try FileManager.default.removeItem(at: folders[1].appendingPathComponent("caseB.npz"))
            let output = root.appendingPathComponent("out")
            #expect(throws: EvaluationError.incompleteEnsembleFolder(folder: folders[1].path, missingCases: ["caseB"],
                                                                     missingFiles: ["caseB.npz"])) {
                try ProbabilityEnsemble.ensemble(folders: folders, outputFolder: output)
            }
            #expect(!FileManager.default.fileExists(atPath: output.path))
            let message = EvaluationError.incompleteEnsembleFolder(folder: folders[1].path, missingCases: ["caseB"],
                                                                   missingFiles: ["caseB.npz"]).description
            #expect(message.contains(folders[1].path) && message.contains("caseB"))

            // A case that only the second folder holds is missing in the first (v1 takes the union of the cases).
            try Self.writePredictionFolder(folders[1], seed: 6, cases: ["caseB", "caseC"])
            try FileManager.default.removeItem(at: folders[0].appendingPathComponent("caseA.pkl"))
            do {
                try ProbabilityEnsemble.ensemble(folders: folders, outputFolder: output)
                Issue.record("expected an error")
            } catch let EvaluationError.incompleteEnsembleFolder(folder, missingCases, missingFiles) {
                #expect(folder == folders[0].path)
                #expect(missingCases == ["caseA", "caseC"])
                #expect(missingFiles == ["caseA.pkl", "caseC.npz", "caseC.pkl"])
            }
            #expect(!FileManager.default.fileExists(atPath: output.path))
            #expect(throws: EvaluationError.noSavedProbabilities(folders: [output.path])) {
                try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
                try ProbabilityEnsemble.ensemble(folders: [output], outputFolder: root.appendingPathComponent("x"))
            }
        }
    }

    @Test("probabilities of different shapes are refused, naming the case")
    func shapeMismatch() throws {
        try TestSupport.withTemporaryFolder { root in
            let folders = [root.appendingPathComponent("model1"), root.appendingPathComponent("model2")]
            try Self.writePredictionFolder(folders[0], seed: 7)
            try Self.writePredictionFolder(folders[1], seed: 8)
            try NPZ.write([("softmax", NPYArray(float16: [Float](repeating: 0.5, count: 2 * 6 * 7 * 8),
                                                shape: [2, 6, 7, 8]))],
                          to: folders[1].appendingPathComponent("caseA.npz"))
            do {
                try ProbabilityEnsemble.ensemble(folders: folders, outputFolder: root.appendingPathComponent("out"))
                Issue.record("expected an error")
            } catch let EvaluationError.inconsistentProbabilities(caseName, detail) {
                #expect(caseName == "caseA" && detail.contains("[2, 6, 7, 8]"))
            }
        }
    }
}
