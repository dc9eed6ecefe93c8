import Foundation
import NNUNetCore
import NNUNetPlanning

/// Exports class probabilities that arrive in slabs along the first (preprocessed) axis, as
/// ``SlidingWindowPredictor/forEachProbabilitySlab(_:channels:shape:_:)`` produces them, into the label map in the
/// input's geometry (v1 `save_segmentation_nifti_from_softmax`, reference sheet §9.4), without ever holding the
/// probability volume.
///
/// In the normal mode every output slice (transposed cropped space, axis 0) is computed as soon as the input slices it
/// needs have arrived: each class is resampled for that slice only (NNUNetCore's `Resampling.ProbabilitySliceResampler`: order 1,
/// with v1's separate-z rule), folded into a running argmax, and the labels go straight to their place in the
/// original-size label volume (uint8 until ``finish()``; transposed back, crop box undone). Only the last input slice
/// of the previous slab is kept (linear interpolation along axis 0 may blend it with the next one). So export memory
/// is a quarter of the output volume in float32 plus a few slices until ``finish()`` returns the float label volume,
/// and the result is bit-identical to resampling every class channel whole. With `keepingProbabilities`
/// (v1 `--save_npz`) the resampled probabilities are also kept: K × the cropped volume.
///
/// Cases the slice-wise path does not cover fall back to whole-volume export of the collected probabilities (costs
/// K × the preprocessed volume): a separate-z axis other than the first preprocessed axis. The `fast` and `fastest`
/// modes keep the argmax of each slab (one label volume in preprocessed space) and resample labels at the end.
///
/// ```swift
/// var exporter = ProbabilitySlabExporter(classCount: 3, shape: spatial, properties: properties,
///                                        transposeForward: plans.transposeForward,
///                                        transposeBackward: plans.transposeBackward)
/// predictor.forEachProbabilitySlab(data, channels: 1, shape: spatial) { exporter.consume($0) }
/// let labels = exporter.finish().labels
/// ```
public struct ProbabilitySlabExporter {
    /// Classes K, background included.
    public let classCount: Int
    /// The preprocessed spatial shape (z, y, x) the slabs tile.
    public let shape: [Int]
    /// The case's preprocessing properties (crop box, sizes, spacings, ITK geometry).
    public let properties: PreprocessedCaseProperties
    /// v1 `--mode`.
    public let mode: SegmentationExporter.Mode
    /// Whether the resampled probabilities are kept (v1 `--save_npz`).
    public let keepsProbabilities: Bool
    /// Threads for the resampling kernels.
    public var threads: Int

    private let transposeForward: [Int], transposeBackward: [Int]
    private let strategy: Strategy
    /// Output slices (transposed cropped space) are `target`; `target[0]` of them.
    private let target: [Int]
    /// Rows received so far (slabs arrive in order).
    private var received = 0
    /// The next output slice to compute.
    private var nextSlice = 0
    /// The labels at the original size, C order (slice-wise export).
    private var labelMap: [UInt8]
    /// The collected probabilities (whole-volume fallback) or preprocessed-space labels (fast modes).
    private var buffer: [Float]
    /// Resampled probabilities `[K, cropped z, y, x]` in the image's axis order, when kept.
    private var kept: [Float]
    /// The last input slice of the previous slab: `[K, y, x]` and its index.
    private var carried: (row: Int, values: [Float])?
    /// Full-volume index of transposed-space position (j, a, b) = `base + j·s0 + a·s1 + b·s2`; likewise for `kept`.
    private let labelOffset: (base: Int, strides: [Int]), keptStrides: [Int]

    private enum Strategy {
        case slices(Resampling.ProbabilitySliceResampler)
        case wholeVolume
        case argmaxFirst
    }

    /// - Parameters:
    ///   - classCount: K, background included.
    ///   - shape: the preprocessed spatial shape (z, y, x) of the probabilities.
    ///   - properties: the case's preprocessing properties.
    ///   - transposeForward: the plans' `transpose_forward`.
    ///   - transposeBackward: the plans' `transpose_backward`.
    ///   - mode: v1 `--mode` (default `normal`).
    ///   - keepingProbabilities: also keep the resampled probabilities (normal mode only).
    ///   - threads: threads for the resampling kernels.
    public init(classCount: Int, shape: [Int], properties: PreprocessedCaseProperties, transposeForward: [Int],
                transposeBackward: [Int], mode: SegmentationExporter.Mode = .normal,
                keepingProbabilities: Bool = false, threads: Int = ThreadSettings.defaultThreads) {
        precondition(shape.count == 3, "ProbabilitySlabExporter: 3D shape expected, got \(shape)")
        precondition(mode == .normal || !keepingProbabilities, "the \(mode) mode keeps no probabilities")
        self.classCount = classCount
        self.shape = shape
        self.properties = properties
        self.mode = mode
        self.keepsProbabilities = keepingProbabilities
        self.threads = threads
        self.transposeForward = transposeForward
        self.transposeBackward = transposeBackward
        let cropping = properties.cropping
        target = transposeForward.map { cropping.sizeAfterCropping[$0] }
        let axis = Preprocessor.separateAxis(originalSpacing: cropping.originalSpacing,
                                             targetSpacing: properties.spacingAfterResampling)
        let strategy: Strategy
        if mode != .normal {
            strategy = .argmaxFirst
        } else if let resampler = Resampling.ProbabilitySliceResampler(shape: shape, newShape: target,
                                                                       separateAxis: axis) {
            strategy = .slices(resampler)
        } else {
            strategy = .wholeVolume
        }
        self.strategy = strategy
        // Transposed position p goes to image position o with o[k] = p[transposeBackward[k]].
        let original = cropping.originalSizeOfRawData, cropped = cropping.sizeAfterCropping
        let fullStrides = [original[1] * original[2], original[2], 1]
        let croppedStrides = [cropped[1] * cropped[2], cropped[2], 1]
        var labelStrides = [0, 0, 0], keptStrides = [0, 0, 0]
        for k in 0..<3 {
            labelStrides[transposeBackward[k]] = fullStrides[k]
            keptStrides[transposeBackward[k]] = croppedStrides[k]
        }
        labelOffset = ((0..<3).reduce(0) { $0 + cropping.cropBBox[$1][0] * fullStrides[$1] }, labelStrides)
        self.keptStrides = keptStrides
        precondition(classCount <= 256, "ProbabilitySlabExporter: \(classCount) classes do not fit uint8 labels")
        labelMap = []
        buffer = []
        switch strategy {
        case .slices: labelMap = [UInt8](repeating: 0, count: original.reduce(1, *))
        case .wholeVolume: buffer = [Float](repeating: 0, count: classCount * shape.reduce(1, *))
        case .argmaxFirst: buffer = [Float](repeating: 0, count: shape.reduce(1, *))
        }
        self.kept = keepingProbabilities && !Self.isWholeVolume(strategy)
            ? [Float](repeating: 0, count: classCount * cropped.reduce(1, *)) : []
    }

    private static func isWholeVolume(_ strategy: Strategy) -> Bool {
        if case .wholeVolume = strategy { return true }
        return false
    }

    /// Bytes this exporter holds now (output labels, kept probabilities, carried slice, collected data); for
    /// nnunet-benchmark's memory figures.
    package var bufferBytes: Int { labelMap.count + 4 * (buffer.count + kept.count + (carried?.values.count ?? 0)) }

    /// Takes the next slab of the preprocessed probabilities, `slab` `[K, rows.count, y, x]` (C order).
    ///
    /// Slabs must arrive in order and cover `0..<shape[0]` exactly once.
    public mutating func consume(_ slab: [Float], rows: Range<Int>) {
        ProbabilitySlab.lending(slab, rows: rows, classCount: classCount) { consume($0) }
    }

    /// Takes the next slab of the preprocessed probabilities (as lent by the sliding window).
    ///
    /// Slabs must arrive in order and cover `0..<shape[0]` exactly once.
    public mutating func consume(_ slab: ProbabilitySlab) {
        let rows = slab.rows, plane = shape[1] * shape[2]
        precondition(rows.lowerBound == received && rows.upperBound <= shape[0] && slab.classCount == classCount
                     && slab.plane == plane,
                     "ProbabilitySlabExporter: slab \(rows) of \(slab.classCount) x \(slab.plane) after \(received) "
                     + "rows of \(classCount) x \(shape)")
        switch strategy {
        case .slices(let resampler):
            exportSlices(slab, resampler: resampler)
        case .wholeVolume:
            slab.copy(into: &buffer, depth: shape[0])
        case .argmaxFirst:
            // v1's fast modes: argmax (first maximum) in preprocessed space.
            for row in rows {
                let classes = (0..<classCount).map { slab.values(row: row, class: $0) }
                for i in 0..<plane {
                    var best = classes[0][i], label = 0
                    for k in 1..<classCount where classes[k][i] > best {
                        best = classes[k][i]
                        label = k
                    }
                    buffer[row * plane + i] = Float(label)
                }
            }
        }
        received = rows.upperBound
    }

    /// Computes every output slice whose input slices have arrived.
    private mutating func exportSlices(_ slab: ProbabilitySlab, resampler: Resampling.ProbabilitySliceResampler) {
        let rows = slab.rows, plane = shape[1] * shape[2], slicePlane = target[1] * target[2]
        let croppedVolume = properties.cropping.sizeAfterCropping.reduce(1, *)
        let best = UnsafeMutablePointer<Float>.allocate(capacity: slicePlane)
        let values = UnsafeMutablePointer<Float>.allocate(capacity: slicePlane)
        defer { best.deallocate(); values.deallocate() }
        let carriedRow = carried?.row ?? -1, carriedValues = carried?.values ?? []
        let (classes, target, threads, keeps) = (classCount, self.target, self.threads, keepsProbabilities)
        let (labelOffset, keptStrides) = (self.labelOffset, self.keptStrides)
        var labels = [UInt8](repeating: 0, count: slicePlane)
        var next = nextSlice
        carriedValues.withUnsafeBufferPointer { carriedBuffer in
            // Class k of input slice `row`: in this slab, or the carried last slice of the previous one.
            func slice(_ row: Int, _ k: Int) -> UnsafePointer<Float> {
                if row >= rows.lowerBound { return slab.values(row: row, class: k).baseAddress! }
                precondition(row == carriedRow, "ProbabilitySlabExporter: input slice \(row) is gone")
                return carriedBuffer.baseAddress! + k * plane
            }
            while next < target[0] {
                let (low, high) = resampler.sources(ofSlice: next)
                guard max(low, high) < rows.upperBound else { break }
                best.update(repeating: -.infinity, count: slicePlane)
                for i in 0..<slicePlane { labels[i] = 0 }
                for k in 0..<classes {
                    let resampled: UnsafePointer<Float>
                    if resampler.copiesSlices {
                        resampled = slice(low, k)
                    } else {
                        resampler.resample(slice: next, low: slice(low, k), high: slice(high, k), into: values,
                                           threads: threads)
                        resampled = UnsafePointer(values)
                    }
                    for i in 0..<slicePlane where resampled[i] > best[i] {
                        best[i] = resampled[i]
                        labels[i] = UInt8(k)
                    }
                    if keeps {
                        Self.scatter(resampled, slice: next, target: target, into: &kept, base: k * croppedVolume,
                                     strides: keptStrides)
                    }
                }
                Self.scatter(labels, slice: next, target: target, into: &labelMap, base: labelOffset.base,
                             strides: labelOffset.strides)
                next += 1
            }
        }
        nextSlice = next
        // Linear interpolation along axis 0 may still blend the last slice of this slab into the next output slice.
        carried = nil
        if next < target[0] {
            let (low, high) = resampler.sources(ofSlice: next)
            if min(low, high) < rows.upperBound {
                precondition(min(low, high) == rows.upperBound - 1, "ProbabilitySlabExporter: slices out of order")
                var last: [Float] = []
                last.reserveCapacity(classes * plane)
                for k in 0..<classes { last.append(contentsOf: slab.values(row: rows.upperBound - 1, class: k)) }
                carried = (rows.upperBound - 1, last)
            }
        }
    }

    /// Writes output slice j (transposed space, `target[1] × target[2]`) to `base + j·s0 + a·s1 + b·s2`.
    private static func scatter<T>(_ values: UnsafePointer<T>, slice j: Int, target: [Int], into array: inout [T],
                                   base: Int, strides: [Int]) {
        let (height, width) = (target[1], target[2])
        array.withUnsafeMutableBufferPointer { out in
            let origin = base + j * strides[0]
            for a in 0..<height {
                let row = origin + a * strides[1], source = values + a * width
                if strides[2] == 1 {
                    (out.baseAddress! + row).update(from: source, count: width)
                } else {
                    for b in 0..<width { out[row + b * strides[2]] = source[b] }
                }
            }
        }
    }

    /// The label map (uint8 values as Float) in the input image's shape and geometry, and the kept probabilities
    /// `[K, z, y, x]` at the cropped size in the image's axis order (nil unless kept).
    ///
    /// Call once, after the last slab.
    public consuming func finish() -> (labels: Volume, probabilities: [Float]?) {
        precondition(received == shape[0], "ProbabilitySlabExporter: \(received) of \(shape[0]) rows received")
        let cropping = properties.cropping
        switch strategy {
        case .slices:
            precondition(nextSlice == target[0], "ProbabilitySlabExporter: \(nextSlice) of \(target[0]) slices done")
            let geometry = ImageGeometry(itkSpacing: cropping.itkSpacing, itkOrigin: cropping.itkOrigin,
                                         itkDirection: cropping.itkDirection)
            return (Volume(data: labelMap.map(Float.init), shape: cropping.originalSizeOfRawData, geometry: geometry),
                    keepsProbabilities ? kept : nil)
        case .wholeVolume:
            return SegmentationExporter.exportWholeVolume(
                probabilities: buffer, classCount: classCount, shape: shape, properties: properties,
                transposeForward: transposeForward, transposeBackward: transposeBackward,
                keepingProbabilities: keepsProbabilities, threads: threads)
        case .argmaxFirst:
            return (SegmentationExporter.labelMap(fromPreprocessedLabels: buffer, shape: shape, properties: properties,
                                                  transposeForward: transposeForward,
                                                  transposeBackward: transposeBackward, mode: mode, threads: threads),
                    nil)
        }
    }
}
