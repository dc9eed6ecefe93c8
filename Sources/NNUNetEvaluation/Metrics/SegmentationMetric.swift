/// The per-label metrics of nnU-Net v1's evaluator, computed from a ``ConfusionCounts``.
///
/// Port of v1 `evaluation/metrics.py` (with `nan_for_nonexisting=True`, the evaluator's default). The raw value is
/// the key written to `summary.json`. Formulas and NaN rules (reference sheet §10):
///
/// | metric | formula | NaN when |
/// |---|---|---|
/// | Dice | 2tp / (2tp + fp + fn) | test and reference both empty |
/// | Jaccard | tp / (tp + fp + fn) | both empty |
/// | Precision | tp / (tp + fp) | test empty |
/// | Recall | tp / (tp + fn) | reference empty |
/// | True Negative Rate | tn / (tn + fp) | reference full |
/// | False Positive Rate | 1 − TNR | reference full |
/// | False Negative Rate | 1 − Recall | reference empty |
/// | False Discovery Rate | 1 − Precision | test empty |
/// | False Omission Rate | fn / (fn + tn) | test full |
/// | Negative Predictive Value | 1 − FOR | test full |
/// | Accuracy | (tp + tn) / N | never |
/// | Total Positives Test / Reference | tp + fp / tp + fn | never (written as integers per case) |
///
/// The operations happen in v1's order (e.g. FPR is `1 - tn / (tn + fp)`), so values agree with v1 to the last bit.
public enum SegmentationMetric: String, CaseIterable, Sendable, Comparable {
    /// (tp + tn) / N; never NaN.
    case accuracy = "Accuracy"
    /// 2tp / (2tp + fp + fn); NaN when prediction and reference are both empty.
    case dice = "Dice"
    /// 1 − Precision; NaN when the prediction is empty.
    case falseDiscoveryRate = "False Discovery Rate"
    /// 1 − Recall; NaN when the reference is empty.
    case falseNegativeRate = "False Negative Rate"
    /// fn / (fn + tn); NaN when the prediction is full.
    case falseOmissionRate = "False Omission Rate"
    /// 1 − True Negative Rate; NaN when the reference is full.
    case falsePositiveRate = "False Positive Rate"
    /// tp / (tp + fp + fn); NaN when prediction and reference are both empty.
    case jaccard = "Jaccard"
    /// 1 − False Omission Rate; NaN when the prediction is full.
    case negativePredictiveValue = "Negative Predictive Value"
    /// tp / (tp + fp); NaN when the prediction is empty.
    case precision = "Precision"
    /// tp / (tp + fn); NaN when the reference is empty.
    case recall = "Recall"
    /// tp + fn: voxels labelled L in the reference; never NaN.
    case totalPositivesReference = "Total Positives Reference"
    /// tp + fp: voxels labelled L in the prediction; never NaN.
    case totalPositivesTest = "Total Positives Test"
    /// tn / (tn + fp); NaN when the reference is full.
    case trueNegativeRate = "True Negative Rate"

    /// v1's `Evaluator.default_metrics`, in the (alphabetical) order the evaluator computes and writes them.
    public static let v1Defaults: [SegmentationMetric] = allCases.sorted()

    /// Orders metrics by their `summary.json` key, alphabetically (v1's order).
    public static func < (lhs: SegmentationMetric, rhs: SegmentationMetric) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Whether v1 writes the per-case value as an integer (the totals).
    public var isCount: Bool { self == .totalPositivesTest || self == .totalPositivesReference }

    /// The value for one label of one case (NaN where v1 gives NaN).
    public func value(for counts: ConfusionCounts) -> Double {
        let tp = counts.truePositives, fp = counts.falsePositives, tn = counts.trueNegatives,
            fn = counts.falseNegatives
        switch self {
        case .dice:
            return counts.isTestEmpty && counts.isReferenceEmpty ? .nan : 2.0 * Double(tp) / Double(2 * tp + fp + fn)
        case .jaccard:
            return counts.isTestEmpty && counts.isReferenceEmpty ? .nan : Double(tp) / Double(tp + fp + fn)
        case .precision:
            return counts.isTestEmpty ? .nan : Double(tp) / Double(tp + fp)
        case .recall:
            return counts.isReferenceEmpty ? .nan : Double(tp) / Double(tp + fn)
        case .trueNegativeRate:
            return counts.isReferenceFull ? .nan : Double(tn) / Double(tn + fp)
        case .falsePositiveRate:
            return 1 - SegmentationMetric.trueNegativeRate.value(for: counts)
        case .falseNegativeRate:
            return 1 - SegmentationMetric.recall.value(for: counts)
        case .falseDiscoveryRate:
            return 1 - SegmentationMetric.precision.value(for: counts)
        case .falseOmissionRate:
            return counts.isTestFull ? .nan : Double(fn) / Double(fn + tn)
        case .negativePredictiveValue:
            return 1 - SegmentationMetric.falseOmissionRate.value(for: counts)
        case .accuracy:
            return Double(tp + tn) / Double(tp + fp + tn + fn)
        case .totalPositivesTest:
            return Double(tp + fp)
        case .totalPositivesReference:
            return Double(tp + fn)
        }
    }
}
