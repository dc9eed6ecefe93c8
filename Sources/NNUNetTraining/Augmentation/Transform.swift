import Foundation
import NNUNetCore

/// One step of the augmentation pipeline: changes a batch in place, drawing randomness only from `random`.
///
/// Port of batchgenerators' `AbstractTransform`. Pipelines are plain arrays of transforms (v1's `Compose`), built by
/// ``AugmentationPipeline`` and changeable by trainer variants through `trainingTransforms()`. A transform must be
/// deterministic given the generator, so that one seed reproduces a batch whichever thread prepares it.
public protocol Transform: Sendable {
    /// Changes `batch` in place, drawing every random number from `random`.
    func apply(_ batch: inout Batch, random: inout SeededGenerator)
}

extension Array where Element == any Transform {
    /// Runs every transform in order.
    public func apply(_ batch: inout Batch, random: inout SeededGenerator) {
        for transform in self { transform.apply(&batch, random: &random) }
    }
}

extension SeededGenerator {
    /// True with probability `p` (batchgenerators' `np.random.uniform() < p`).
    mutating func happens(withProbability p: Double) -> Bool { nextUniform() < p }

    /// v1's two-sided factor draw: with probability 0.5 (and when the range starts below 1) U(lower, 1), else
    /// U(max(lower, 1), upper).
    mutating func splitFactor(_ range: ClosedRange<Double>) -> Double {
        // numpy's uniform(low, high) = low + (high − low)·u, also when high < low (a range entirely below 1).
        if nextUniform() < 0.5 && range.lowerBound < 1 {
            return range.lowerBound + (1 - range.lowerBound) * nextUniform()
        }
        let low = Swift.max(range.lowerBound, 1)
        return low + (range.upperBound - low) * nextUniform()
    }
}
