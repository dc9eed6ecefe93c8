import Foundation
import NNUNetCore

/// Evaluates one case: a predicted and a reference label map.
///
/// Port of v1 `evaluation/evaluator.py` `Evaluator.evaluate` / `NiftiEvaluator` with the default metrics and
/// `nan_for_nonexisting=True`: for each label L, test = (prediction == L), reference = (ground truth == L), then
/// the metrics of ``SegmentationMetric``. With ``EvaluationOptions/includesSurfaceMetrics`` the metrics of
/// ``SurfaceMetrics`` are added, computed with the reference's spacing.
public enum CaseEvaluator {
    /// Scores of every label of ``EvaluationOptions/labels`` for two volumes of the same shape.
    ///
    /// - Parameters:
    ///   - prediction: predicted label map (one channel, (z, y, x)).
    ///   - reference: reference label map, same shape.
    ///   - caseName: used in error messages.
    ///   - options: the labels, and whether surface metrics are added and geometry is checked.
    ///   - threads: worker threads.
    /// - Throws: ``EvaluationError/shapeMismatch(caseName:prediction:reference:)``,
    ///   ``EvaluationError/geometryMismatch(caseName:detail:)`` (when checked), or
    ///   ``EvaluationError/notASegmentation(path:channels:)`` for multi-channel volumes.
    public static func evaluate(prediction: Volume, reference: Volume, caseName: String, options: EvaluationOptions,
                                threads: Int = ThreadSettings.defaultThreads) throws -> [LabelScores] {
        try checkPair(prediction: (prediction.channels, prediction.shape, prediction.geometry),
                      reference: (reference.channels, reference.shape, reference.geometry),
                      caseName: caseName, options: options)
        let counts = ConfusionCounting.counts(prediction: prediction.data, reference: reference.data,
                                              labels: options.labels, threads: threads)
        return scores(counts, options: options) { label in
            SurfaceMetrics.compute(prediction: prediction.data, reference: reference.data,
                                   shape: reference.shape, spacing: reference.geometry.spacing,
                                   label: Float(label), tolerance: options.surfaceDiceTolerance, threads: threads)
        }
    }

    /// Scores of every label of ``EvaluationOptions/labels`` for two label maps of the same shape: the same numbers
    /// as ``evaluate(prediction:reference:caseName:options:threads:)-(Volume,_,_,_,_)`` on their volumes, counted on
    /// bytes when both maps hold bytes.
    ///
    /// - Throws: the errors of ``evaluate(prediction:reference:caseName:options:threads:)-(Volume,_,_,_,_)``.
    public static func evaluate(prediction: LabelMap, reference: LabelMap, caseName: String, options: EvaluationOptions,
                                threads: Int = ThreadSettings.defaultThreads) throws -> [LabelScores] {
        if options.includesSurfaceMetrics {
            return try evaluate(prediction: prediction.volume, reference: reference.volume, caseName: caseName,
                                options: options, threads: threads)
        }
        try checkPair(prediction: (prediction.channels, prediction.shape, prediction.geometry),
                      reference: (reference.channels, reference.shape, reference.geometry),
                      caseName: caseName, options: options)
        let counts: [ConfusionCounts]
        switch (prediction.voxels, reference.voxels) {
        case let (.uint8(p), .uint8(r)):
            counts = ConfusionCounting.counts(prediction: p, reference: r, labels: options.labels, threads: threads)
        default:
            counts = ConfusionCounting.counts(prediction: prediction.floatValues, reference: reference.floatValues,
                                              labels: options.labels, threads: threads)
        }
        return scores(counts, options: options) { _ in nil }
    }

    /// One channel each, equal shapes and (when checked) the same grid.
    private static func checkPair(prediction: (channels: Int, shape: [Int], geometry: ImageGeometry),
                                  reference: (channels: Int, shape: [Int], geometry: ImageGeometry),
                                  caseName: String, options: EvaluationOptions) throws {
        guard prediction.channels == 1 else {
            throw EvaluationError.notASegmentation(path: caseName + " (prediction)", channels: prediction.channels)
        }
        guard reference.channels == 1 else {
            throw EvaluationError.notASegmentation(path: caseName + " (reference)", channels: reference.channels)
        }
        guard prediction.shape == reference.shape else {
            throw EvaluationError.shapeMismatch(caseName: caseName, prediction: prediction.shape,
                                                reference: reference.shape)
        }
        if options.checksGeometry, !sameGrid(prediction.geometry, reference.geometry) {
            let p = prediction.geometry, r = reference.geometry
            throw EvaluationError.geometryMismatch(
                caseName: caseName,
                detail: "prediction spacing \(p.itkSpacing), origin \(p.itkOrigin), direction \(p.itkDirection); "
                    + "reference spacing \(r.itkSpacing), origin \(r.itkOrigin), direction \(r.itkDirection)")
        }
    }

    /// v1's default metrics per label from the counts, plus the surface metrics when asked for.
    private static func scores(_ counts: [ConfusionCounts], options: EvaluationOptions,
                               surface: (Int) -> SurfaceMetrics?) -> [LabelScores] {
        var result: [LabelScores] = []
        for (label, count) in zip(options.labels, counts) {
            var values: [String: Double] = [:]
            for metric in SegmentationMetric.v1Defaults { values[metric.rawValue] = metric.value(for: count) }
            if options.includesSurfaceMetrics, let metrics = surface(label) {
                for (key, value) in metrics.summaryValues(tolerance: options.surfaceDiceTolerance) {
                    values[key] = value
                }
            }
            result.append(LabelScores(label: String(label), values: values))
        }
        return result
    }

    /// Reads two NIfTI files and scores them; `test` and `reference` in the result are the two paths.
    ///
    /// The files are read as NNUNetCore's `LabelMap`s (bytes for label maps), concurrently when `threads` > 1.
    ///
    /// - Throws: ``EvaluationError/unreadableFile(path:reason:)`` naming the file that could not be read, and the
    ///   errors of ``evaluate(prediction:reference:caseName:options:threads:)-(LabelMap,_,_,_,_)``.
    public static func evaluate(predictionFile: URL, referenceFile: URL, options: EvaluationOptions,
                                threads: Int = ThreadSettings.defaultThreads) throws -> CaseScores {
        let (prediction, reference) = try readPair(predictionFile, referenceFile, threads: threads)
        let name = caseName(of: predictionFile)
        let labels = try evaluate(prediction: prediction, reference: reference, caseName: name, options: options,
                                  threads: threads)
        return CaseScores(labels: labels, test: predictionFile.path, reference: referenceFile.path)
    }

    /// Reads a single-channel label map for counting, turning reader errors into
    /// ``EvaluationError/unreadableFile(path:reason:)``.
    public static func readLabelMap(_ url: URL) throws -> LabelMap {
        let map: LabelMap
        do {
            map = try NIfTI.readLabelMap(url)
        } catch let error as CoreError {
            throw EvaluationError.unreadableFile(path: url.path, reason: error.description)
        }
        guard map.channels == 1 else { throw EvaluationError.notASegmentation(path: url.path, channels: map.channels) }
        return map
    }

    /// Reads a single-channel label map, turning reader errors into ``EvaluationError/unreadableFile(path:reason:)``.
    public static func readSegmentation(_ url: URL) throws -> Volume {
        let volume: Volume
        do {
            volume = try NIfTI.read(url)
        } catch let error as CoreError {
            throw EvaluationError.unreadableFile(path: url.path, reason: error.description)
        }
        guard volume.channels == 1 else { throw EvaluationError.notASegmentation(path: url.path, channels: volume.channels) }
        return volume
    }

    /// Whether two geometries describe the same voxel grid: spacing within 1e-5 relative, origin within 1e-3 mm
    /// (+ 1e-5 relative), direction cosines within 1e-4. Looser than numpy's `isclose` on purpose: NIfTI stores the
    /// affine as float32 and quaternions, so copies of one grid written by different tools differ in the last digits.
    static func sameGrid(_ a: ImageGeometry, _ b: ImageGeometry) -> Bool {
        func close(_ x: [Double], _ y: [Double], absolute: Double, relative: Double) -> Bool {
            zip(x, y).allSatisfy { abs($0 - $1) <= absolute + relative * abs($1) }
        }
        return close(a.itkSpacing, b.itkSpacing, absolute: 1e-8, relative: 1e-5)
            && close(a.itkOrigin, b.itkOrigin, absolute: 1e-3, relative: 1e-5)
            && close(a.itkDirection, b.itkDirection, absolute: 1e-4, relative: 0)
    }

    /// Reads two label maps, concurrently when `threads` > 1 (decompression dominates file evaluation).
    static func readPair(_ first: URL, _ second: URL, threads: Int) throws -> (LabelMap, LabelMap) {
        try readConcurrently(first, second, threads: threads, read: readLabelMap)
    }

    /// Reads two segmentations as Float32 volumes, concurrently when `threads` > 1.
    static func readVolumePair(_ first: URL, _ second: URL, threads: Int) throws -> (Volume, Volume) {
        try readConcurrently(first, second, threads: threads, read: readSegmentation)
    }

    private static func readConcurrently<Value>(_ first: URL, _ second: URL, threads: Int,
                                                read: (URL) throws -> Value) throws -> (Value, Value) {
        var results: [Result<Value, Error>?] = [nil, nil]
        let urls = [first, second]
        results.withUnsafeMutableBufferPointer { buffer in
            guard let out = buffer.baseAddress else { return }
            parallelFor(2, threads: min(threads, 2)) { range in
                for i in range { out[i] = Result { try read(urls[i]) } }
            }
        }
        guard let a = results[0], let b = results[1] else {
            throw EvaluationError.invalidArgument("internal: a segmentation was not read")
        }
        return (try a.get(), try b.get())
    }

    /// `case_000` for `.../case_000.nii.gz`.
    static func caseName(of url: URL) -> String {
        let name = url.lastPathComponent
        for suffix in [".nii.gz", ".nii"] where name.hasSuffix(suffix) { return String(name.dropLast(suffix.count)) }
        return name
    }
}
