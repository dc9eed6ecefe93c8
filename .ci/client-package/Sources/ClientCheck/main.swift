// A client program written against the package's public API only: a trainer variant (a subclass of
// NNUNetTrainerV2 with its own loss), registered and trained for a few iterations on a tiny generated task.
import Foundation
import NNUNetCore
import NNUNetPlanning
import NNUNetTraining

/// Soft Dice only, instead of v1's Dice + cross-entropy.
final class ClientDiceTrainer: NNUNetTrainerV2 {
    override class var trainerName: String { "nnUNetTrainerV2_ClientDice" }

    override func makeLoss() -> any SegmentationLoss {
        SoftDiceLoss(batchDice: configuration.usesBatchDice)
    }
}

let work = URL(fileURLWithPath: CommandLine.arguments.dropFirst().first ?? "client_check_work", isDirectory: true)
do {
    var registry = TrainerRegistry()
    registry.register(ClientDiceTrainer.self, as: ClientDiceTrainer.trainerName)
    let paths = NNUNetPaths.inside(work)
    var synthetic = SyntheticTaskConfiguration()
    synthetic.taskID = 777
    synthetic.name = "ClientCheck"
    synthetic.trainingCases = 5
    synthetic.testCases = 0
    synthetic.shape = [16, 20, 16]
    try SyntheticTaskGenerator.generate(synthetic, rawDataFolder: try paths.rawData())
    var options = PlanAndPreprocess.Options()
    options.planner2D = nil
    try PlanAndPreprocess.run(taskName: "Task777_ClientCheck", paths: paths, options: options)

    var request = TrainingRequest(configuration: .fullres, trainerName: ClientDiceTrainer.trainerName,
                                  task: "777", fold: .index(0))
    request.epochs = 1
    request.iterationsPerEpoch = 2
    request.validationIterations = 1
    request.runsValidation = false
    let trainer = try TrainingRunner.train(request, paths: paths, registry: registry)
    guard type(of: trainer) == ClientDiceTrainer.self, trainer.log.trainLosses.count == 1,
          trainer.log.trainLosses.allSatisfy(\.isFinite) else {
        print("client check: unexpected training result \(type(of: trainer)) \(trainer.log.trainLosses)")
        exit(1)
    }
    print("client check: trained \(type(of: trainer).trainerName), loss \(trainer.log.trainLosses[0])")
} catch {
    print("client check: \(error)")
    exit(1)
}
