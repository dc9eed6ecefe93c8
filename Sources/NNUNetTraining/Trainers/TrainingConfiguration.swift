import Foundation

/// What a trainer needs to know about the configuration it trains: the network topology and the patch/batch
/// geometry from the plans stage, and where the run belongs (task, configuration, fold).
public struct TrainingConfiguration: Codable, Sendable, Equatable {
    /// `2d`, `3d_lowres`, `3d_fullres` or `3d_cascade_fullres`.
    public var configurationName: String
    public var taskName: String
    /// Fold index, or nil for `all`.
    public var fold: Int?
    public var plansIdentifier: String
    /// Input channels (modalities; plus K-1 for the cascade).
    public var inputChannels: Int
    /// Classes including background (K).
    public var classCount: Int
    public var baseFeatures: Int
    public var poolKernels: [[Int]]
    public var convKernels: [[Int]]
    public var convsPerStage: Int
    public var patchSize: [Int]
    public var batchSize: Int
    /// v1 §6.2: batch Dice for 2d, cascade, and 3d_fullres of two-stage plans.
    public var usesBatchDice: Bool
    /// Plans flag: rotate in-plane only (anisotropic patches).
    public var doesDummy2DAugmentation = false
    /// Per modality: zero the data outside the nonzero mask after augmentation (plans `use_mask_for_norm`).
    public var usesMaskForNormalization: [Bool] = []
    /// The preprocessed stage folder (`.../nnUNetData_plans_v2.1_stage0`), when training from preprocessed data.
    public var preprocessedFolder: String?

    public init(configurationName: String, taskName: String, fold: Int?, plansIdentifier: String = "nnUNetPlansv2.1",
                inputChannels: Int, classCount: Int, baseFeatures: Int = 32, poolKernels: [[Int]],
                convKernels: [[Int]], convsPerStage: Int = 2, patchSize: [Int], batchSize: Int, usesBatchDice: Bool) {
        self.configurationName = configurationName
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
    public var foldFolderName: String { fold.map { "fold_\($0)" } ?? "all" }
}
