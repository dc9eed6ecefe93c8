import Foundation
import NNUNetCore
import NNUNetPlanning

extension TrainingConfiguration {
    /// The configurations nnU-Net v1 trains.
    public static let configurationNames = ["2d", "3d_lowres", "3d_fullres", "3d_cascade_fullres"]

    /// The plans file of a configuration: `<plansIdentifier>_plans_2D.json` for `2d`, `..._plans_3D.json` otherwise.
    public static func plansFile(configurationName: String, plansIdentifier: String, taskFolder: URL) -> URL {
        taskFolder.appendingPathComponent(plansIdentifier + (configurationName == "2d" ? "_plans_2D.json" : "_plans_3D.json"))
    }

    /// Builds the configuration of one stage of a plans file (v1 `nnUNetTrainer.process_plans`): stage 0 for `2d` and
    /// `3d_lowres`, the last stage otherwise; batch Dice per §6.2; K = num_classes + 1.
    ///
    /// - Throws: ``TrainingError/missingData(_:)`` when the configuration does not exist in these plans.
    public init(plans: Plans, configurationName: String, taskName: String, fold: Int?, plansIdentifier: String,
                preprocessedTaskFolder: URL?) throws {
        guard Self.configurationNames.contains(configurationName) else {
            throw TrainingError.missingData("unknown configuration '\(configurationName)'; choose one of "
                                            + Self.configurationNames.joined(separator: ", "))
        }
        if configurationName == "3d_lowres" || configurationName == "3d_cascade_fullres", !plans.hasLowresStage {
            throw TrainingError.missingData("\(taskName) has no 3d_lowres stage (its plans have one stage), so "
                                            + "'\(configurationName)' does not exist for it; use 3d_fullres")
        }
        let stageIndex = configurationName == "2d" || configurationName == "3d_lowres" ? 0 : plans.numStages - 1
        guard let stage = plans.stage(stageIndex) else {
            throw TrainingError.missingData("the plans have no stage \(stageIndex)")
        }
        let batchDice = configurationName == "2d" || configurationName == "3d_cascade_fullres"
            || (configurationName == "3d_fullres" && plans.numStages > 1)
        let cascadeChannels = configurationName == "3d_cascade_fullres" ? plans.numClasses : 0
        self.init(configurationName: configurationName, taskName: taskName, fold: fold, plansIdentifier: plansIdentifier,
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
