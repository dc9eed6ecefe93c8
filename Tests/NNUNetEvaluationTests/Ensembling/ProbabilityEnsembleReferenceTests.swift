import Foundation
import NNUNetCore
import NNUNetEvaluation
import NNUNetPlanning
import Testing

/// `reference/v1_model` of the optional test data (22 MB).
@Suite("Ensembling nnU-Net v1's own predict --save_npz output", TestSupport.requiresSharedData("reference/v1_model"))
struct ProbabilityEnsembleReferenceTests {
    static let predictions = TestSupport.reference.appendingPathComponent("v1_model/pred_tta")

    /// Ensembling v1's `pred_tta` with itself is the argmax of its float16 npz (the mean of two equal float16 arrays is
    /// the array). v1's NIfTI took the argmax over float32, so it may differ at float16 near-ties (0-2 voxels per case,
    /// reference README).
    @Test("pred_tta ensembled with itself = argmax of its float16 npz; within 2 voxels per case of v1's NIfTI")
    func selfEnsemble() throws {
        try TestSupport.withTemporaryFolder { root in
            let output = root.appendingPathComponent("out")
            let result = try ProbabilityEnsemble.ensemble(folders: [Self.predictions, Self.predictions],
                                                          outputFolder: output)
            #expect(result.caseIdentifiers == ["spheres_ts000", "spheres_ts001", "spheres_ts002"])
            var differences: [String: Int] = [:]
            for identifier in result.caseIdentifiers {
                let npz = try NPZ.read(Self.predictions.appendingPathComponent(identifier + ".npz"), member: "softmax")
                #expect(npz.dataType == .float16)
                let values = npz.floats()
                let pickle = Self.predictions.appendingPathComponent(identifier + ".pkl")
                let cropping = try PreprocessedCaseProperties(v1Pickle: PickleReader.read(contentsOf: pickle),
                                                              source: pickle.path).cropping
                let size = Array(npz.shape.dropFirst()), voxels = size.reduce(1, *)
                let original = cropping.originalSizeOfRawData, box = cropping.cropBBox
                var expected = [Float](repeating: 0, count: original.reduce(1, *))
                for z in 0..<size[0] {
                    for y in 0..<size[1] {
                        for x in 0..<size[2] {
                            let v = (z * size[1] + y) * size[2] + x
                            var label = 0
                            for k in 1..<npz.shape[0] where values[k * voxels + v] > values[label * voxels + v] {
                                label = k
                            }
                            expected[((z + box[0][0]) * original[1] + y + box[1][0]) * original[2] + x + box[2][0]]
                                = Float(label)
                        }
                    }
                }
                let written = try NIfTI.read(output.appendingPathComponent(identifier + ".nii.gz"))
                #expect(written.sourceDataType == .uint8)
                let fromNPZ = zip(written.data, expected).filter { $0 != $1 }.count
                #expect(written.data == expected, "\(identifier): differs from the npz argmax in \(fromNPZ) voxels")
                let v1 = try NIfTI.read(Self.predictions.appendingPathComponent(identifier + ".nii.gz"))
                #expect(written.shape == v1.shape)
                #expect(written.geometry.isClose(to: v1.geometry))
                differences[identifier] = zip(written.data, v1.data).filter { $0 != $1 }.count
            }
            // v1's own count of (argmax of the float16 npz) vs (its NIfTI), recorded when the reference was made.
            let expectedJSON = try JSONSerialization.jsonObject(
                with: Data(contentsOf: TestSupport.reference.appendingPathComponent("v1_model/expected.json")))
            let recorded = ((expectedJSON as? [String: Any])?["pred_tta"] as? [String: Any]) ?? [:]
            for (identifier, count) in differences {
                let npzInfo = (recorded[identifier] as? [String: Any])?["npz_softmax"] as? [String: Any]
                #expect(npzInfo?["argmax_voxels_differing_from_nifti"] as? Int == count, "\(identifier)")
            }
            let report = differences.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            #expect(differences.values.allSatisfy { $0 <= 2 }, "voxels differing from v1's pred_tta NIfTI: \(report)")
            print("Ensemble of pred_tta with itself vs v1's NIfTI, voxels differing per case: \(report)")
        }
    }
}
