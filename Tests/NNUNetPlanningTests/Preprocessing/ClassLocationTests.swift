import NNUNetCore
import Testing
@testable import NNUNetPlanning

@Suite struct ClassLocationTests {
    /// numpy oracle: `r = np.random.RandomState(1234); r.choice(20, 5, replace=False)` → [3, 13, 2, 16, 14], then
    /// `r.choice(100000, 3, replace=False)` → [27737, 90873, 16796].
    @Test func legacyRandomStateMatchesNumpy() {
        var random = MersenneTwister(seed: 1234)
        #expect(random.choiceWithoutReplacement(20, 5) == [3, 13, 2, 16, 14])
        #expect(random.choiceWithoutReplacement(100_000, 3) == [27737, 90873, 16796])
    }

    @Test func sampleCountsFollowV1Rule() {
        // 30 000 voxels of class 1 and 5 of class 2 in a 1 x 100 x 301 map; class 3 absent.
        var seg = [Float](repeating: 0, count: 100 * 301)
        for i in 0..<30_000 { seg[i] = 1 }
        for i in 30_000..<30_005 { seg[i] = 2 }
        let locations = Preprocessor.classLocations(seg: seg, shape: [1, 100, 301], classes: [1, 2, 3])
        #expect(locations[1]?.count == 10_000)
        #expect(locations[2]?.count == 5)
        #expect(locations[3]?.isEmpty == true)
        for location in locations[2] ?? [] { #expect(seg[location[1] * 301 + location[2]] == 2) }
    }

    @Test func separateZDecision() {
        #expect(Preprocessor.separateAxis(originalSpacing: [5, 1, 1], targetSpacing: [3, 1, 1]) == 0)
        #expect(Preprocessor.separateAxis(originalSpacing: [1, 1, 1], targetSpacing: [1, 1, 4]) == 2)
        #expect(Preprocessor.separateAxis(originalSpacing: [1.2, 1, 1], targetSpacing: [1, 1, 1]) == nil)
        // Two axes share the coarsest spacing: no separate-z.
        #expect(Preprocessor.separateAxis(originalSpacing: [0.24, 1.25, 1.25], targetSpacing: [1, 1, 1]) == nil)
    }
}
