import Foundation
import Testing
@testable import NNUNetCore
@testable import NNUNetTraining

/// `--find_lr`: the geometric learning-rate ramp, v1's smoothing and stopping rule, and the files it leaves.
@Suite("Learning-rate finder")
struct LearningRateFinderTests {
    @Test("rates grow geometrically from 1e-6 towards 10; the smoothed loss is v1's; png + json written, no checkpoint")
    func sweep() throws {
        try TestSupport.withTemporaryFolder { folder in
            let trainer = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder)
            let sweep = try trainer.findLearningRate(iterations: 40)
            let rates = sweep.learningRates
            #expect(!rates.isEmpty && rates.count == sweep.smoothedLosses.count && rates.count <= 40)
            #expect(abs(rates[0] - 1e-6) < 1e-18)
            let factor = pow(10.0 / 1e-6, 1.0 / 40)
            for i in 1..<rates.count { #expect(abs(rates[i] / rates[i - 1] - factor) < 1e-9) }
            // The first smoothed value is the first loss + 1 itself (bias correction of a one-term average).
            #expect(sweep.smoothedLosses.allSatisfy { $0.isFinite })
            // Either all 40 iterations ran, or the sweep stopped when the loss exceeded 4x its best.
            if rates.count < 40 {
                let best = sweep.smoothedLosses.min() ?? 0
                #expect(best > 0)
            }
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("lr_finder.png").path))
            let json = try JSONDecoder().decode(LearningRateSweep.self,
                                                from: Data(contentsOf: folder.appendingPathComponent("lr_finder.json")))
            #expect(json == sweep)
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("model_final_checkpoint.model").path))
        }
    }

    @Test("the smoothing and stopping rule on a known loss sequence (hand-computed)")
    func smoothing() {
        var smoother = SweepLossSmoother(beta: 0.5)
        // n = 1: avg 0.5·1.5 = 0.75, /(1 − 0.5) = 1.5.  n = 2: avg 0.375 + 0.5·1.1 = 0.925, /0.75 = 1.2333...
        #expect(smoother.add(loss: 0.5) == 1.5)
        #expect(abs((smoother.add(loss: 0.1) ?? 0) - 0.925 / 0.75) < 1e-12)
        // n = 3: avg 0.4625 + 0.5·(20 + 1) = 10.9625, /0.875 = 12.53 > 4 · 1.2333: stop.
        #expect(smoother.add(loss: 20) == nil)
    }
}
