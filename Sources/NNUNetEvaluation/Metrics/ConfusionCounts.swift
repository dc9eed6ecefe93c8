/// The confusion matrix of one label in one case: voxel counts of test = (prediction == L) against
/// reference = (ground truth == L).
///
/// Port of v1 `evaluation/metrics.py` `ConfusionMatrix`. The "empty" and "full" flags that decide where metrics are
/// NaN follow from the counts: test empty ⇔ tp + fp = 0, test full ⇔ tp + fp = N (every voxel has label L), and
/// likewise for the reference with tp + fn.
public struct ConfusionCounts: Sendable, Equatable, Hashable {
    public var truePositives: Int
    public var falsePositives: Int
    public var trueNegatives: Int
    public var falseNegatives: Int

    public init(truePositives: Int, falsePositives: Int, trueNegatives: Int, falseNegatives: Int) {
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.trueNegatives = trueNegatives
        self.falseNegatives = falseNegatives
    }

    /// Number of voxels N.
    public var size: Int { truePositives + falsePositives + trueNegatives + falseNegatives }
    /// Voxels labelled L in the prediction (v1 "Total Positives Test").
    public var testPositives: Int { truePositives + falsePositives }
    /// Voxels labelled L in the reference (v1 "Total Positives Reference").
    public var referencePositives: Int { truePositives + falseNegatives }
    public var isTestEmpty: Bool { testPositives == 0 }
    public var isTestFull: Bool { testPositives == size }
    public var isReferenceEmpty: Bool { referencePositives == 0 }
    public var isReferenceFull: Bool { referencePositives == size }
}
