import Foundation
import NNUNetCore
import NNUNetEvaluation

/// nnU-Net v2's `plans.json`, read without Python: the transposition, the per-channel foreground intensities and the
/// configurations (`2d`, `3d_fullres`, ...), each resolved through `inherits_from` on request.
///
/// Port of the behaviour of v2 `utilities/plans_handling/plans_handler.py` (`PlansManager`, `ConfigurationManager`).
/// A configuration is resolved as v2 does: the parent's fields, updated by the child's own (a shallow update), with
/// circular inheritance refused. Fields that v2 reads when predicting are required; a missing or malformed one is a
/// ``TrainingError/unusableModel(_:)`` naming the file and the dotted field (`configurations.3d_fullres.patch_size`).
///
/// ```swift
/// let plans = try V2Plans(contentsOf: folder.appendingPathComponent("plans.json"))
/// let configuration = try plans.configuration("3d_fullres")
/// print(configuration.patchSize, configuration.spacing)
/// ```
public struct V2Plans: Sendable {
    /// Where the plans came from (named in errors).
    public var source: String
    /// `dataset_name`, e.g. `Dataset901_Spheres` (nil if absent).
    public var datasetName: String?
    /// `plans_name`, e.g. `nnUNetPlans` (nil if absent).
    public var plansName: String?
    /// `image_reader_writer` (v2's `SimpleITKIO` for NIfTI; nil if absent).
    public var imageReaderWriter: String?
    /// `transpose_forward`: array axes → preprocessed axes.
    public var transposeForward: [Int]
    /// `transpose_backward`: the inverse permutation.
    public var transposeBackward: [Int]
    /// The configuration names in file order.
    public var configurationNames: [String]
    /// `foreground_intensity_properties_per_channel`, by channel index.
    public var foregroundIntensityProperties: [Int: V2IntensityProperties]
    /// The raw configurations (unresolved), in file order.
    let rawConfigurations: [(key: String, field: V2JSONField)]

    /// Reads and decodes a `plans.json`.
    /// - Throws: ``TrainingError/unusableModel(_:)`` naming the file (unreadable, not JSON) or the field.
    public init(contentsOf url: URL) throws {
        let json: JSONValue
        do { json = try JSONValue.read(url) } catch {
            throw TrainingError.unusableModel("'\(url.path)' is not a readable plans.json (\(error))")
        }
        try self.init(json: json, source: url.path)
    }

    /// Decodes a parsed `plans.json`; `source` names it in errors.
    public init(json: JSONValue, source: String) throws {
        let root = V2JSONField(json, file: source)
        _ = try root.members()
        self.source = source
        datasetName = try root["dataset_name"].optional { try $0.string() }
        plansName = try root["plans_name"].optional { try $0.string() }
        imageReaderWriter = try root["image_reader_writer"].optional { try $0.string() }
        let forward = try root["transpose_forward"].ints(), backward = try root["transpose_backward"].ints()
        for (name, order) in [("transpose_forward", forward), ("transpose_backward", backward)]
            where order.sorted() != Array(0..<3) {
            throw root[name].failure("is \(order); it must be a permutation of [0, 1, 2]")
        }
        guard forward.indices.allSatisfy({ backward[forward[$0]] == $0 }) else {
            throw root["transpose_backward"].failure("\(backward) is not the inverse of transpose_forward \(forward)")
        }
        transposeForward = forward
        transposeBackward = backward
        rawConfigurations = try root["configurations"].members()
        guard !rawConfigurations.isEmpty else { throw root["configurations"].failure("is empty") }
        configurationNames = rawConfigurations.map(\.key)
        var intensities: [Int: V2IntensityProperties] = [:]
        for (key, field) in try root["foreground_intensity_properties_per_channel"].members() {
            guard let channel = Int(key) else { throw field.failure("is not named by a channel number") }
            intensities[channel] = try V2IntensityProperties(field)
        }
        foregroundIntensityProperties = intensities
    }

    /// The configuration `name` with `inherits_from` resolved.
    /// - Throws: ``TrainingError/unusableModel(_:)`` listing the configurations when `name` is not one of them, or
    ///   naming the field that is missing or malformed, or the circular inheritance.
    public func configuration(_ name: String) throws -> V2Configuration {
        let (merged, path) = try resolve(name, visited: [])
        return try V2Configuration(name: name, fields: merged, path: path, file: source)
    }

    /// The fields of configuration `name` after inheritance (parent fields first, overridden by the child's), and the
    /// path of the configuration's own entry.
    private func resolve(_ name: String, visited: [String]) throws
        -> (fields: [(String, JSONValue)], path: String) {
        guard let entry = rawConfigurations.first(where: { $0.key == name })?.field else {
            let known = configurationNames.joined(separator: ", ")
            if let child = visited.last {
                throw V2JSONField(nil, path: "configurations.\(child).inherits_from", file: source)
                    .failure("names '\(name)', which is not a configuration (there are: \(known))")
            }
            throw TrainingError.unusableModel("'\(source)' has no configuration '\(name)' (there are: \(known))")
        }
        let own = try entry.members().map { ($0.key, $0.field.value ?? .null) }
        guard let parentName = try entry["inherits_from"].optional({ try $0.string() }) else {
            return (own, entry.path)
        }
        if visited.contains(parentName) || parentName == name {
            let chain = (visited + [name, parentName]).joined(separator: " -> ")
            throw entry["inherits_from"].failure("makes the inheritance circular (\(chain))")
        }
        var fields = try resolve(parentName, visited: visited + [name]).fields
        for (key, value) in own {
            if let index = fields.firstIndex(where: { $0.0 == key }) { fields[index].1 = value } else {
                fields.append((key, value))
            }
        }
        return (fields, entry.path)
    }
}

/// The foreground intensity statistics of one channel (`foreground_intensity_properties_per_channel.N`), used by
/// `CTNormalization`.
public struct V2IntensityProperties: Sendable, Equatable {
    /// `mean`.
    public var mean: Double?
    /// `std`.
    public var std: Double?
    /// `percentile_00_5`.
    public var percentile00_5: Double?
    /// `percentile_99_5`.
    public var percentile99_5: Double?
    /// `median`, `min` and `max` (informative).
    public var median: Double?, min: Double?, max: Double?

    init(_ field: V2JSONField) throws {
        _ = try field.members()
        mean = try field["mean"].optional { try $0.double() }
        std = try field["std"].optional { try $0.double() }
        percentile00_5 = try field["percentile_00_5"].optional { try $0.double() }
        percentile99_5 = try field["percentile_99_5"].optional { try $0.double() }
        median = try field["median"].optional { try $0.double() }
        min = try field["min"].optional { try $0.double() }
        max = try field["max"].optional { try $0.double() }
    }

    /// Creates statistics from values (tests, synthetic plans).
    public init(mean: Double?, std: Double?, percentile00_5: Double?, percentile99_5: Double?) {
        self.mean = mean
        self.std = std
        self.percentile00_5 = percentile00_5
        self.percentile99_5 = percentile99_5
    }
}

/// One resolved configuration of a v2 `plans.json` (v2's `ConfigurationManager`).
public struct V2Configuration: Sendable, Equatable {
    /// The configuration's name (`3d_fullres`, ...).
    public var name: String
    /// `data_identifier` (nil if absent).
    public var dataIdentifier: String?
    /// `preprocessor_name` (default `DefaultPreprocessor`, the only one supported).
    public var preprocessorName: String
    /// `batch_size` (nil if absent; unused for prediction).
    public var batchSize: Int?
    /// `patch_size`: 2 (2D) or 3 entries, in preprocessed (transposed) axis order.
    public var patchSize: [Int]
    /// `spacing`: the target spacing, 2 or 3 entries like ``patchSize``.
    public var spacing: [Double]
    /// `normalization_schemes`, one per input channel (`ZScoreNormalization`, `CTNormalization`, ...).
    public var normalizationSchemes: [String]
    /// `use_mask_for_norm`, one per input channel.
    public var useMaskForNorm: [Bool]
    /// `resampling_fn_data` with `resampling_fn_data_kwargs`.
    public var dataResampling: V2Resampling
    /// `resampling_fn_seg` with its kwargs (nil if absent; used by cascades).
    public var segmentationResampling: V2Resampling?
    /// `resampling_fn_probabilities` with its kwargs (what the export uses).
    public var probabilityResampling: V2Resampling
    /// `architecture`.
    public var architecture: V2Architecture
    /// `batch_dice` (nil if absent).
    public var batchDice: Bool?
    /// `previous_stage` (a cascade's lowres configuration), nil otherwise.
    public var previousStage: String?
    /// `next_stage` (a string or a list in v2), empty if absent.
    public var nextStages: [String]

    init(name: String, fields: [(String, JSONValue)], path: String, file: String) throws {
        let root = V2JSONField(.object(fields), path: path, file: file)
        self.name = name
        dataIdentifier = try root["data_identifier"].optional { try $0.string() }
        preprocessorName = try root["preprocessor_name"].optional { try $0.string() } ?? "DefaultPreprocessor"
        batchSize = try root["batch_size"].optional { try $0.int() }
        patchSize = try root["patch_size"].ints()
        spacing = try root["spacing"].doubles()
        normalizationSchemes = try root["normalization_schemes"].strings()
        useMaskForNorm = try root["use_mask_for_norm"].bools()
        dataResampling = try V2Resampling(function: root["resampling_fn_data"],
                                          arguments: root["resampling_fn_data_kwargs"])
        segmentationResampling = root["resampling_fn_seg"].isPresent
            ? try V2Resampling(function: root["resampling_fn_seg"], arguments: root["resampling_fn_seg_kwargs"]) : nil
        probabilityResampling = try V2Resampling(function: root["resampling_fn_probabilities"],
                                                 arguments: root["resampling_fn_probabilities_kwargs"])
        architecture = try V2Architecture(root["architecture"])
        batchDice = try root["batch_dice"].optional { try $0.bool() }
        previousStage = try root["previous_stage"].optional { try $0.string() }
        if case .array = root["next_stage"].value {
            nextStages = try root["next_stage"].strings()
        } else {
            nextStages = try root["next_stage"].optional { [try $0.string()] } ?? []
        }
        if patchSize.count != 2 && patchSize.count != 3 || patchSize.contains(where: { $0 < 1 }) {
            throw root["patch_size"].failure("is \(patchSize); it needs 2 or 3 positive entries")
        }
        if spacing.count != patchSize.count || spacing.contains(where: { !($0 > 0) || !$0.isFinite }) {
            throw root["spacing"].failure("is \(spacing); it needs \(patchSize.count) positive entries like patch_size")
        }
        if useMaskForNorm.count != normalizationSchemes.count {
            throw root["use_mask_for_norm"].failure("has \(useMaskForNorm.count) entries for "
                                                    + "\(normalizationSchemes.count) normalization_schemes")
        }
        if preprocessorName != "DefaultPreprocessor" {
            throw root["preprocessor_name"].failure("is '\(preprocessorName)'; only DefaultPreprocessor is supported")
        }
    }

    /// Whether this is a 2D configuration (2-entry patch).
    public var isTwoD: Bool { patchSize.count == 2 }
}

/// A resampling function of a v2 configuration and its keyword arguments (`resample_data_or_seg_to_shape` of v2
/// `preprocessing/resampling/default_resampling.py`; defaults are that function's: `is_seg` false, `order` 3,
/// `order_z` 0, `force_separate_z` false, `separate_z_anisotropy_threshold` 3).
public struct V2Resampling: Sendable, Equatable {
    /// The function's name as written (`resample_data_or_seg_to_shape`).
    public var functionName: String
    /// `is_seg`.
    public var isSegmentation: Bool
    /// `order` (in-plane, or everywhere without a separate axis).
    public var order: Int
    /// `order_z` (along the separate axis).
    public var orderZ: Int
    /// `force_separate_z`: nil lets the anisotropy decide.
    public var forceSeparateZ: Bool?
    /// `separate_z_anisotropy_threshold` (v2's `ANISO_THRESHOLD`, 3).
    public var anisotropyThreshold: Double

    /// The functions this port implements.
    public static let supportedFunctions: Set<String> = ["resample_data_or_seg_to_shape"]

    init(function: V2JSONField, arguments: V2JSONField) throws {
        functionName = try function.string()
        let short = functionName.split(separator: ".").last.map(String.init) ?? functionName
        guard Self.supportedFunctions.contains(short) else {
            throw function.failure("is '\(functionName)'; supported: "
                                   + Self.supportedFunctions.sorted().joined(separator: ", "))
        }
        if arguments.isPresent { _ = try arguments.members() }
        isSegmentation = try arguments["is_seg"].optional { try $0.bool() } ?? false
        order = try arguments["order"].optional { try $0.int() } ?? 3
        orderZ = try arguments["order_z"].optional { try $0.int() } ?? 0
        // An absent key takes the function's default (False); an explicit null lets the anisotropy decide.
        if let raw = arguments.value?["force_separate_z"] {
            forceSeparateZ = raw == .null ? nil : try arguments["force_separate_z"].bool()
        } else {
            forceSeparateZ = false
        }
        anisotropyThreshold = try arguments["separate_z_anisotropy_threshold"].optional { try $0.double() } ?? 3
    }

    /// Creates a description from values (tests).
    public init(isSegmentation: Bool, order: Int, orderZ: Int = 0, forceSeparateZ: Bool? = nil,
                anisotropyThreshold: Double = 3) {
        functionName = "resample_data_or_seg_to_shape"
        self.isSegmentation = isSegmentation
        self.order = order
        self.orderZ = orderZ
        self.forceSeparateZ = forceSeparateZ
        self.anisotropyThreshold = anisotropyThreshold
    }

    /// The separate (low-resolution) axis for resampling from `current` to `target` spacing, or nil to resample in
    /// 3D: v2's `determine_do_sep_z_and_axis`. Forced, the axis of `current`'s largest spacing; otherwise the axis of
    /// the largest spacing of whichever spacing is anisotropic (max / min above the threshold), current first. Two
    /// or three axes sharing the largest spacing mean no separate axis.
    public func separateAxis(current: [Double], target: [Double]) -> Int? {
        func lowres(_ spacing: [Double]) -> [Int] {
            guard let largest = spacing.max() else { return [] }
            return spacing.indices.filter { largest / spacing[$0] == 1 }
        }
        func anisotropic(_ spacing: [Double]) -> Bool {
            guard let largest = spacing.max(), let smallest = spacing.min() else { return false }
            return largest / smallest > anisotropyThreshold
        }
        let axes: [Int]
        if let forced = forceSeparateZ {
            guard forced else { return nil }
            axes = lowres(current)
        } else if anisotropic(current) {
            axes = lowres(current)
        } else if anisotropic(target) {
            axes = lowres(target)
        } else {
            return nil
        }
        return axes.count == 1 ? axes[0] : nil
    }
}

/// The network of a v2 configuration (`architecture`): the class name, its keyword arguments and the names of the
/// arguments that are Python class names (`_kw_requires_import`).
public struct V2Architecture: Sendable, Equatable {
    /// `network_class_name`, e.g. `dynamic_network_architectures.architectures.unet.PlainConvUNet`.
    public var networkClassName: String
    /// `arch_kwargs` as written.
    public var arguments: JSONValue
    /// `_kw_requires_import`.
    public var argumentsRequiringImport: [String]
    /// The path of `architecture` in the plans file and the file, for errors about its arguments.
    let path: String, file: String

    init(_ field: V2JSONField) throws {
        networkClassName = try field["network_class_name"].string()
        let kwargs = field["arch_kwargs"]
        _ = try kwargs.members()
        arguments = try kwargs.required()
        argumentsRequiringImport = try field["_kw_requires_import"].optional { try $0.strings() } ?? []
        path = field.path
        file = field.file
    }

    /// The field `arch_kwargs.name`, for typed reading with errors naming it.
    func argument(_ name: String) -> V2JSONField {
        V2JSONField(arguments[name], path: path + ".arch_kwargs." + name, file: file)
    }

    /// The field `network_class_name`.
    var classNameField: V2JSONField {
        V2JSONField(.string(networkClassName), path: path + ".network_class_name", file: file)
    }
}
