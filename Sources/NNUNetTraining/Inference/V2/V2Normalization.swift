import Foundation
import NNUNetCore

/// nnU-Net v2's intensity normalisation schemes, applied to one channel of the cropped, transposed case *before*
/// resampling (v2's order; v1 normalised after resampling).
///
/// Port of the behaviour of v2 `preprocessing/normalization/default_normalization_schemes.py` (target dtype
/// float32, eps 1e-8), with numpy's float32 arithmetic:
/// - `ZScoreNormalization`: `(x − mean) / max(std, eps)`; with `use_mask_for_norm` only inside the nonzero mask
///   (voxels outside keep their value), the statistics over the masked voxels in C order; otherwise over the whole
///   channel in the *memory order* of v2's array (the image file's order, see
///   ``zScoreStatistics(memoryOrder:runLength:)``). Sums are numpy's float32 pairwise sums.
/// - `CTNormalization`: `(clip(x, p0.5, p99.5) − mean) / max(std, eps)` with the plans' foreground statistics, each
///   rounded to float32 (numpy 2 treats the Python floats as weak scalars).
/// - `NoNormalization`: the values as float32.
/// - `RescaleTo01Normalization`: `(x − min) / max(max(x − min), eps)`.
/// - `RGBTo01Normalization`: `x / 255`, values must lie in 0 ... 255.
public enum V2Normalization {
    /// The scheme names this port implements.
    public static let supportedSchemes: [String] = [
        "ZScoreNormalization", "CTNormalization", "NoNormalization", "RescaleTo01Normalization", "RGBTo01Normalization",
    ]

    /// v2's epsilon for float32 targets.
    static let epsilon = Float(1e-8)

    /// Normalises one channel in place.
    ///
    /// - Parameters:
    ///   - values: the channel, cropped and transposed (C order of the preprocessed axes).
    ///   - scheme: the plans' `normalization_schemes[c]`.
    ///   - useMask: the plans' `use_mask_for_norm[c]` (ZScore only).
    ///   - mask: the nonzero mask of the same voxels (true inside).
    ///   - intensity: the plans' foreground statistics of the channel (CT only).
    ///   - memoryOrderStatistics: for unmasked ZScore, the channel's mean and standard deviation in numpy's memory
    ///     order (``zScoreStatistics(memoryOrder:runLength:)``); computed from `values` in their order when nil.
    ///   - channel: the channel index, for messages.
    ///   - plansFile: the plans, named in errors.
    /// - Throws: ``TrainingError/unusableModel(_:)`` for an unknown scheme, missing CT statistics or RGB values outside
    ///   0 ... 255.
    public static func apply(_ values: inout [Float], scheme: String, useMask: Bool, mask: [Bool],
                             intensity: V2IntensityProperties?,
                             memoryOrderStatistics: (mean: Float, std: Float)? = nil, channel: Int,
                             plansFile: String) throws {
        switch scheme {
        case "ZScoreNormalization":
            if useMask {
                var inside: [Float] = []
                inside.reserveCapacity(values.count)
                for i in values.indices where mask[i] { inside.append(values[i]) }
                let mean = NumPyReduction.mean(inside), std = NumPyReduction.standardDeviation(inside)
                let divisor = max(std, epsilon)
                for i in values.indices where mask[i] { values[i] = (values[i] - mean) / divisor }
            } else {
                let (mean, std) = memoryOrderStatistics
                    ?? (NumPyReduction.mean(values), NumPyReduction.standardDeviation(values))
                let divisor = max(std, epsilon)
                for i in values.indices { values[i] = (values[i] - mean) / divisor }
            }
        case "CTNormalization":
            func statistic(_ value: Double?, _ name: String) throws -> Float {
                guard let value, value.isFinite else {
                    throw TrainingError.unusableModel("'\(plansFile)': field 'foreground_intensity_properties_per_"
                                                      + "channel.\(channel).\(name)' is missing or not finite; "
                                                      + "CTNormalization needs it")
                }
                return Float(value)
            }
            let mean = try statistic(intensity?.mean, "mean"), std = try statistic(intensity?.std, "std")
            let lower = try statistic(intensity?.percentile00_5, "percentile_00_5")
            let upper = try statistic(intensity?.percentile99_5, "percentile_99_5")
            let divisor = max(std, epsilon)
            for i in values.indices { values[i] = (min(max(values[i], lower), upper) - mean) / divisor }
        case "NoNormalization":
            return
        case "RescaleTo01Normalization":
            guard let smallest = values.min() else { return }
            for i in values.indices { values[i] -= smallest }
            let divisor = max(values.max() ?? 0, epsilon)
            for i in values.indices { values[i] /= divisor }
        case "RGBTo01Normalization":
            if let smallest = values.min(), let largest = values.max(), smallest < 0 || largest > 255 {
                throw TrainingError.unusableModel("channel \(channel) is normalised with RGBTo01Normalization but its "
                                                  + "values span \(smallest) ... \(largest), not 0 ... 255")
            }
            for i in values.indices { values[i] /= 255 }
        default:
            throw TrainingError.unusableModel("'\(plansFile)': normalization scheme '\(scheme)' of channel \(channel) "
                                              + "is not supported (supported: "
                                              + supportedSchemes.joined(separator: ", ") + ")")
        }
    }

    /// numpy's `mean()` and `std()` of a float32 array view whose elements lie in memory in the order of
    /// `memoryOrder`.
    ///
    /// v2 normalises a transposed, cropped *view* of the image array; numpy reduces such a view in memory order. A
    /// dense view (no crop) is one contiguous run: one pairwise sum. A cropped view is summed by numpy's buffered
    /// iterator; `runLength` approximates it as consecutive pairwise sums over runs of whole memory-order planes of at
    /// most 8192 elements (numpy's buffer size), which matches numpy 2.4 in most but not all measured crops (otherwise
    /// the mean may differ in its last bit). The deviations `x − mean` form a new dense array, whose squares are one
    /// pairwise sum.
    ///
    /// - Parameters:
    ///   - memoryOrder: the view's values in memory order.
    ///   - runLength: elements per pairwise run of the mean's sum; nil for one run (a dense view).
    public static func zScoreStatistics(memoryOrder: [Float], runLength: Int?) -> (mean: Float, std: Float) {
        guard !memoryOrder.isEmpty else { return (.nan, .nan) }
        let count = Double(memoryOrder.count)
        var sum: Float = 0
        if let runLength, runLength < memoryOrder.count {
            memoryOrder.withUnsafeBufferPointer { buffer in
                var start = 0
                while start < buffer.count {
                    let end = min(start + runLength, buffer.count)
                    sum += NumPyReduction.sum(UnsafeBufferPointer(rebasing: buffer[start..<end]))
                    start = end
                }
            }
        } else {
            sum = NumPyReduction.sum(memoryOrder)
        }
        let mean = Float(Double(sum) / count)
        let squares = memoryOrder.map { value -> Float in
            let deviation = value - mean
            return deviation * deviation
        }
        let std = Float(Double(NumPyReduction.sum(squares)) / count).squareRoot()
        return (mean, std)
    }
}
