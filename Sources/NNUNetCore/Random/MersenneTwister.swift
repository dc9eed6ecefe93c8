/// NumPy's legacy `RandomState` generator (MT19937), bit for bit, for the few places where nnU-Net v1's results
/// depend on NumPy's random stream: the default cross-validation split (`KFold(shuffle=True, random_state=12345)`),
/// the random 80:20 split of folds beyond the split file, and the stored foreground locations of preprocessing.
///
/// Everything else in this package uses ``SeededGenerator``.
public struct MersenneTwister: Sendable {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624

    /// `numpy.random.RandomState(seed)` for an integer seed (`mt19937_seed`, i.e. `init_genrand`).
    public init(seed: UInt32) {
        state[0] = seed
        for i in 1..<624 {
            state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i)
        }
    }

    /// The next 32-bit output (`genrand_int32`).
    public mutating func nextUInt32() -> UInt32 {
        if index >= 624 { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func twist() {
        for i in 0..<624 {
            let y = (state[i] & 0x8000_0000) | (state[(i + 1) % 624] & 0x7FFF_FFFF)
            var next = state[(i + 397) % 624] ^ (y >> 1)
            if y & 1 != 0 { next ^= 0x9908_B0DF }
            state[i] = next
        }
        index = 0
    }

    /// A double in [0, 1) from 53 random bits (`random_sample`).
    public mutating func nextDouble() -> Double {
        let a = Double(nextUInt32() >> 5), b = Double(nextUInt32() >> 6)
        return (a * 67_108_864 + b) / 9_007_199_254_740_992
    }

    /// Uniform integer in 0...maximum by masked rejection (NumPy's `random_interval`, 32-bit path).
    public mutating func nextInterval(_ maximum: Int) -> Int {
        guard maximum > 0 else { return 0 }
        precondition(maximum <= Int(UInt32.max), "nextInterval supports 32-bit ranges")
        var mask = UInt32(maximum)
        mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4; mask |= mask >> 8; mask |= mask >> 16
        while true {
            let value = nextUInt32() & mask
            if value <= UInt32(maximum) { return Int(value) }
        }
    }

    /// Shuffles in place exactly as `RandomState.shuffle` does for a 1-D array (Fisher-Yates from the end).
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = nextInterval(i)
            array.swapAt(i, j)
        }
    }

    /// `RandomState.permutation(n)`.
    public mutating func permutation(_ n: Int) -> [Int] {
        var values = Array(0..<n)
        shuffle(&values)
        return values
    }

    /// `RandomState.choice(n, k, replace=False)`: the first k entries of `permutation(n)` (v1 draws the stored
    /// foreground locations of preprocessing this way).
    public mutating func choiceWithoutReplacement(_ n: Int, _ k: Int) -> [Int] {
        Array(permutation(n).prefix(k))
    }
}
