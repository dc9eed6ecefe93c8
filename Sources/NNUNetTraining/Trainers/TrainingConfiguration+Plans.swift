import Foundation
import NNUNetCore
import NNUNetPlanning

extension TrainingConfiguration {
    /// The plans file of a configuration: `<plansIdentifier>_plans_2D.json` for `2d`, `..._plans_3D.json` otherwise.
    public static func plansFile(configuration: NetworkConfiguration, plansIdentifier: String, taskFolder: URL) -> URL {
        taskFolder.appendingPathComponent(plansIdentifier
                                          + (configuration.isTwoD ? "_plans_2D.json" : "_plans_3D.json"))
    }

    /// Builds the configuration of one stage of a plans file (v1 `nnUNetTrainer.process_plans`): stage 0 for `2d` and
    /// `3d_lowres`, the last stage otherwise; batch Dice per §6.2; K = num_classes + 1.
    ///
    /// - Throws: ``TrainingError/missingData(_:)`` when the configuration does not exist in these plans.
    public init(plans: Plans, configuration: NetworkConfiguration, taskName: String, fold: Int?,
                plansIdentifier: String, preprocessedTaskFolder: URL?) throws {
        if configuration.needsLowresStage, !plans.hasLowresStage {
            throw TrainingError.missingData("\(taskName) has no 3d_lowres stage (its plans have one stage), so "
                                            + "'\(configuration)' does not exist for it; use 3d_fullres")
        }
        let stageIndex = configuration.stageIndex(stageCount: plans.numStages)
        guard let stage = plans.stage(stageIndex) else {
            throw TrainingError.missingData("the plans have no stage \(stageIndex)")
        }
        let batchDice = configuration.isTwoD || configuration.isCascade
            || (configuration == .fullres && plans.numStages > 1)
        let cascadeChannels = configuration.isCascade ? plans.numClasses : 0
        self.init(configuration: configuration, taskName: taskName, fold: fold, plansIdentifier: plansIdentifier,
                  inputChannels: plans.numModalities + cascadeChannels, classCount: plans.numClasses + 1,
                  baseFeatures: plans.baseNumFeatures, poolKernels: stage.poolOpKernelSizes,
                  convKernels: stage.convKernelSizes, convsPerStage: plans.convPerStage ?? 2,
                  patchSize: stage.patchSize, batchSize: stage.batchSize, usesBatchDice: batchDice)
        doesDummy2DAugmentation = stage.doDummy2DDataAug
        usesMaskForNormalization = (0..<plans.numModalities).map { plans.useMaskForNorm[$0] ?? false }
        preprocessedFolder = preprocessedTaskFolder?
            .appendingPathComponent("\(plans.dataIdentifier)_stage\(stageIndex)").path
    }
}

extension TrainingConfiguration {
    /// The configuration's `GenericUNet` with placeholder initial weights (seed 0), for loading a checkpoint into.
    public func makeInferenceNetwork() -> GenericUNet {
        var generator = SeededGenerator(seed: 0)
        return GenericUNet(inputChannels: inputChannels, baseFeatures: baseFeatures, classCount: classCount,
                           poolKernels: poolKernels, convKernels: convKernels, convsPerStage: convsPerStage,
                           generator: &generator)
    }
}
