import Foundation
import NNUNetCore

/// What a trainer needs to know about the configuration it trains: the network topology and the patch/batch
/// geometry from the plans stage, and where the run belongs (task, configuration, fold).
public struct TrainingConfiguration: Codable, Sendable, Equatable {
    /// `2d`, `3d_lowres`, `3d_fullres` or `3d_cascade_fullres` (JSON key `configurationName`, as checkpoints
    /// record it).
    public var configuration: NetworkConfiguration
    /// The task folder name, `TaskXXX_NAME`.
    public var taskName: String
    /// Fold index, or nil for `all`.
    public var fold: Int?
    /// Plans identifier, e.g. `nnUNetPlansv2.1`.
    public var plansIdentifier: String
    /// Input channels (modalities; plus K-1 for the cascade).
    public var inputChannels: Int
    /// Classes including background (K).
    public var classCount: Int
    /// Features of the first stage (plans `base_num_features`).
    public var baseFeatures: Int
    /// Pooling kernels (= strides) per pooling step (stage `pool_op_kernel_sizes`).
    public var poolKernels: [[Int]]
    /// Conv kernels per resolution, one more than ``poolKernels`` (stage `conv_kernel_sizes`).
    public var convKernels: [[Int]]
    /// Conv blocks per stage (plans `conv_per_stage`, default 2).
    public var convsPerStage: Int
    /// The network's patch in voxels, 2 or 3 entries (stage `patch_size`).
    public var patchSize: [Int]
    /// Patches per batch (stage `batch_size`).
    public var batchSize: Int
    /// v1 §6.2: batch Dice for 2d, cascade, and 3d_fullres of two-stage plans.
    public var usesBatchDice: Bool
    /// Plans flag: rotate in-plane only (anisotropic patches).
    public var doesDummy2DAugmentation = false
    /// Per modality: zero the data outside the nonzero mask after augmentation (plans `use_mask_for_norm`).
    public var usesMaskForNormalization: [Bool] = []
    /// The preprocessed stage folder (`.../nnUNetData_plans_v2.1_stage0`), when training from preprocessed data.
    public var preprocessedFolder: String?

    /// Creates a configuration from its fields; the initialiser that takes `plans` reads them from a plans file.
    public init(configuration: NetworkConfiguration, taskName: String, fold: Int?,
                plansIdentifier: String = "nnUNetPlansv2.1", inputChannels: Int, classCount: Int, baseFeatures: Int = 32,
                poolKernels: [[Int]], convKernels: [[Int]], convsPerStage: Int = 2, patchSize: [Int], batchSize: Int,
                usesBatchDice: Bool) {
        self.configuration = configuration
        self.taskName = taskName
        self.fold = fold
        self.plansIdentifier = plansIdentifier
        self.inputChannels = inputChannels
        self.classCount = classCount
        self.baseFeatures = baseFeatures
        self.poolKernels = poolKernels
        self.convKernels = convKernels
        self.convsPerStage = convsPerStage
        self.patchSize = patchSize
        self.batchSize = batchSize
        self.usesBatchDice = usesBatchDice
    }

    /// The fold folder name: `fold_k` or `all`.
    public var foldFolderName: String { Fold(index: fold).folderName }

    /// The JSON keys, unchanged since configurations were strings: checkpoints record the configuration as
    /// `configurationName`.
    enum CodingKeys: String, CodingKey {
        case configuration = "configurationName"
        case taskName, fold, plansIdentifier, inputChannels, classCount, baseFeatures, poolKernels, convKernels
        case convsPerStage, patchSize, batchSize, usesBatchDice, doesDummy2DAugmentation, usesMaskForNormalization
        case preprocessedFolder
    }
}
