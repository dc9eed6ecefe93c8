/// Intensity normalisation of one channel after resampling (reference sheet §5.2).
///
/// Port of v1 `preprocessing/preprocessing.py` `GenericPreprocessor.resample_and_normalize` (normalisation part).
/// Arithmetic is float32 as in v1 (`(x − mean) / (std + 1e-8)` with float32 mean and std); mean and std themselves
/// are accumulated in Double. CT: `(clip(x, percentile_00_5, percentile_99_5) − mean) / sd` in float32 with the
/// fingerprint's statistics, which are float32 values (v1's `np.float32` scalars; numpy 2.4 keeps the whole
/// expression float32), so the result equals v1's bit for bit.
public enum Normalization {
    /// Checks that every modality of `plans` can be normalised: a `CT` modality needs the pooled foreground
    /// statistics of the fingerprint (`dataset_properties.intensityproperties[c]`: `mean`, `sd`, `percentile_00_5`,
    /// `percentile_99_5`, finite, `sd` > 0). v1's `CT2` scheme is refused rather than treated as another scheme.
    ///
    /// - Parameters:
    ///   - plans: the plans to check.
    ///   - source: the plans file, named in the error.
    /// - Throws: ``PlanningError/unusableNormalization(plans:modality:reason:)``.
    public static func checkStatistics(of plans: Plans, source: String) throws {
        for c in 0..<plans.numModalities {
            let scheme = plans.normalizationSchemes[c] ?? "nonCT"
            if scheme == "CT2" {
                throw PlanningError.unusableNormalization(
                    plans: source, modality: c, reason: "the scheme 'CT2' (ExperimentPlannerCT2) is not supported; "
                        + "re-plan with the default planner, which uses 'CT'")
            }
            guard scheme == "CT" else { continue }
            guard let properties = plans.datasetProperties else {
                throw PlanningError.unusableNormalization(
                    plans: source, modality: c,
                    reason: "it is normalised as CT but the plans hold no 'dataset_properties'")
            }
            guard let statistics = properties.intensityProperties?[c]?.pooled else {
                throw PlanningError.unusableNormalization(
                    plans: source, modality: c,
                    reason: "it is normalised as CT but 'dataset_properties.intensityproperties' has no entry \(c)")
            }
            let fields: [(String, Double?)] = [("mean", statistics.mean), ("sd", statistics.sd),
                                               ("percentile_00_5", statistics.percentile00_5),
                                               ("percentile_99_5", statistics.percentile99_5)]
            for (name, value) in fields where !(value?.isFinite ?? false) {
                throw PlanningError.unusableNormalization(
                    plans: source, modality: c,
                    reason: "'dataset_properties.intensityproperties.\(c).\(name)' is missing or not finite")
            }
            if let sd = statistics.sd, sd <= 0 {
                throw PlanningError.unusableNormalization(
                    plans: source, modality: c, reason: "'dataset_properties.intensityproperties.\(c).sd' is \(sd)")
            }
        }
    }

    /// - Parameters:
    ///   - values: one channel (modified in place).
    ///   - segmentation: the resampled label map (−1 outside the nonzero region).
    ///   - scheme: `CT`, `noNorm`, or anything else (nonCT).
    ///   - useMask: restrict to the nonzero region (`seg ≥ 0`) and zero the outside (nonCT), or zero `seg < 0` (CT).
    ///   - intensity: the pooled foreground statistics of this modality (CT only).
    /// - Precondition: for `CT`, `intensity` holds finite `mean`, `sd`, `percentile_00_5` and `percentile_99_5`
    ///   (``checkStatistics(of:source:)`` checks plans for this; ``Preprocessor`` does so when it is created).
    public static func apply(_ values: inout [Float], segmentation: [Float], scheme: String, useMask: Bool,
                             intensity: IntensityStatistics?) {
        switch scheme {
        case "CT":
            guard let lowerBound = intensity?.percentile00_5, let upperBound = intensity?.percentile99_5,
                  let meanValue = intensity?.mean, let sdValue = intensity?.sd else {
                preconditionFailure("CT normalisation needs the modality's intensity statistics "
                                    + "(Normalization.checkStatistics(of:source:) refuses such plans)")
            }
            let lower = Float(lowerBound), upper = Float(upperBound)
            let mean = Float(meanValue), sd = Float(sdValue)
            for i in values.indices {
                values[i] = (min(max(values[i], lower), upper) - mean) / sd
                if useMask && segmentation[i] < 0 { values[i] = 0 }
            }
        case "noNorm":
            return
        default:
            if useMask {
                var sum = 0.0, count = 0
                for i in values.indices where segmentation[i] >= 0 { sum += Double(values[i]); count += 1 }
                let mean = count > 0 ? sum / Double(count) : 0
                var squares = 0.0
                for i in values.indices where segmentation[i] >= 0 {
                    let d = Double(values[i]) - mean
                    squares += d * d
                }
                let std = count > 0 ? (squares / Double(count)).squareRoot() : 0
                let m = Float(mean), s = Float(std) + Float(1e-8)
                for i in values.indices { values[i] = segmentation[i] >= 0 ? (values[i] - m) / s : 0 }
            } else {
                let mean = values.reduce(0.0) { $0 + Double($1) } / Double(max(values.count, 1))
                let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) }
                    / Double(max(values.count, 1))
                let m = Float(mean), s = Float(variance.squareRoot()) + Float(1e-8)
                for i in values.indices { values[i] = (values[i] - m) / s }
            }
        }
    }
}
