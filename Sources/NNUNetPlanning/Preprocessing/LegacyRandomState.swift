/// numpy's legacy `RandomState` (MT19937) as far as v1's preprocessing uses it: seeding with an integer and
/// `choice(n, k, replace=False)` (= the first k entries of `permutation(n)`).
///
/// v1 draws the stored foreground locations with `np.random.RandomState(1234)`; reproducing the stream makes our
/// `class_locations` identical to v1's, so oversampling picks the same voxels for the same random draws.
struct LegacyRandomState {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624

    /// `RandomState(seed)` for a 32-bit seed (MT19937 `init_genrand`).
    init(seed: UInt32) {
        state[0] = seed
        for i in 1..<624 {
            let previous = state[i - 1]
            state[i] = 1_812_433_253 &* (previous ^ (previous >> 30)) &+ UInt32(i)
        }
    }

    /// The next 32-bit output (`genrand_int32`).
    mutating func nextUInt32() -> UInt32 {
        if index >= 624 {
            for i in 0..<624 {
                let y = (state[i] & 0x8000_0000) | (state[(i + 1) % 624] & 0x7FFF_FFFF)
                var next = state[(i + 397) % 624] ^ (y >> 1)
                if y & 1 != 0 { next ^= 0x9908_B0DF }
                state[i] = next
            }
            index = 0
        }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// A uniform integer in 0...max by masked rejection (numpy `random_interval`, 32-bit path).
    mutating func interval(_ max: UInt32) -> UInt32 {
        if max == 0 { return 0 }
        var mask = max
        mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4; mask |= mask >> 8; mask |= mask >> 16
        while true {
            let value = nextUInt32() & mask
            if value <= max { return value }
        }
    }

    /// `choice(n, k, replace=False)`: the first k entries of a Fisher-Yates shuffle of 0..<n.
    mutating func choiceWithoutReplacement(_ n: Int, _ k: Int) -> [Int] {
        var values = Array(0..<n)
        var i = n - 1
        while i >= 1 {
            let j = Int(interval(UInt32(i)))
            values.swapAt(i, j)
            i -= 1
        }
        return Array(values.prefix(k))
    }
}
