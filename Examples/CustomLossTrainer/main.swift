// Example: swap nnU-Net's loss by subclassing the trainer, register it, and train through the same code path as
// `nnunet train` (the FAQ's "create a new trainer class ... derive from the trainer ... overwrite that function").
//
//   swift run -c release CustomLossTrainer [WORK_FOLDER] [--epochs N] [--iterations N]
//
// It generates a small synthetic task in WORK_FOLDER (default ./custom_loss_example), plans and preprocesses it, and
// trains 3d_fullres fold 0 with `nnUNetTrainerV2_DiceFocal`: soft Dice + focal loss (gamma 2) instead of Dice + CE.
import Foundation
import NNUNetCore
import NNUNetPlanning
import NNUNetTraining

/// Focal loss (Lin et al. 2017): −mean((1 − p_t)^γ · log p_t), written with tensor ops only, so the autograd tape
/// derives its gradient (no backward code).
struct FocalLoss: SegmentationLoss {
    var gamma: Float = 2

    func callAsFunction(logits: Tensor, target: Tensor) -> Tensor {
        let oneHot = Tensor.oneHot(target, classCount: logits.shape[1])
        let logProbability = (logSoftmax(logits, axis: 1) * oneHot).sum(axes: [1])   // log p_t per voxel
        let probability = logProbability.exp()
        var weight = 1 - probability
        for _ in 1..<Int(gamma) { weight = weight * (1 - probability) }               // (1 − p_t)^γ for integer γ
        return -1 * (weight * logProbability).mean()
    }
}

/// Soft Dice + focal loss; everything else (deep supervision, optimizer, schedule, data) is nnUNetTrainerV2's.
final class DiceFocalTrainer: NNUNetTrainerV2 {
    override class var trainerName: String { "nnUNetTrainerV2_DiceFocal" }

    override func makeLoss() -> any SegmentationLoss {
        let dice = SoftDiceLoss(batchDice: configuration.usesBatchDice)
        let focal = FocalLoss(gamma: 2)
        return AnyLoss { logits, target in dice(logits: logits, target: target) + focal(logits: logits, target: target) }
    }
}

let arguments = Array(CommandLine.arguments.dropFirst())
func option(_ name: String, in arguments: [String], default value: Int) -> Int {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return value }
    return Int(arguments[index + 1]) ?? value
}
let epochs = option("--epochs", in: arguments, default: 2)
let iterations = option("--iterations", in: arguments, default: 5)
let folderArgument = arguments.first { !$0.hasPrefix("--") && Int($0) == nil }
let work = URL(fileURLWithPath: folderArgument ?? "custom_loss_example", isDirectory: true).standardizedFileURL

do {
    ProcessTuning.apply()   // the process-wide settings nnunet makes (OpenBLAS on one thread, allocator tuned)
    // The runner knows only the trainers of the registry it is given: the built-in ones plus ours.
    var registry = TrainerRegistry()
    registry.register(DiceFocalTrainer.self, as: DiceFocalTrainer.trainerName)
    let paths = NNUNetPaths.inside(work)
    var synthetic = SyntheticTaskConfiguration()
    synthetic.taskID = 510
    synthetic.name = "CustomLoss"
    synthetic.trainingCases = 6
    synthetic.testCases = 0
    synthetic.shape = [24, 28, 24]
    try SyntheticTaskGenerator.generate(synthetic, rawDataFolder: try paths.rawData())
    var options = PlanAndPreprocess.Options()
    options.planner2D = nil
    try PlanAndPreprocess.run(taskName: "Task510_CustomLoss", paths: paths, options: options)

    var request = TrainingRequest(configuration: .fullres, trainerName: DiceFocalTrainer.trainerName,
                                  task: "510", fold: .index(0))
    request.epochs = epochs
    request.iterationsPerEpoch = iterations
    request.validationIterations = 2
    request.runsValidation = false
    let trainer = try TrainingRunner.train(request, paths: paths, registry: registry)
    print("trained \(type(of: trainer).trainerName) for \(trainer.log.epoch) epochs; losses per epoch: "
          + trainer.log.trainLosses.map { String(format: "%.4f", $0) }.joined(separator: ", "))
    print("checkpoints in \(trainer.outputFolder.path)")
} catch {
    print("error: \(error)")
    exit(1)
}
