/// The confusion matrix of one label in one case: voxel counts of test = (prediction == L) against
/// reference = (ground truth == L).
///
/// Port of v1 `evaluation/metrics.py` `ConfusionMatrix`. The "empty" and "full" flags that decide where metrics are
/// NaN follow from the counts: test empty ⇔ tp + fp = 0, test full ⇔ tp + fp = N (every voxel has label L), and
/// likewise for the reference with tp + fn.
public struct ConfusionCounts: Sendable, Equatable, Hashable {
    /// tp: voxels labelled L in both prediction and reference.
    public var truePositives: Int
    /// fp: voxels labelled L in the prediction only.
    public var falsePositives: Int
    /// tn: voxels labelled L in neither.
    public var trueNegatives: Int
    /// fn: voxels labelled L in the reference only.
    public var falseNegatives: Int

    /// Creates the counts.
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
    /// True when the prediction has no voxel labelled L (tp + fp = 0).
    public var isTestEmpty: Bool { testPositives == 0 }
    /// True when every voxel of the prediction is labelled L (tp + fp = N).
    public var isTestFull: Bool { testPositives == size }
    /// True when the reference has no voxel labelled L (tp + fn = 0).
    public var isReferenceEmpty: Bool { referencePositives == 0 }
    /// True when every voxel of the reference is labelled L (tp + fn = N).
    public var isReferenceFull: Bool { referencePositives == size }
}
