import Foundation
import NNUNetCore

/// Turns cropped cases into the training data of one plans stage: transpose, resample, normalise, sample class
/// locations, write `CASE.npy` + `CASE.json` into `<preprocessed>/TaskXXX/<data_identifier>_stage<i>/`.
///
/// Port of v1 `preprocessing/preprocessing.py` `GenericPreprocessor` / `PreprocessorFor2D` (`_run_internal`,
/// `resample_and_normalize`, `resample_patient`). The 2D preprocessor keeps each case's own spacing along the first
/// (transposed) axis. Output: float32 `(C + 1) × Z × Y × X` (modalities, then the label map with −1 kept).
public struct Preprocessor: Sendable {
    /// The plans whose stages are written.
    public var plans: Plans
    /// True for `PreprocessorFor2D` (no resampling along the first transposed axis).
    public var isTwoD: Bool

    /// v1's separate-z anisotropy threshold.
    public static let separateZThreshold = 3.0
    /// v1's class location sampling: at most 10 000 per class, at least 1 % of the class's voxels, seed 1234.
    public static let classLocationSamples = 10_000
    /// At least this fraction of a class's voxels is sampled, rounded up, even beyond ``classLocationSamples``.
    public static let classLocationMinimumFraction = 0.01
    /// Seed of the `RandomState` shared by the classes of one case.
    public static let classLocationSeed: UInt32 = 1234

    /// Creates the preprocessor for `plans`; ``isTwoD`` follows `preprocessor_name`.
    ///
    /// - Parameters:
    ///   - plans: the plans to preprocess for.
    ///   - source: where the plans came from (their file), named in errors.
    /// - Throws: ``PlanningError/unusableNormalization(plans:modality:reason:)`` when a modality cannot be
    ///   normalised (a CT modality without the fingerprint's intensity statistics).
    public init(plans: Plans, source: String = "(plans in memory)") throws {
        try Normalization.checkStatistics(of: plans, source: source)
        self.plans = plans
        self.isTwoD = plans.preprocessorName == "PreprocessorFor2D"
    }

    /// The stage folder name for stage `i`: `<data_identifier>_stage<i>`.
    public func stageFolderName(_ i: Int) -> String { plans.dataIdentifier + "_stage\(i)" }

    /// The lowres axis of a spacing for the separate-z rule: the single axis with the largest spacing, nil if the
    /// spacing is not anisotropic (max/min ≤ 3) or two or three axes share the maximum.
    public static func separateAxis(originalSpacing: [Double], targetSpacing: [Double]) -> Int? {
        func lowres(_ s: [Double]) -> [Int]? {
            guard let mx = s.max(), let mn = s.min(), mx / mn > separateZThreshold else { return nil }
            return s.indices.filter { mx / s[$0] == 1 }
        }
        guard let axes = lowres(originalSpacing) ?? lowres(targetSpacing), axes.count == 1 else { return nil }
        return axes[0]
    }

    /// Preprocesses one cropped case in memory.
    ///
    /// - Parameters:
    ///   - array: cropped `(C + 1) × z × y × x` values (untransposed).
    ///   - shape: the shape of `array`.
    ///   - properties: the cropped case's properties.
    ///   - targetSpacing: the stage's `current_spacing` (transposed).
    ///   - threads: threads for the resampling kernels.
    /// - Returns: the preprocessed array, its shape and the properties to store.
    public func preprocess(array: [Float], shape: [Int], properties: CroppedCaseProperties, targetSpacing: [Double],
                           threads: Int = 1) -> (array: [Float], shape: [Int], properties: PreprocessedCaseProperties) {
        let forward = plans.transposeForward
        let channels = shape[0]
        let spatial = Array(shape[1...])
        let voxels = spatial.reduce(1, *)
        let transposedShape = forward.map { spatial[$0] }
        let originalSpacing = forward.map { properties.originalSpacing[$0] }
        var target = targetSpacing
        if isTwoD { target[0] = originalSpacing[0] }
        let newShape = (0..<3).map { NumpyStatistics.round(originalSpacing[$0] / target[$0] * Double(transposedShape[$0])) }
        let axis = Self.separateAxis(originalSpacing: originalSpacing, targetSpacing: target)
        var outChannels: [[Float]] = []
        for c in 0..<channels {
            var channel = Self.transpose(Array(array[(c * voxels)..<((c + 1) * voxels)]), shape: spatial, by: forward)
            let isSeg = c == channels - 1
            if !isSeg { for i in channel.indices where channel[i].isNaN { channel[i] = 0 } }
            channel = Resampling.resampleLikeNNUNet(channel, shape: transposedShape, to: newShape,
                                                    isSegmentation: isSeg, separateAxis: axis, threads: threads)
            if isSeg { for i in channel.indices where channel[i] < -1 { channel[i] = 0 } }
            outChannels.append(channel)
        }
        let seg = outChannels[channels - 1]
        let mask = plans.useMaskForNorm
        for c in 0..<(channels - 1) {
            Normalization.apply(&outChannels[c], segmentation: seg, scheme: plans.normalizationSchemes[c] ?? "nonCT",
                                useMask: mask[c] ?? false,
                                intensity: plans.datasetProperties?.intensityProperties?[c]?.pooled)
        }
        let locations = Self.classLocations(seg: seg, shape: newShape, classes: plans.allClasses)
        var cropping = properties
        cropping.useNonzeroMaskForNorm = plans.useMaskForNorm
        let result = PreprocessedCaseProperties(cropping: cropping, sizeAfterResampling: newShape,
                                                spacingAfterResampling: target, classLocations: locations)
        var joined: [Float] = []
        joined.reserveCapacity(outChannels.reduce(0) { $0 + $1.count })
        for channel in outChannels { joined.append(contentsOf: channel) }
        return (joined, [channels] + newShape, result)
    }

    /// Preprocesses the cropped modalities of a case to predict (v1 `preprocess_test_case`) with bounded memory.
    ///
    /// Returns the modality channels and the properties that ``preprocess(array:shape:properties:targetSpacing:threads:)``
    /// returns for the same case with the label channel ``Cropper/cropCase(_:)`` synthesises (−1 outside the nonzero
    /// mask, 0 inside), bit for bit. That channel is built (from `images.nonzeroMask`) only when something reads it:
    /// a modality normalised within the nonzero mask, or plans whose `all_classes` include −1 or 0 (class locations).
    /// Each modality is transposed, resampled and normalised on its own, and the input channel is released as soon as
    /// it has been transposed, so memory stays near one input plus one output channel (plus the result).
    ///
    /// - Parameters:
    ///   - images: the cropped modalities (consumed).
    ///   - targetSpacing: the stage's `current_spacing` (transposed).
    ///   - threads: threads for the resampling kernels.
    /// - Returns: `data` `[C, z, y, x]` (C order), its spatial `shape`, and the properties.
    /// - Precondition: `images.nonzeroMask` is present when ``needsNonzeroMask`` is true.
    public func preprocessImages(_ images: consuming CroppedImages, targetSpacing: [Double], threads: Int = 1)
        -> (data: [Float], shape: [Int], properties: PreprocessedCaseProperties) {
        let forward = plans.transposeForward
        let channels = images.channels.count
        let spatial = images.shape
        let transposedShape = forward.map { spatial[$0] }
        let originalSpacing = forward.map { images.properties.originalSpacing[$0] }
        var target = targetSpacing
        if isTwoD { target[0] = originalSpacing[0] }
        let newShape = (0..<3).map { NumpyStatistics.round(originalSpacing[$0] / target[$0] * Double(transposedShape[$0])) }
        let axis = Self.separateAxis(originalSpacing: originalSpacing, targetSpacing: target)
        var seg: [Float] = []
        if needsNonzeroMask {
            guard let mask = images.nonzeroMask else {
                preconditionFailure("preprocessImages: these plans normalise within the nonzero mask; crop with "
                                    + "keepingMask: true")
            }
            images.nonzeroMask = nil
            seg = Self.transpose(mask.map { $0 ? Float(0) : -1 }, shape: spatial, by: forward)
            seg = Resampling.resampleLikeNNUNet(seg, shape: transposedShape, to: newShape, isSegmentation: true,
                                                separateAxis: axis, threads: threads)
            for i in seg.indices where seg[i] < -1 { seg[i] = 0 }
        }
        var data: [Float] = []
        for c in 0..<channels {
            var channel = Self.transpose(images.channels[c], shape: spatial, by: forward)
            images.channels[c] = []
            for i in channel.indices where channel[i].isNaN { channel[i] = 0 }
            channel = Resampling.resampleLikeNNUNet(channel, shape: transposedShape, to: newShape, isSegmentation: false,
                                                    separateAxis: axis, threads: threads)
            Normalization.apply(&channel, segmentation: seg, scheme: plans.normalizationSchemes[c] ?? "nonCT",
                                useMask: plans.useMaskForNorm[c] ?? false,
                                intensity: plans.datasetProperties?.intensityProperties?[c]?.pooled)
            if channels == 1 {
                data = channel
            } else {
                if data.isEmpty { data.reserveCapacity(channels * channel.count) }
                data.append(contentsOf: channel)
            }
        }
        // Without the label channel no class occurs (its values are −1 and 0 only, see needsNonzeroMask).
        let locations = seg.isEmpty ? Dictionary(uniqueKeysWithValues: plans.allClasses.map { ($0, [[Int]]()) })
            : Self.classLocations(seg: seg, shape: newShape, classes: plans.allClasses)
        var cropping = images.properties
        cropping.useNonzeroMaskForNorm = plans.useMaskForNorm
        let result = PreprocessedCaseProperties(cropping: cropping, sizeAfterResampling: newShape,
                                                spacingAfterResampling: target, classLocations: locations)
        return (data, newShape, result)
    }

    /// Whether ``preprocessImages(_:targetSpacing:threads:)`` needs the cropped nonzero mask: some modality is
    /// normalised within it, or `all_classes` includes −1 or 0 (values the synthesised label channel holds).
    public var needsNonzeroMask: Bool {
        let masked = (0..<plans.numModalities).contains {
            (plans.useMaskForNorm[$0] ?? false) && (plans.normalizationSchemes[$0] ?? "nonCT") != "noNorm"
        }
        return masked || plans.allClasses.contains { $0 == -1 || $0 == 0 }
    }

    /// Foreground locations for oversampling (v1 `_run_internal`): for each class, all voxels with that label
    /// (C order), of which `max(min(10 000, n), ceil(0.01 n))` are drawn without replacement with one
    /// `RandomState(1234)` shared by the classes in order.
    public static func classLocations(seg: [Float], shape: [Int], classes: [Int]) -> [Int: [[Int]]] {
        var random = MersenneTwister(seed: classLocationSeed)
        var result: [Int: [[Int]]] = [:]
        let plane = shape[1] * shape[2]
        for c in classes {
            let value = Float(c)
            var all: [Int] = []
            for i in seg.indices where seg[i] == value { all.append(i) }
            guard !all.isEmpty else { result[c] = []; continue }
            let n = all.count
            let k = max(min(classLocationSamples, n), Int((Double(n) * classLocationMinimumFraction).rounded(.up)))
            result[c] = random.choiceWithoutReplacement(n, k).map { pick in
                let i = all[pick]
                return [i / plane, (i / shape[2]) % shape[1], i % shape[2]]
            }
        }
        return result
    }

    /// Permutes the axes of a (z, y, x) volume: output axis k is input axis `order[k]`.
    public static func transpose(_ values: [Float], shape: [Int], by order: [Int]) -> [Float] {
        if order == [0, 1, 2] { return values }
        let outShape = order.map { shape[$0] }
        let inStrides = [shape[1] * shape[2], shape[2], 1]
        let s0 = inStrides[order[0]], s1 = inStrides[order[1]], s2 = inStrides[order[2]]
        var out = [Float](repeating: 0, count: values.count)
        var o = 0
        for a in 0..<outShape[0] {
            for b in 0..<outShape[1] {
                let base = a * s0 + b * s1
                for c in 0..<outShape[2] { out[o] = values[base + c * s2]; o += 1 }
            }
        }
        return out
    }

    /// Preprocesses every cropped case for the given stages and writes them (v1 `run`).
    ///
    /// - Parameters:
    ///   - croppedFolder: `nnUNet_cropped_data/TaskXXX`.
    ///   - taskFolder: `nnUNet_preprocessed/TaskXXX`.
    ///   - stages: stage indices to preprocess (default all).
    ///   - threads: cases in parallel, per stage (v1 `-tl` for stage 0 of a two-stage plan, `-tf` otherwise).
    ///   - progress: for a stage's name, the callback its cases report to (nil: none).
    public func run(croppedFolder: URL, taskFolder: URL, stages: [Int]? = nil, threads: (Int) -> Int,
                    progress: ((_ stage: String) -> CaseProgress?)? = nil) throws {
        let identifiers = try DatasetAnalyzer.croppedCaseIdentifiers(in: croppedFolder)
        for stage in stages ?? Array(0..<plans.numStages) {
            guard let stagePlan = plans.stage(stage) else { continue }
            let folderName = stageFolderName(stage)
            let folder = taskFolder.appendingPathComponent(folderName, isDirectory: true)
            try Cropper.createFolder(folder)
            let report = progress?(folderName)
            let errors = LockedValue<[(any Error)?]>(errorSlots: identifiers.count), counter = LockedValue(0)
            let workers = max(1, threads(stage))
            let kernelThreads = max(1, workers > identifiers.count ? workers / max(identifiers.count, 1) : 1)
            parallelFor(identifiers.count, threads: workers) { range in
                for i in range {
                    let id = identifiers[i]
                    do {
                        let input = try MappedNPY(croppedFolder.appendingPathComponent(id + ".npy"))
                        let props = try CroppedCaseProperties.load(from: croppedFolder.appendingPathComponent(id + ".json"))
                        let out = preprocess(array: input.floats(), shape: input.shape, properties: props,
                                             targetSpacing: stagePlan.currentSpacing, threads: kernelThreads)
                        let json = folder.appendingPathComponent(id + ".json")
                        try? FileManager.default.removeItem(at: json)
                        try NPY.write(float32: out.array, shape: out.shape, to: folder.appendingPathComponent(id + ".npy"))
                        try NPY.writeAtomically(try out.properties.jsonData(), to: json)
                    } catch { errors.set(i, error) }
                    report?(counter.increment(), identifiers.count, id)
                }
            }
            if let error = errors.first { throw error }
        }
    }
}
