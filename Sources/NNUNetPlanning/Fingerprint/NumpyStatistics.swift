/// numpy's `median` and `percentile` (method "linear"), reproduced operation by operation so that planning inputs
/// (median spacings, percentiles of float32-widened pixdims: float64 arrays) and the CT intensity statistics
/// (float32 arrays) match v1 bit for bit.
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

    /// `np.median` of a float32 array, given its values sorted ascending (no NaN): the middle value, or the float32
    /// mean of the two middle values (`(a + b) / 2` in float32). NaN for no values.
    public static func median(sorted s: [Float]) -> Float {
        guard !s.isEmpty else { return .nan }
        let n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }

    /// `np.percentile(values, q)` (linear) of a float32 array with a Python float `q`, given the values sorted
    /// ascending (no NaN), as numpy 2 computes it: the virtual index `(n − 1) · (q / 100)` and its fraction `t` in
    /// float64; `t` is a weak Python float, so the lerp is float32 (`a + (b − a) · float32(t)`, or for `t ≥ 0.5`
    /// `b − (b − a) · float32(1 − t)`). An index at or past the last value takes the last value. NaN for no values.
    public static func percentile(sorted s: [Float], _ q: Double) -> Float {
        guard !s.isEmpty else { return .nan }
        let n = s.count
        let virtualIndex = Double(n - 1) * (q / 100)
        if virtualIndex >= Double(n - 1) { return s[n - 1] }
        if virtualIndex < 0 { return s[0] }
        let previous = virtualIndex.rounded(.down)
        let lower = Int(previous)
        let t = virtualIndex - previous
        let a = s[lower], b = s[lower + 1], diff = b - a
        return t >= 0.5 ? b - diff * Float(1 - t) : a + diff * Float(t)
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
