/// The metrics of one label in one case: metric name → value (NaN where undefined).
public struct LabelScores: Sendable, Equatable {
    /// The label as `summary.json` keys it (`"1"`).
    public var label: String
    /// Metric name (a ``SegmentationMetric``'s raw value or a surface metric name) → value.
    public var values: [String: Double]

    /// Creates the scores of one label.
    public init(label: String, values: [String: Double]) {
        self.label = label
        self.values = values
    }

    /// Equal labels and values, with NaN equal to NaN (unlike `Double`'s `==`).
    public static func == (lhs: LabelScores, rhs: LabelScores) -> Bool {
        lhs.label == rhs.label && lhs.values.count == rhs.values.count
            && lhs.values.allSatisfy { key, value in
                guard let other = rhs.values[key] else { return false }
                return value == other || (value.isNaN && other.isNaN)
            }
    }
}

/// One entry of `summary.json`'s `results.all`: the scores of every evaluated label, and the two file paths.
public struct CaseScores: Sendable, Equatable {
    /// Per label, in the order the labels were given.
    public var labels: [LabelScores]
    /// Path of the prediction (`test`), as given.
    public var test: String?
    /// Path of the reference, as given.
    public var reference: String?

    /// Creates one case's entry; `test` and `reference` are the file paths written to `summary.json`.
    public init(labels: [LabelScores], test: String? = nil, reference: String? = nil) {
        self.labels = labels
        self.test = test
        self.reference = reference
    }

    /// The scores of `label` (e.g. `"1"`).
    public subscript(label: String) -> LabelScores? { labels.first { $0.label == label } }
}
