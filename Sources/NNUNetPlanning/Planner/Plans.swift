import Foundation

/// One configuration stage of a plans file (v1 `plans['plans_per_stage'][i]`).
///
/// Shapes, spacings and kernels are in transposed order (``Plans/transposeForward`` applied: lowest-resolution axis
/// first). 2D stages have two-entry patches and kernels but three-entry spacings and median sizes.
public struct StagePlan: Codable, Sendable, Equatable {
    /// `batch_size`: patches per training batch.
    public var batchSize: Int
    /// `num_pool_per_axis`: number of poolings per axis.
    public var numPoolPerAxis: [Int]
    /// `patch_size`: training patch in voxels per axis.
    public var patchSize: [Int]
    /// `median_patient_size_in_voxels`: median case shape after resampling to ``currentSpacing``.
    public var medianPatientSizeInVoxels: [Int]
    /// `current_spacing`: spacing in mm that this stage's data is resampled to.
    public var currentSpacing: [Double]
    /// `original_spacing`: the spacing ``medianPatientSizeInVoxels`` is derived from (v1: the fullres target spacing).
    public var originalSpacing: [Double]
    /// `do_dummy_2D_data_aug`: augment in 2D slice by slice along the first axis (patch anisotropy above 3).
    public var doDummy2DDataAug: Bool
    /// `pool_op_kernel_sizes`: pooling kernel (= stride) per pooling step, one entry per axis.
    public var poolOpKernelSizes: [[Int]]
    /// `conv_kernel_sizes`: conv kernel per resolution (one more entry than ``poolOpKernelSizes``), per axis.
    public var convKernelSizes: [[Int]]

    enum CodingKeys: String, CodingKey {
        case batchSize = "batch_size", numPoolPerAxis = "num_pool_per_axis", patchSize = "patch_size"
        case medianPatientSizeInVoxels = "median_patient_size_in_voxels", currentSpacing = "current_spacing"
        case originalSpacing = "original_spacing", doDummy2DDataAug = "do_dummy_2D_data_aug"
        case poolOpKernelSizes = "pool_op_kernel_sizes", convKernelSizes = "conv_kernel_sizes"
    }

    /// Creates a stage from its fields (order and meaning as v1's `plans_per_stage` entries).
    public init(batchSize: Int, numPoolPerAxis: [Int], patchSize: [Int], medianPatientSizeInVoxels: [Int],
                currentSpacing: [Double], originalSpacing: [Double], doDummy2DDataAug: Bool,
                poolOpKernelSizes: [[Int]], convKernelSizes: [[Int]]) {
        self.batchSize = batchSize
        self.numPoolPerAxis = numPoolPerAxis
        self.patchSize = patchSize
        self.medianPatientSizeInVoxels = medianPatientSizeInVoxels
        self.currentSpacing = currentSpacing
        self.originalSpacing = originalSpacing
        self.doDummy2DDataAug = doDummy2DDataAug
        self.poolOpKernelSizes = poolOpKernelSizes
        self.convKernelSizes = convKernelSizes
    }
}

/// An nnU-Net v1 plans file, written as JSON with v1's keys (`nnUNetPlansv2.1_plans_3D.json`, ...).
///
/// Integer-keyed dicts of v1 (modalities, normalisation schemes, mask flags, stages) are JSON objects with string
/// keys `"0"`, `"1"`, ...; `keep_only_largest_region`, `min_region_size_per_class` and `min_size_per_class` are
/// always `null` as in v1. `dataset_properties` embeds the fingerprint; `list_of_npz_files` lists the cropped
/// `.npy` files. Training reads patch and batch size from here, so hand edits are honoured.
public struct Plans: Codable, Sendable, Equatable {
    /// `num_stages`: 1, or 2 when there is a 3d_lowres stage (stage 0) before 3d_fullres (stage 1).
    public var numStages: Int
    /// `num_modalities`: number of input channels.
    public var numModalities: Int
    /// `modalities`: modality index to name (from dataset.json).
    public var modalities: [Int: String]
    /// `normalization_schemes`: modality index to `CT`, `nonCT` or `noNorm`.
    public var normalizationSchemes: [Int: String]
    /// `dataset_properties`: the embedded fingerprint; nil when absent. CT normalisation reads its intensity
    /// statistics (``DatasetProperties/intensityProperties``).
    public var datasetProperties: DatasetProperties?
    /// `list_of_npz_files`: paths of the cropped cases' `.npy` files (v1's key name kept).
    public var listOfNpzFiles: [String]
    /// `original_spacings`: raw spacing of each case, (z, y, x) mm, in fingerprint case order (untransposed).
    public var originalSpacings: [[Double]]
    /// `original_sizes`: shape after cropping of each case, (z, y, x) voxels, in fingerprint case order (untransposed).
    public var originalSizes: [[Int]]
    /// `preprocessed_data_folder`: path of the task's preprocessed folder; empty when absent.
    public var preprocessedDataFolder: String
    /// Foreground classes (K − 1).
    public var numClasses: Int
    /// `all_classes`: foreground label values, ascending.
    public var allClasses: [Int]
    /// `base_num_features`: features of the network's first stage (32).
    public var baseNumFeatures: Int
    /// `use_mask_for_norm`: modality index to whether normalisation uses only the nonzero region.
    public var useMaskForNorm: [Int: Bool]
    /// `transpose_forward`: axis permutation applied to (z, y, x) data, largest-spacing axis first.
    public var transposeForward: [Int]
    /// `transpose_backward`: the inverse permutation of ``transposeForward``.
    public var transposeBackward: [Int]
    /// `data_identifier`: prefix of the stage folders (`<data_identifier>_stage0`, ...).
    public var dataIdentifier: String
    /// `plans_per_stage`: stage index to its ``StagePlan``.
    public var plansPerStage: [Int: StagePlan]
    /// `GenericPreprocessor` (3D) or `PreprocessorFor2D`.
    public var preprocessorName: String
    /// 3D plans only (2 by default); absent in 2D plans, where the trainer defaults to 2.
    public var convPerStage: Int?

    enum CodingKeys: String, CodingKey {
        case numStages = "num_stages", numModalities = "num_modalities", modalities
        case normalizationSchemes = "normalization_schemes", datasetProperties = "dataset_properties"
        case listOfNpzFiles = "list_of_npz_files", originalSpacings = "original_spacings"
        case originalSizes = "original_sizes", preprocessedDataFolder = "preprocessed_data_folder"
        case numClasses = "num_classes", allClasses = "all_classes", baseNumFeatures = "base_num_features"
        case useMaskForNorm = "use_mask_for_norm", keepOnlyLargestRegion = "keep_only_largest_region"
        case minRegionSizePerClass = "min_region_size_per_class", minSizePerClass = "min_size_per_class"
        case transposeForward = "transpose_forward", transposeBackward = "transpose_backward"
        case dataIdentifier = "data_identifier", plansPerStage = "plans_per_stage"
        case preprocessorName = "preprocessor_name", convPerStage = "conv_per_stage"
    }

    /// Creates plans from their fields; see the properties for the v1 keys.
    public init(numStages: Int, numModalities: Int, modalities: [Int: String], normalizationSchemes: [Int: String],
                datasetProperties: DatasetProperties?, listOfNpzFiles: [String], originalSpacings: [[Double]],
                originalSizes: [[Int]], preprocessedDataFolder: String, numClasses: Int, allClasses: [Int],
                baseNumFeatures: Int, useMaskForNorm: [Int: Bool], transposeForward: [Int],
                transposeBackward: [Int], dataIdentifier: String, plansPerStage: [Int: StagePlan],
                preprocessorName: String, convPerStage: Int?) {
        self.numStages = numStages
        self.numModalities = numModalities
        self.modalities = modalities
        self.normalizationSchemes = normalizationSchemes
        self.datasetProperties = datasetProperties
        self.listOfNpzFiles = listOfNpzFiles
        self.originalSpacings = originalSpacings
        self.originalSizes = originalSizes
        self.preprocessedDataFolder = preprocessedDataFolder
        self.numClasses = numClasses
        self.allClasses = allClasses
        self.baseNumFeatures = baseNumFeatures
        self.useMaskForNorm = useMaskForNorm
        self.transposeForward = transposeForward
        self.transposeBackward = transposeBackward
        self.dataIdentifier = dataIdentifier
        self.plansPerStage = plansPerStage
        self.preprocessorName = preprocessorName
        self.convPerStage = convPerStage
    }

    /// Decodes v1's keys; `dataset_properties`, `list_of_npz_files`, `preprocessed_data_folder`,
    /// `preprocessor_name` (default `GenericPreprocessor`) and `conv_per_stage` may be missing. A field that is
    /// present but malformed (including anything inside `dataset_properties`) throws a `DecodingError` whose coding
    /// path names it; nothing is dropped silently.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        numStages = try c.decode(Int.self, forKey: .numStages)
        numModalities = try c.decode(Int.self, forKey: .numModalities)
        modalities = try c.decode([Int: String].self, forKey: .modalities)
        normalizationSchemes = try c.decode([Int: String].self, forKey: .normalizationSchemes)
        datasetProperties = try c.decodeIfPresent(DatasetProperties.self, forKey: .datasetProperties)
        listOfNpzFiles = try c.decodeIfPresent([String].self, forKey: .listOfNpzFiles) ?? []
        originalSpacings = try c.decode([[Double]].self, forKey: .originalSpacings)
        originalSizes = try c.decode([[Int]].self, forKey: .originalSizes)
        preprocessedDataFolder = try c.decodeIfPresent(String.self, forKey: .preprocessedDataFolder) ?? ""
        numClasses = try c.decode(Int.self, forKey: .numClasses)
        allClasses = try c.decode([Int].self, forKey: .allClasses)
        baseNumFeatures = try c.decode(Int.self, forKey: .baseNumFeatures)
        useMaskForNorm = try c.decode([Int: Bool].self, forKey: .useMaskForNorm)
        transposeForward = try c.decode([Int].self, forKey: .transposeForward)
        transposeBackward = try c.decode([Int].self, forKey: .transposeBackward)
        dataIdentifier = try c.decode(String.self, forKey: .dataIdentifier)
        plansPerStage = try c.decode([Int: StagePlan].self, forKey: .plansPerStage)
        preprocessorName = try c.decodeIfPresent(String.self, forKey: .preprocessorName) ?? "GenericPreprocessor"
        convPerStage = try c.decodeIfPresent(Int.self, forKey: .convPerStage)
    }

    /// Encodes every v1 key, with `keep_only_largest_region`, `min_region_size_per_class` and `min_size_per_class` as
    /// `null`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(numStages, forKey: .numStages)
        try c.encode(numModalities, forKey: .numModalities)
        try c.encode(modalities, forKey: .modalities)
        try c.encode(normalizationSchemes, forKey: .normalizationSchemes)
        try c.encodeIfPresent(datasetProperties, forKey: .datasetProperties)
        try c.encode(listOfNpzFiles, forKey: .listOfNpzFiles)
        try c.encode(originalSpacings, forKey: .originalSpacings)
        try c.encode(originalSizes, forKey: .originalSizes)
        try c.encode(preprocessedDataFolder, forKey: .preprocessedDataFolder)
        try c.encode(numClasses, forKey: .numClasses)
        try c.encode(allClasses, forKey: .allClasses)
        try c.encode(baseNumFeatures, forKey: .baseNumFeatures)
        try c.encode(useMaskForNorm, forKey: .useMaskForNorm)
        try c.encodeNil(forKey: .keepOnlyLargestRegion)
        try c.encodeNil(forKey: .minRegionSizePerClass)
        try c.encodeNil(forKey: .minSizePerClass)
        try c.encode(transposeForward, forKey: .transposeForward)
        try c.encode(transposeBackward, forKey: .transposeBackward)
        try c.encode(dataIdentifier, forKey: .dataIdentifier)
        try c.encode(plansPerStage, forKey: .plansPerStage)
        try c.encode(preprocessorName, forKey: .preprocessorName)
        try c.encodeIfPresent(convPerStage, forKey: .convPerStage)
    }

    /// The stage plan for index `i` (2d and 3d_lowres use stage 0, 3d_fullres the last stage).
    public func stage(_ i: Int) -> StagePlan? { plansPerStage[i] }

    /// Whether the plans contain a 3d_lowres stage (two stages).
    public var hasLowresStage: Bool { numStages > 1 }

    /// Reads a plans JSON file.
    public static func load(from url: URL) throws -> Plans { try JSONFile.decode(Plans.self, from: url) }

    /// Writes the plans JSON atomically (sorted keys, indented).
    public func write(to url: URL) throws { try JSONFile.write(self, to: url) }
}
