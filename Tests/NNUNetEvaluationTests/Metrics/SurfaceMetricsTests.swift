import Foundation
import NNUNetCore
import Testing
@testable import NNUNetEvaluation

@Suite("Surface metrics (HD95, ASSD, NSD)")
struct SurfaceMetricsTests {
    static let golden = TestSupport.repositoryRoot.appendingPathComponent("Tests/Golden/evaluation/surface_metrics.json")

    @Test("HD95 and ASSD equal v1/medpy on the eval reference cases")
    func matchesMedpy() throws {
        let golden = try JSONValue.read(Self.golden)
        let evalFolder = TestSupport.fixtures.appendingPathComponent("eval")
        let cases = try #require(golden["cases"]?.objectValue)
        #expect(cases.count == 10)
        for (name, labels) in cases {
            let scores = try CaseEvaluator.evaluate(
                predictionFile: evalFolder.appendingPathComponent("pred/\(name).nii.gz"),
                referenceFile: evalFolder.appendingPathComponent("ref/\(name).nii.gz"),
                options: EvaluationOptions(labels: [1, 2], includesSurfaceMetrics: true), threads: 2)
            for label in ["1", "2"] {
                for key in [SurfaceMetrics.hausdorff95Key, SurfaceMetrics.averageSymmetricSurfaceDistanceKey] {
                    let expected = labels[label]?[key]?.doubleValue ?? .nan
                    let ours = scores[label]?.values[key] ?? -1
                    #expect(TestSupport.isClose(ours, expected, relative: 1e-9), "\(name) \(label) \(key): \(ours) vs \(expected)")
                }
            }
        }
    }

    @Test("distance transform equals brute force with anisotropic spacing")
    func distanceTransform() {
        var generator = SeededGenerator(seed: 5)
        let shape = [6, 9, 7], spacing = [2.5, 0.7, 1.1]
        let sites = (0..<shape.reduce(1, *)).map { _ in generator.nextUniform() < 0.04 }
        let fast = DistanceTransform.squaredEuclidean(sites: sites, shape: shape, spacing: spacing, threads: 2)
        for z in 0..<6 { for y in 0..<9 { for x in 0..<7 {
            var best = Double.infinity
            for i in sites.indices where sites[i] {
                let dz = Double(i / 63 - z) * 2.5, dy = Double((i / 7) % 9 - y) * 0.7, dx = Double(i % 7 - x) * 1.1
                best = min(best, dz * dz + dy * dy + dx * dx)
            }
            let value = fast[(z * 9 + y) * 7 + x]
            #expect(TestSupport.isClose(value, best, relative: 1e-12, absolute: 1e-12), "(\(z), \(y), \(x))")
        } } }
    }

    @Test("normalised surface Dice: brute force, tolerance and empty-case semantics")
    func surfaceDice() {
        let shape = [1, 12, 12]
        var prediction = [Float](repeating: 0, count: 144), reference = prediction
        for y in 3..<9 { for x in 3..<9 { reference[y * 12 + x] = 1 } }
        for y in 3..<9 { for x in 4..<10 { prediction[y * 12 + x] = 1 } }  // shifted by one voxel in x
        let tight = SurfaceMetrics.compute(prediction: prediction, reference: reference, shape: shape,
                                           spacing: [1, 1, 1], label: 1, tolerance: 0.5)
        let loose = SurfaceMetrics.compute(prediction: prediction, reference: reference, shape: shape,
                                           spacing: [1, 1, 1], label: 1, tolerance: 1.0)
        // With z = 1 every foreground voxel is surface (the array border counts): 36 + 36 surface voxels; 30 of each
        // overlap exactly (distance 0), the other 6 of each are 1 mm away.
        #expect(tight.normalizedSurfaceDice == 60.0 / 72.0)
        #expect(loose.normalizedSurfaceDice == 1)
        #expect(loose.hausdorff95 == 1)
        let empty = [Float](repeating: 0, count: 144)
        let bothEmpty = SurfaceMetrics.compute(prediction: empty, reference: empty, shape: shape, spacing: [1, 1, 1],
                                               label: 1, tolerance: 1)
        #expect(bothEmpty.normalizedSurfaceDice.isNaN && bothEmpty.hausdorff95.isNaN)
        let oneEmpty = SurfaceMetrics.compute(prediction: empty, reference: reference, shape: shape, spacing: [1, 1, 1],
                                              label: 1, tolerance: 1)
        #expect(oneEmpty.normalizedSurfaceDice == 0 && oneEmpty.hausdorff95.isNaN
                && oneEmpty.averageSymmetricSurfaceDistance.isNaN)
    }
}
