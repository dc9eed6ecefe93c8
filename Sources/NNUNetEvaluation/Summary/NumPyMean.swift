import NNUNetCore

/// numpy's float64 reductions, reproduced to the last bit so that means in `summary.json` equal v1's exactly.
enum NumPyMean {
    /// `np.sum` of a contiguous float64 array: numpy's pairwise summation (``NumPyReduction``).
    static func pairwiseSum(_ values: ArraySlice<Double>) -> Double {
        values.withUnsafeBufferPointer { NumPyReduction.sum($0) }
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
