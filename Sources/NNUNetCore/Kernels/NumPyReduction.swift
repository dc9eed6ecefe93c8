/// numpy's sum, mean and standard deviation of a contiguous 1-D float32 or float64 array, reproduced operation by
/// operation so that statistics equal numpy's (and so nnU-Net v1's) to the last bit.
///
/// What numpy (checked against 2.4) does, and what is reproduced here:
/// - `np.add.reduce` starts from +0.0 and adds numpy's pairwise sum of the whole array, in the array's own dtype: for
///   float32 the eight partial sums and every addition are float32. A contiguous array that needs no cast reaches the
///   inner loop in one piece (the buffered iterator grows the inner loop), so there is no blocking by buffer size.
/// - `np.mean`: that sum divided by the count, which is an `np.intp`; float32 / intp promotes to float64, and the
///   quotient is rounded back to the array's dtype.
/// - `np.std` (ddof 0): the deviations `x - mean` and their squares are computed in the array's dtype, summed as
///   above, divided by the count in float64, rounded back, and the square root is taken in the array's dtype.
package enum NumPyReduction {
    /// `np.sum` of a contiguous float32 array (float32 pairwise summation).
    package static func sum(_ values: UnsafeBufferPointer<Float>) -> Float { 0 + pairwise(values) }

    /// `np.sum` of a contiguous float64 array (float64 pairwise summation).
    package static func sum(_ values: UnsafeBufferPointer<Double>) -> Double { 0 + pairwise(values) }

    /// `np.sum` of a float32 array.
    package static func sum(_ values: [Float]) -> Float { values.withUnsafeBufferPointer { sum($0) } }

    /// `np.sum` of a float64 array.
    package static func sum(_ values: [Double]) -> Double { values.withUnsafeBufferPointer { sum($0) } }

    /// `np.mean` of a float32 array: `float32(float64(sum) / n)`. NaN for no values.
    package static func mean(_ values: [Float]) -> Float {
        guard !values.isEmpty else { return .nan }
        return Float(Double(sum(values)) / Double(values.count))
    }

    /// `np.mean` of a float64 array. NaN for no values.
    package static func mean(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        return sum(values) / Double(values.count)
    }

    /// `np.std` (population, ddof 0) of a float32 array, with the float32 mean ``mean(_:)-(Float)``. NaN for no values.
    package static func standardDeviation(_ values: [Float]) -> Float {
        guard !values.isEmpty else { return .nan }
        let mean = mean(values)
        let squares = values.map { v -> Float in
            let d = v - mean
            return d * d
        }
        return Float(Double(sum(squares)) / Double(values.count)).squareRoot()
    }

    /// numpy's `pairwise_sum` (`loops_utils.h`): below 8 elements a plain loop from 0; up to 128 elements eight
    /// interleaved partial sums combined as `((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))` plus the remainder;
    /// above that, recursive halving at a multiple of 8. Every operation in `T`.
    @inline(__always)
    private static func pairwise<T: BinaryFloatingPoint>(_ values: UnsafeBufferPointer<T>) -> T {
        pairwise(values.baseAddress, values.count)
    }

    private static func pairwise<T: BinaryFloatingPoint>(_ base: UnsafePointer<T>?, _ n: Int) -> T {
        guard let a = base, n > 0 else { return 0 }
        if n < 8 {
            var sum: T = 0
            for i in 0..<n { sum += a[i] }
            return sum
        }
        if n <= 128 {
            var r0 = a[0], r1 = a[1], r2 = a[2], r3 = a[3], r4 = a[4], r5 = a[5], r6 = a[6], r7 = a[7]
            var i = 8
            while i < n - n % 8 {
                r0 += a[i]; r1 += a[i + 1]; r2 += a[i + 2]; r3 += a[i + 3]
                r4 += a[i + 4]; r5 += a[i + 5]; r6 += a[i + 6]; r7 += a[i + 7]
                i += 8
            }
            var sum = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
            while i < n { sum += a[i]; i += 1 }
            return sum
        }
        var half = n / 2
        half -= half % 8
        return pairwise(a, half) + pairwise(a + half, n - half)
    }
}
