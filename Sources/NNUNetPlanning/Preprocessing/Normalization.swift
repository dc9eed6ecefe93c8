/// Intensity normalisation of one channel after resampling (reference sheet §5.2).
///
/// Port of v1 `preprocessing/preprocessing.py` `GenericPreprocessor.resample_and_normalize` (normalisation part).
/// Arithmetic is float32 as in v1 (`(x − mean) / (std + 1e-8)` with float32 mean and std); mean and std themselves
/// are accumulated in Double.
public enum Normalization {
    /// - Parameters:
    ///   - values: one channel (modified in place).
    ///   - segmentation: the resampled label map (−1 outside the nonzero region).
    ///   - scheme: `CT`, `noNorm`, or anything else (nonCT).
    ///   - useMask: restrict to the nonzero region (`seg ≥ 0`) and zero the outside (nonCT), or zero `seg < 0` (CT).
    ///   - intensity: the pooled foreground statistics of this modality (CT only).
    public static func apply(_ values: inout [Float], segmentation: [Float], scheme: String, useMask: Bool,
                             intensity: IntensityStatistics?) {
        switch scheme {
        case "CT":
            let lower = Float(intensity?.percentile00_5 ?? -.infinity), upper = Float(intensity?.percentile99_5 ?? .infinity)
            let mean = Float(intensity?.mean ?? 0), sd = Float(intensity?.sd ?? 1)
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
