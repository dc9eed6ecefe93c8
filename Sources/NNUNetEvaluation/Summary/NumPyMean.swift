/// numpy's float64 reductions, reproduced to the last bit so that means in `summary.json` equal v1's exactly.
enum NumPyMean {
    /// `np.sum` of a contiguous float64 array: numpy's pairwise summation (blocks of 8 partial sums up to 128
    /// elements, recursive halving above).
    static func pairwiseSum(_ values: ArraySlice<Double>) -> Double {
        let n = values.count, a = values.startIndex
        if n < 8 {
            var sum = -0.0
            for i in 0..<n { sum += values[a + i] }
            return sum
        }
        if n <= 128 {
            var r = (0..<8).map { values[a + $0] }
            var i = 8
            while i < n - n % 8 {
                for j in 0..<8 { r[j] += values[a + i + j] }
                i += 8
            }
            var sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            while i < n { sum += values[a + i]; i += 1 }
            return sum
        }
        var half = n / 2
        half -= half % 8
        return pairwiseSum(values[a..<(a + half)]) + pairwiseSum(values[(a + half)...])
    }

    /// `float(np.nanmean(values))`: NaNs replaced by 0 and summed, divided by the count of non-NaN values; NaN when
    /// every value is NaN (or there are none).
    static func nanmean(_ values: [Double]) -> Double {
        let count = values.reduce(0) { $0 + ($1.isNaN ? 0 : 1) }
        guard count > 0 else { return .nan }
        return pairwiseSum(values.map { $0.isNaN ? 0 : $0 }[...]) / Double(count)
    }

    /// `np.mean(values)`.
    static func mean(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        return pairwiseSum(values[...]) / Double(values.count)
    }
}
