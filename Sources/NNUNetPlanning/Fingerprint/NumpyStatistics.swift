/// numpy's `median` and `percentile` (method "linear"), reproduced operation by operation so that planning inputs
/// (median spacings, percentiles of float32-widened pixdims) match v1 bit for bit.
public enum NumpyStatistics {
    /// `np.median`: the middle value, or the mean `(a + b) / 2` of the two middle values. NaN for no values.
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let s = values.sorted(), n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }

    /// `np.percentile(values, q)` with linear interpolation, including numpy's two-sided lerp
    /// (`b - (b - a)(1 - t)` for `t ≥ 0.5`). NaN for no values.
    public static func percentile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let s = values.sorted(), n = s.count
        let quantile = q / 100
        let virtualIndex = Double(n - 1) * quantile  // numpy's 'linear' method: (n - 1) q
        let clamped = min(max(virtualIndex, 0), Double(n - 1))
        let previous = clamped.rounded(.down)
        let lower = Int(previous), upper = min(lower + 1, n - 1)
        let t = clamped - previous
        let a = s[lower], b = s[upper], diff = b - a
        return t >= 0.5 ? b - diff * (1 - t) : a + diff * t
    }

    /// Per-axis `percentile` of rows (`np.percentile(np.vstack(rows), q, 0)`).
    public static func percentile(rows: [[Double]], _ q: Double) -> [Double] {
        guard let width = rows.first?.count else { return [] }
        return (0..<width).map { axis in percentile(rows.map { $0[axis] }, q) }
    }

    /// Per-axis `median` of rows.
    public static func median(rows: [[Double]]) -> [Double] {
        guard let width = rows.first?.count else { return [] }
        return (0..<width).map { axis in median(rows.map { $0[axis] }) }
    }

    /// `np.round` (ties to even).
    public static func round(_ value: Double) -> Int { Int(value.rounded(.toNearestOrEven)) }
}
