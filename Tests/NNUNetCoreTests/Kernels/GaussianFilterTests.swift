import Foundation
import Testing
@testable import NNUNetCore

@Suite("gaussian_filter kernel")
struct GaussianFilterTests {
    @Test("matches direct 3D summation with reflect border", arguments: [0.5, 0.8, 1.0, 2.3])
    func matchesNaive(sigma: Double) {
        let shape = [3, 7, 9]
        var random = SeededGenerator(seed: 4)
        let input = (0..<189).map { _ in Float(random.nextUniform(in: -1...2)) }
        var fast = input
        GaussianFilter.apply(&fast, shape: shape, sigma: sigma, threads: 2)
        let reference = NaiveInterpolation.gaussian(input, shape: shape, sigma: sigma)
        for i in 0..<input.count { #expect(abs(Double(fast[i]) - reference[i]) < 1e-5) }
    }

    @Test("matches scipy 1.17 gaussian_filter(arange(24).reshape(2,3,4)**1.5, 0.7)")
    func matchesScipy() {
        var values = (0..<24).map { Float(pow(Double($0), 1.5)) }
        GaussianFilter.apply(&values, shape: [2, 3, 4], sigma: 0.7)
        let golden: [Double] = [12.6014986038208, 14.5930757522583, 17.49612045288086, 20.050504684448242,
                                22.696725845336914, 25.620670318603516, 29.56412124633789, 32.85957336425781,
                                34.79158401489258, 38.45606231689453, 43.26261520385742, 47.194210052490234,
                                37.845584869384766, 41.475830078125, 46.277931213378906, 50.2265510559082,
                                53.502464294433594, 57.72255325317383, 63.22160339355469, 67.69088745117188,
                                70.49272918701172, 75.22967529296875, 81.35363006591797, 86.29780578613281]
        for i in 0..<24 { #expect(abs(Double(values[i]) - golden[i]) < 1e-4) }
    }

    @Test("kernel radius and normalisation follow scipy (truncate 4)")
    func kernel() {
        #expect(GaussianFilter.kernel(sigma: 0.5).count == 2 * 2 + 1)
        #expect(GaussianFilter.kernel(sigma: 1).count == 2 * 4 + 1)
        #expect(abs(GaussianFilter.kernel(sigma: 0.7).reduce(0, +) - 1) < 1e-12)
    }
}
