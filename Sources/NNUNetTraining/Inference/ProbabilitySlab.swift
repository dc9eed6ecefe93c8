/// Finished class probabilities of consecutive rows (indices along axis 0) of a preprocessed case, lent to a consumer
/// while it runs: what ``SlidingWindowPredictor/forEachProbabilitySlab(_:channels:shape:_:)`` hands out.
///
/// A view, not a copy: the sliding window lends rows of its own aggregate, so a slab is only valid inside the closure
/// that receives it. Keep ``values`` (a copy) to use the probabilities later.
public struct ProbabilitySlab {
    /// The rows of the case this slab holds, ascending.
    public let rows: Range<Int>
    /// Classes K, background included.
    public let classCount: Int
    /// Values per row (y × x of the preprocessed case).
    public let plane: Int
    private let base: UnsafePointer<Float>
    private let classStride: Int

    /// A view of memory laid out as K blocks `classStride` values apart, each holding `rows.count` contiguous rows.
    init(rows: Range<Int>, classCount: Int, plane: Int, base: UnsafePointer<Float>, classStride: Int) {
        self.rows = rows
        self.classCount = classCount
        self.plane = plane
        self.base = base
        self.classStride = classStride
    }

    /// The `plane` values of class `k` in row `row` (C order).
    public func values(row: Int, class k: Int) -> UnsafeBufferPointer<Float> {
        precondition(rows.contains(row) && k >= 0 && k < classCount, "slab \(rows): no row \(row), class \(k)")
        return UnsafeBufferPointer(start: base + k * classStride + (row - rows.lowerBound) * plane, count: plane)
    }

    /// A copy of the slab, `[K, rows.count, y, x]` (C order).
    public var values: [Float] {
        var out: [Float] = []
        out.reserveCapacity(classCount * rows.count * plane)
        for k in 0..<classCount {
            out.append(contentsOf: UnsafeBufferPointer(start: base + k * classStride, count: rows.count * plane))
        }
        return out
    }

    /// Copies the slab into its rows of a whole `[K, depth, y, x]` array (C order).
    public func copy(into volume: inout [Float], depth: Int) {
        precondition(rows.upperBound <= depth && volume.count == classCount * depth * plane,
                     "ProbabilitySlab.copy: rows \(rows) into \(volume.count) values of depth \(depth)")
        volume.withUnsafeMutableBufferPointer { out in
            for k in 0..<classCount {
                (out.baseAddress! + k * depth * plane + rows.lowerBound * plane)
                    .update(from: base + k * classStride, count: rows.count * plane)
            }
        }
    }

    /// Lends `values` `[K, rows.count, plane]` (C order) as a slab to `body`.
    public static func lending<R>(_ values: [Float], rows: Range<Int>, classCount: Int,
                                  _ body: (ProbabilitySlab) throws -> R) rethrows -> R {
        precondition(!rows.isEmpty && classCount > 0 && values.count % (classCount * rows.count) == 0,
                     "ProbabilitySlab.lending: \(values.count) values for \(classCount) classes x rows \(rows)")
        let plane = values.count / (classCount * rows.count)
        return try values.withUnsafeBufferPointer {
            try body(ProbabilitySlab(rows: rows, classCount: classCount, plane: plane, base: $0.baseAddress!,
                                     classStride: rows.count * plane))
        }
    }
}
