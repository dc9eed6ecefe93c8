import Foundation
import NNUNetCore
import NNUNetPlanning

/// What v2's preprocessing records about a case (v2's `properties` dict, written as `CASE.pkl` next to the
/// probabilities), in the axis conventions v2 uses.
public struct V2CaseProperties: Sendable, Equatable {
    /// The ITK geometry of the input (`sitk_stuff`): spacing, origin and direction in ITK's (x, y, z) order.
    public var geometry: ImageGeometry
    /// `spacing`: the voxel spacing along the array axes (ITK's spacing reversed, absolute values).
    public var spacing: [Double]
    /// `shape_before_cropping`: the transposed array shape.
    public var shapeBeforeCropping: [Int]
    /// `bbox_used_for_cropping`: the nonzero box in transposed coordinates, `[[start, end), ...]`.
    public var boundingBox: [[Int]]
    /// `shape_after_cropping_and_before_resampling`: the box's shape (transposed).
    public var shapeAfterCropping: [Int]
    /// `class_locations`: for a cascade stage, v2 also samples foreground voxels of the previous stage's
    /// segmentation (in preprocessed space) per label or region; nil otherwise.
    public var classLocations: [ClassLocations]?

    /// The voxels v2 samples for one label or region of a segmentation (`class_locations[key]`).
    public struct ClassLocations: Sendable, Equatable {
        /// The label, or the region's labels.
        public var labels: [Int]
        /// Whether the key is a region (a Python tuple) rather than one label (an int).
        public var isRegion: Bool
        /// The sampled voxels as rows `(0, z, y, x)`, flattened (4 entries per row); empty when none is present.
        public var coordinates: [Int]
    }

    /// The dict v2 pickles as `CASE.pkl` (`sitk_stuff`, `spacing`, `shape_before_cropping`, `bbox_used_for_cropping`,
    /// `shape_after_cropping_and_before_resampling`, and `class_locations` for a cascade stage, as int64 arrays), with
    /// plain Python floats where v2 has `np.float64` scalars.
    public var pickleValue: PickleValue {
        func entry(_ key: String, _ value: PickleValue) -> PickleValue.Entry { .init(key: .string(key), value: value) }
        func floats(_ values: [Double]) -> [PickleValue] { values.map { .float($0) } }
        func ints(_ values: [Int]) -> [PickleValue] { values.map { .int($0) } }
        return .dict([
            entry("sitk_stuff", .dict([
                entry("spacing", .tuple(floats(geometry.itkSpacing))),
                entry("origin", .tuple(floats(geometry.itkOrigin))),
                entry("direction", .tuple(floats(geometry.itkDirection))),
            ])),
            entry("spacing", .list(floats(spacing))),
            entry("shape_before_cropping", .tuple(ints(shapeBeforeCropping))),
            entry("bbox_used_for_cropping", .list(boundingBox.map { .list(ints($0)) })),
            entry("shape_after_cropping_and_before_resampling", .tuple(ints(shapeAfterCropping))),
        ] + (classLocations.map { locations in
            [entry("class_locations", .dict(locations.map { item in
                .init(key: item.isRegion ? .tuple(ints(item.labels)) : .int(item.labels[0]),
                      value: item.coordinates.isEmpty ? .list([])
                        : .array(.int64(item.coordinates, shape: [item.coordinates.count / 4, 4])))
            }))]
        } ?? []))
    }
}

/// One case preprocessed for a v2 configuration: `[C, z, y, x]` float32 (C order) of spatial ``shape`` and its
/// properties.
public struct V2PreprocessedCase: Sendable {
    /// The channels, C order, `channels × shape` values.
    public var data: [Float]
    /// Number of channels.
    public var channels: Int
    /// The preprocessed spatial shape (transposed axes).
    public var shape: [Int]
    /// What the export needs to undo the preprocessing.
    public var properties: V2CaseProperties
}

/// nnU-Net v2's `DefaultPreprocessor` for prediction: transpose, crop to the nonzero region, normalise, resample.
///
/// Port of the behaviour of v2 `preprocessing/preprocessors/default_preprocessor.py` (`run_case_npy`) with
/// `preprocessing/cropping/cropping.py` (`crop_to_nonzero`: the union of nonzero voxels over the channels, holes
/// filled, its bounding box) and `resample_data_or_seg_to_shape` of `preprocessing/resampling/default_resampling.py`
/// (order 3 data: scikit-image's cubic `resize`; the separate-z rule with nearest neighbour along the anisotropic
/// axis). The resampling kernels are the ones the v1 port uses: v2's `resample_data_or_seg` is v1's.
/// The target shape is `round(spacing / target spacing × shape)` per axis; a 2D configuration keeps the first
/// (transposed) axis' own spacing.
public struct V2Preprocessor: Sendable {
    /// The plans (transposition, intensity statistics).
    public var plans: V2Plans
    /// The configuration whose spacing and normalisation are applied.
    public var configuration: V2Configuration
    /// Threads for the resampling kernels.
    public var threads = ThreadSettings.defaultThreads
    /// The model's dataset.json: a previous stage's segmentation becomes one one-hot channel per foreground label
    /// (v2's `foreground_labels`), and its labels or regions name the voxels v2 samples into `class_locations`.
    /// Required for cascade stages.
    public var dataset: V2DatasetDescription?

    /// Creates the preprocessor of `configuration`.
    public init(plans: V2Plans, configuration: V2Configuration) {
        self.plans = plans
        self.configuration = configuration
    }

    /// Reads the channel files of a case and preprocesses them.
    ///
    /// - Throws: ``TrainingError`` naming the file when it cannot be read, when channels differ in shape or
    ///   geometry, or when the case has another number of channels than the configuration normalises.
    /// - Parameters:
    ///   - imageFiles: the case's channel files, in the plans' channel order.
    ///   - identifier: the case, for messages.
    ///   - previousStage: for a cascade configuration, the previous stage's segmentation of the case
    ///     (`-prev_stage_predictions`), appended as one-hot channels (see ``preprocess(_:identifier:previousStage:)``).
    public func preprocess(imageFiles: [URL], identifier: String, previousStage: URL? = nil) throws
        -> V2PreprocessedCase {
        guard imageFiles.count == configuration.normalizationSchemes.count else {
            throw TrainingError.unusableModel("case '\(identifier)' has \(imageFiles.count) channel file(s); the "
                                              + "model needs \(configuration.normalizationSchemes.count)")
        }
        try TrainedModel.checkModalityGeometry(imageFiles, identifier: identifier)
        var volumes: [Volume] = []
        for file in imageFiles {
            let volume = try NIfTI.read(file)
            guard volume.shape.count == 3, volume.channels == 1 else {
                throw TrainingError.unusableModel("case '\(identifier)': '\(file.path)' has shape \(volume.shape) "
                                                  + "(\(volume.channels) channel(s)); 3D single-channel images are "
                                                  + "supported")
            }
            volumes.append(volume)
        }
        var segmentation: Volume?
        if let previousStage {
            do { segmentation = try NIfTI.read(previousStage) } catch {
                throw TrainingError.unusableModel("case '\(identifier)': the previous stage's segmentation "
                                                  + "'\(previousStage.path)' cannot be read (\(error))")
            }
            if let segmentation, segmentation.shape != volumes[0].shape || segmentation.channels != 1 {
                throw TrainingError.unusableModel("case '\(identifier)': the previous stage's segmentation "
                                                  + "'\(previousStage.path)' has shape \(segmentation.shape), the "
                                                  + "image \(volumes[0].shape)")
            }
        }
        return try preprocess(volumes, identifier: identifier, previousStage: segmentation)
    }

    /// Preprocesses a case given as volumes (one per channel, same shape and geometry), in the order of the plans'
    /// channels.
    ///
    /// For a cascade configuration `previousStage` is the previous stage's label map of the case, in the images'
    /// shape. As v2's `DefaultPreprocessor` treats a segmentation, it is transposed and cropped to the box, its
    /// background outside the nonzero mask becomes −1, and it is resampled with the plans' `resampling_fn_seg`; then
    /// one channel per foreground label (1 where the label is, else 0; v2's `convert_labelmap_to_one_hot`) follows the
    /// image channels.
    /// - Throws: ``TrainingError/unusableModel(_:)`` for a case without any nonzero voxel, an unsupported
    ///   normalisation or resampling, a previous-stage segmentation of another shape.
    public func preprocess(_ volumes: [Volume], identifier: String, previousStage: Volume? = nil) throws
        -> V2PreprocessedCase {
        guard let first = volumes.first else {
            throw TrainingError.unusableModel("case '\(identifier)' has no image")
        }
        let forward = plans.transposeForward
        let shape = first.shape
        let spacing = first.geometry.spacing.map { abs($0) }
        let transposedShape = forward.map { shape[$0] }
        let transposedSpacing = forward.map { spacing[$0] }
        // Crop: the union of nonzero voxels, holes filled, in transposed space (as v2 crops after transposing).
        let transposed = volumes.map { Preprocessor.transpose($0.data, shape: shape, by: forward) }
        let fullMask = NonzeroMask.make(channels: transposed, shape: transposedShape)
        guard let box = NonzeroMask.boundingBox(fullMask, shape: transposedShape) else {
            throw TrainingError.unusableModel("case '\(identifier)': every voxel is zero, there is nothing to segment "
                                              + "(v2 fails on such images as well)")
        }
        let croppedShape = box.map { $0[1] - $0[0] }
        let mask = NonzeroMask.crop(fullMask, shape: transposedShape, to: box)
        // The same box in the array's own axes, and its memory-order statistics run (see V2Normalization).
        var originalBox = [[Int]](repeating: [0, 0], count: 3)
        for (axis, source) in forward.enumerated() { originalBox[source] = box[axis] }
        let originalExtent = originalBox.map { $0[1] - $0[0] }
        let isDense = originalExtent[1] == shape[1] && originalExtent[2] == shape[2]
        let plane = originalExtent[1] * originalExtent[2]
        let runLength: Int? = isDense ? nil : max(1, 8192 / plane) * plane

        var target = configuration.spacing
        if configuration.isTwoD { target = [transposedSpacing[0]] + target }
        let newShape = (0..<3).map {
            NumpyStatistics.round(transposedSpacing[$0] / target[$0] * Double(croppedShape[$0]))
        }
        let resampling = configuration.dataResampling
        let axis = resampling.separateAxis(current: transposedSpacing, target: target)
        var data: [Float] = []
        data.reserveCapacity(volumes.count * newShape.reduce(1, *))
        for (c, volume) in volumes.enumerated() {
            var channel = NonzeroMask.crop(transposed[c], shape: transposedShape, to: box)
            let scheme = configuration.normalizationSchemes[c]
            var statistics: (mean: Float, std: Float)?
            if scheme == "ZScoreNormalization" && !configuration.useMaskForNorm[c] {
                let memoryOrder = isDense && originalExtent[0] == shape[0] ? volume.data
                    : NonzeroMask.crop(volume.data, shape: shape, to: originalBox)
                statistics = V2Normalization.zScoreStatistics(memoryOrder: memoryOrder, runLength: runLength)
            }
            try V2Normalization.apply(&channel, scheme: scheme, useMask: configuration.useMaskForNorm[c], mask: mask,
                                      intensity: plans.foregroundIntensityProperties[c],
                                      memoryOrderStatistics: statistics, channel: c, plansFile: plans.source)
            data += try V2Resampler.resample(channel, shape: croppedShape, to: newShape, with: resampling,
                                             separateAxis: axis, threads: threads)
        }
        var channels = volumes.count
        var classLocations: [V2CaseProperties.ClassLocations]?
        if let previousStage {
            guard previousStage.shape == shape else {
                throw TrainingError.unusableModel("case '\(identifier)': the previous stage's segmentation has shape "
                                                  + "\(previousStage.shape), the image \(shape)")
            }
            guard let segmentationResampling = configuration.segmentationResampling else {
                throw TrainingError.unusableModel("'\(plans.source)': configuration '\(configuration.name)' has no "
                                                  + "resampling_fn_seg, which its previous stage's segmentation needs")
            }
            var segmentation = NonzeroMask.crop(Preprocessor.transpose(previousStage.data, shape: shape, by: forward),
                                                shape: transposedShape, to: box)
            for i in segmentation.indices where segmentation[i] == 0 && !mask[i] { segmentation[i] = -1 }
            let resampled = try V2Resampler.resample(
                segmentation, shape: croppedShape, to: newShape, with: segmentationResampling,
                separateAxis: segmentationResampling.separateAxis(current: transposedSpacing, target: target),
                threads: threads)
            guard let dataset else {
                throw TrainingError.unusableModel("case '\(identifier)': the dataset description is needed to encode "
                                                  + "the previous stage's segmentation")
            }
            for label in dataset.foregroundLabels {
                let value = Float(label)
                data += resampled.map { $0 == value ? 1 : 0 }
            }
            channels += dataset.foregroundLabels.count
            classLocations = Self.classLocations(resampled, shape: newShape, classes: Self.locationClasses(dataset))
        }
        let properties = V2CaseProperties(geometry: first.geometry, spacing: spacing,
                                          shapeBeforeCropping: transposedShape, boundingBox: box,
                                          shapeAfterCropping: croppedShape, classLocations: classLocations)
        return V2PreprocessedCase(data: data, channels: channels, shape: newShape, properties: properties)
    }

    /// The labels or regions v2 samples from a segmentation (`DefaultPreprocessor.run_case_npy`): the foreground
    /// regions of a region-based dataset (a region listed as one label is an int key), else the foreground labels;
    /// with an ignore label also the region `[-1] + all labels`.
    static func locationClasses(_ dataset: V2DatasetDescription) -> [(labels: [Int], isRegion: Bool)] {
        var classes: [(labels: [Int], isRegion: Bool)]
        if dataset.hasRegions {
            classes = dataset.labels.filter { $0.name != "ignore" && Set($0.values) != [0] }
                .map { ($0.values, $0.isList) }
        } else {
            classes = dataset.foregroundLabels.map { ([$0], false) }
        }
        if dataset.ignoreLabel != nil { classes.append(([-1] + dataset.allLabels, true)) }
        return classes
    }

    /// v2's `_sample_foreground_locations` with seed 1234: for each class, in order, the voxels holding its labels
    /// (label by label in the class's order, each in C order), of which `max(min(10 000, n), ceil(0.01 n))` are drawn
    /// without replacement by one `RandomState(1234)` shared by the classes; a class without voxels draws nothing.
    static func classLocations(_ segmentation: [Float], shape: [Int], classes: [(labels: [Int], isRegion: Bool)])
        -> [V2CaseProperties.ClassLocations] {
        let plane = shape[1] * shape[2]
        var random = MersenneTwister(seed: 1234)
        // Only the labels the classes name (not the background, which is most of the volume).
        let wanted = Set(classes.flatMap(\.labels).map(Float.init))
        var voxels: [Float: [Int]] = [:]
        for (i, value) in segmentation.enumerated() where wanted.contains(value) {
            voxels[value, default: []].append(i)
        }
        return classes.map { item in
            let all = item.labels.flatMap { voxels[Float($0)] ?? [] }
            guard !all.isEmpty else {
                return V2CaseProperties.ClassLocations(labels: item.labels, isRegion: item.isRegion, coordinates: [])
            }
            let n = all.count
            let k = max(min(10_000, n), Int((Double(n) * 0.01).rounded(.up)))
            var coordinates: [Int] = []
            coordinates.reserveCapacity(4 * k)
            for pick in random.choiceWithoutReplacement(n, k) {
                let i = all[pick]
                coordinates += [0, i / plane, (i / shape[2]) % shape[1], i % shape[2]]
            }
            return V2CaseProperties.ClassLocations(labels: item.labels, isRegion: item.isRegion,
                                                   coordinates: coordinates)
        }
    }
}

/// v2's `resample_data_or_seg_to_shape` for one channel, on the kernels this package shares with v1.
enum V2Resampler {
    /// Resamples float32 data (`is_seg` false) or a label map (`is_seg` true).
    /// - Throws: ``TrainingError/unusableModel(_:)`` for orders the kernels do not implement.
    static func resample(_ channel: [Float], shape: [Int], to newShape: [Int], with resampling: V2Resampling,
                         separateAxis: Int?, threads: Int) throws -> [Float] {
        if shape == newShape { return channel }
        if separateAxis != nil && resampling.orderZ != 0 {
            throw unsupported(resampling, "order_z \(resampling.orderZ) along the separate axis (only 0 is supported)")
        }
        switch (resampling.isSegmentation, resampling.order) {
        case (false, 3), (true, 1):
            return Resampling.resampleLikeNNUNet(channel, shape: shape, to: newShape,
                                                 isSegmentation: resampling.isSegmentation, separateAxis: separateAxis,
                                                 threads: threads)
        case (false, 1):
            return Resampling.resampleProbabilities(channel, shape: shape, to: newShape, separateAxis: separateAxis,
                                                    threads: threads)
        case (_, 0):
            guard let axis = separateAxis else { return Resampling.resizeNearest(channel, shape: shape, to: newShape) }
            var inPlane = newShape
            inPlane[axis] = shape[axis]
            let resized = Resampling.resizeNearest(channel, shape: shape, to: inPlane)
            return Resampling.resampleNearest(resized, shape: inPlane, axis: axis, to: newShape[axis])
        default:
            throw unsupported(resampling, "order \(resampling.order) with is_seg \(resampling.isSegmentation)")
        }
    }

    static func unsupported(_ resampling: V2Resampling, _ what: String) -> TrainingError {
        .unusableModel("the plans' \(resampling.functionName) asks for \(what), which this port does not implement "
                       + "(supported: order 3 for data, 1 for segmentations and probabilities, 0; order_z 0)")
    }
}
