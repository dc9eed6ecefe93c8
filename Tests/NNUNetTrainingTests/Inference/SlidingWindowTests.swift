import Foundation
import Testing
@testable import NNUNetTraining

@Suite("Sliding window tiling")
struct SlidingWindowTests {
    @Test("step positions: the reference sheet's example and edge cases")
    func steps() {
        #expect(SlidingWindow.steps(imageSize: [110], patchSize: [64]) == [[0, 23, 46]])
        #expect(SlidingWindow.steps(imageSize: [64, 65, 200], patchSize: [64, 64, 64]) ==
                [[0], [0, 1], [0, 27, 54, 82, 109, 136]])
        // Step size 1: tiles touch; the last tile always ends at the border.
        #expect(SlidingWindow.steps(imageSize: [100], patchSize: [40], stepSize: 1) == [[0, 30, 60]])
        for (size, patch) in [(37, 20), (160, 128), (999, 96)] {
            let positions = SlidingWindow.steps(imageSize: [size], patchSize: [patch])[0]
            #expect(positions.first == 0 && positions.last == size - patch)
            // Consecutive tiles overlap by at least half a patch (step <= target step).
            #expect(zip(positions, positions.dropFirst()).allSatisfy { $1 - $0 <= patch / 2 + 1 })
        }
    }

    @Test("padded shapes and steps equal nnU-Net v1's for the three v1_model test cases")
    func goldenSteps() throws {
        let data = try Data(contentsOf: TestSupport.fixtures.appendingPathComponent(
            "v1_model/stages/stages_report.json"))
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let statistics = try #require(report["all_cases_float32_tie_statistics"] as? [String: Any])
        let cases = try #require(statistics["sliding_window"] as? [String: [String: Any]])
        let patch = try #require(report["patch_size"] as? [Int])
        #expect(cases.count == 3)
        for (name, entry) in cases {
            let shape = try #require(entry["preprocessed_shape"] as? [Int])
            let pad = SlidingWindow.padding(imageSize: shape, patchSize: patch)
            let padded = zip(shape, pad).map { $0 + $1.before + $1.after }
            #expect(padded == entry["padded_shape"] as? [Int], "\(name)")
            #expect(SlidingWindow.steps(imageSize: padded, patchSize: patch) == entry["steps"] as? [[Int]], "\(name)")
        }
    }

    @Test("padding splits the difference with the smaller half first")
    func padding() {
        let pad = SlidingWindow.padding(imageSize: [30, 64, 61], patchSize: [40, 56, 64])
        #expect(pad.map(\.before) == [5, 0, 1] && pad.map(\.after) == [5, 0, 2])
    }

    @Test("Gaussian map: peak 1 at floor(p/2), sigma p/8, separable, no zeros")
    func gaussian() {
        let patch = [8, 12, 7]
        let map = SlidingWindow.gaussianImportanceMap(patchSize: patch)
        #expect(map.count == 8 * 12 * 7)
        func at(_ z: Int, _ y: Int, _ x: Int) -> Float { map[(z * 12 + y) * 7 + x] }
        #expect(at(4, 6, 3) == 1)
        #expect(map.max() == 1 && map.min()! > 0)
        // Naive formula: product of exp(-(x - c)^2 / (2 sigma^2)) with sigma = p / 8.
        for z in 0..<8 { for y in 0..<12 { for x in 0..<7 {
            var expected = 1.0
            for (value, p) in zip([z, y, x], patch) {
                let sigma = Double(p) / 8, d = Double(value - p / 2)
                expected *= exp(-d * d / (2 * sigma * sigma))
            }
            #expect(abs(Double(at(z, y, x)) - expected) <= 1e-6 * max(expected, 1e-30) + 1e-37)
        } } }
    }
}
