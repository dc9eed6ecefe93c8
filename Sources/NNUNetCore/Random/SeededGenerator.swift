import Foundation

/// A small, fast, seedable random number generator (SplitMix64), passed explicitly wherever randomness is needed.
///
/// There is no global random state in this package: a trainer owns a generator and hands derived ones to its data
/// loader and transforms, so that one seed reproduces a run. `fork()` derives an independent stream.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator; the same seed always gives the same sequence.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits (one SplitMix64 step).
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A new generator whose stream is independent of (and determined by) this one's.
    public mutating func fork() -> SeededGenerator { SeededGenerator(seed: next()) }

    /// Uniform Double in [0, 1).
    public mutating func nextUniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform Double in [range.lowerBound, range.upperBound).
    public mutating func nextUniform(in range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * nextUniform()
    }

    /// Standard normal sample (Box-Muller).
    public mutating func nextGaussian() -> Double {
        var u1 = nextUniform()
        while u1 <= .leastNormalMagnitude { u1 = nextUniform() }
        let u2 = nextUniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
