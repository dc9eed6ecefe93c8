import Foundation
import NNUNetCore
import NNUNetPlanning
import NNUNetTestSupport
import Testing
@testable import NNUNetTraining

/// Issue #21 in training: one-file checkpoints, `-c` past a damaged checkpoint, one trainer per fold, no temporary
/// files left behind, and runs that stop (without saving) when the loss or the weights become non-finite.
@Suite("Faults in training", .serialized)
struct TrainingFaultTests {
    /// A trainer whose loss becomes NaN from epoch `nanFromEpoch` on: multiplied by NaN (the weights become NaN through
    /// the gradients) or shifted by NaN (the weights stay finite, only the loss is NaN).
    final class NaNLossTrainer: NNUNetTrainerV2 {
        override class var trainerName: String { "NaNLossTrainer" }
        var nanFromEpoch = 1
        var poisonsWeights = true
        var steps = 0

        override func makeLoss() -> any SegmentationLoss {
            let dice = SoftDiceLoss(batchDice: configuration.usesBatchDice)
            return AnyLoss { [unowned self] logits, target in
                let value = dice(logits: logits, target: target)
                guard self.log.epoch >= self.nanFromEpoch else { return value }
                return self.poisonsWeights ? value * Float.nan : value + Float.nan
            }
        }

        override func trainStep(_ batch: TrainingBatch) -> StepResult {
            steps += 1
            return super.trainStep(batch)
        }
    }

    static func nanTrainer(folder: URL, epochs: Int, poisonsWeights: Bool) -> NaNLossTrainer {
        let trainer = TrainerFixtures.trainer(NaNLossTrainer.self, folder: folder, epochs: epochs)
        trainer.poisonsWeights = poisonsWeights
        return trainer
    }

    static func temporaries(in folder: URL) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: folder.path)
        return (enumerator?.allObjects as? [String] ?? []).filter { ($0 as NSString).lastPathComponent.hasPrefix(".tmp-") }
    }

    // MARK: One file per checkpoint

    @Test("a checkpoint is one file: its metadata is in the safetensors header; the .json copy is never needed")
    func singleFileCheckpoint() throws {
        try TestSupport.withTemporaryFolder { folder in
            let trainer = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder, epochs: 1)
            try trainer.runTraining()
            let final = folder.appendingPathComponent("model_final_checkpoint.model")
            let (_, fileMetadata) = try Safetensors.read(contentsOf: final)
            let embedded = try #require(fileMetadata["nnunet_checkpoint"])
            #expect(embedded.contains("\"trainer\" : \"nnUNetTrainerV2\""))
            // The readable copy is written after the weights; a kill in between (or deleting it) changes nothing.
            try FileManager.default.removeItem(at: final.appendingPathExtension("json"))
            let (metadata, tensors) = try NetworkTrainer.readCheckpoint(final)
            #expect(metadata.epoch == 1 && tensors["conv_blocks_context.0.blocks.0.conv.weight"] != nil)
            let network = try #require(trainer.network as? GenericUNet)
            let report = try PretrainedWeights.load(final, into: network)
            #expect(report.kept.isEmpty)
            // A copy that belongs to another save is ignored too.
            try Data("{\"token\": \"other\"}".utf8).write(to: final.appendingPathExtension("json"))
            #expect(try NetworkTrainer.readCheckpoint(final).metadata.epoch == 1)
        }
    }

    /// Writes a checkpoint as earlier versions did: weights with only a token, metadata in the `.json` sidecar.
    static func writeLegacyPair(from url: URL, weightsToken: String, jsonToken: String) throws {
        let (metadata, tensors) = try NetworkTrainer.readCheckpoint(url)
        var sidecar = metadata
        sidecar.token = jsonToken
        let ordered = tensors.sorted { $0.key < $1.key }.map { (name: $0.key, tensor: $0.value) }
        try Safetensors.write(ordered, metadata: ["format": "nnunet-swift", "token": weightsToken], to: url)
        try AtomicFile.write(try sidecar.encodedJSON(), to: url.appendingPathExtension("json"))
    }

    @Test("checkpoints of earlier versions (weights + .json with one token) still load; a torn pair does not")
    func legacyPairs() throws {
        try TestSupport.withTemporaryFolder { folder in
            let trainer = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder, epochs: 1)
            try trainer.runTraining()
            let final = folder.appendingPathComponent("model_final_checkpoint.model")
            try Self.writeLegacyPair(from: final, weightsToken: "A", jsonToken: "A")
            #expect(try NetworkTrainer.readCheckpoint(final).metadata.epoch == 1)
            try Self.writeLegacyPair(from: final, weightsToken: "B", jsonToken: "A")
            #expect(throws: TrainingError.self) { try NetworkTrainer.readCheckpoint(final) }
        }
    }

    // MARK: -c past damaged checkpoints

    @Test("-c takes the newest intact checkpoint and moves a torn or truncated one aside, never deleting it")
    func continueSkipsDamagedCheckpoints() throws {
        try TestSupport.withTemporaryFolder { folder in
            // Crash in epoch 1 of 2: model_latest and model_best of epoch 1 exist.
            let crashing = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder, failAt: 4)
            #expect(throws: TrainingError.self) { try crashing.runTraining() }
            let latest = folder.appendingPathComponent("model_latest.model")
            let best = folder.appendingPathComponent("model_best.model")
            #expect(try NetworkTrainer.readCheckpoint(best).metadata.epoch == 1)
            // The state a kill between the two renames of an earlier version left: weights of one save, .json of
            // another. Before, -c chose model_latest by its existence and failed.
            try Self.writeLegacyPair(from: latest, weightsToken: "new save", jsonToken: "old save")
            let resumed = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder)
            let selection = try resumed.selectCheckpointToContinue()
            #expect(selection.checkpoint?.lastPathComponent == "model_best.model" && selection.epoch == 1)
            let damaged = try #require(selection.damaged.first)
            #expect(damaged.url.lastPathComponent == "model_latest.model")
            #expect(damaged.reason.contains("different saves"))
            let movedTo = try #require(damaged.movedTo)
            #expect(movedTo.lastPathComponent.hasPrefix("model_latest.model.damaged-"))
            #expect(FileManager.default.fileExists(atPath: movedTo.path))
            #expect(!FileManager.default.fileExists(atPath: latest.path))
            #expect(selection.explanation.contains("Continuing from model_best.model (epoch 1)")
                    && selection.explanation.contains("model_latest.model is damaged"))
            try resumed.loadCheckpoint(from: try #require(selection.checkpoint))
            try resumed.runTraining()
            #expect(resumed.log.epoch == 2)

            // A truncated final checkpoint (a copy cut short, a bad disk): -c falls back to model_best.
            let final = folder.appendingPathComponent("model_final_checkpoint.model")
            let bytes = try Data(contentsOf: final)
            try bytes.prefix(bytes.count / 2).write(to: final)
            let again = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder)
            let second = try again.selectCheckpointToContinue()
            #expect(second.checkpoint?.lastPathComponent == "model_best.model")
            #expect(second.damaged.map(\.url.lastPathComponent) == ["model_final_checkpoint.model"])
            let aside = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains(".damaged-") }
            #expect(aside.count == 4, "\(aside)")  // two checkpoints, each with its .json copy
        }
    }

    @Test("the newest checkpoint wins: a latest of a later epoch beats an older final")
    func newestCheckpointWins() throws {
        try TestSupport.withTemporaryFolder { folder in
            let first = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder, epochs: 1)
            try first.runTraining()
            // Continue to 3 epochs, crash in epoch 2: model_latest (epoch 2) is newer than model_final (epoch 1).
            let continued = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder, epochs: 3, failAt: 3)
            try continued.loadCheckpoint(from: folder.appendingPathComponent("model_final_checkpoint.model"))
            continued.hyperparameters.maxEpochs = 3
            #expect(throws: TrainingError.self) { try continued.runTraining() }
            let selection = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder).inspectCheckpoints()
            #expect(selection.checkpoint?.lastPathComponent == "model_latest.model" && selection.epoch == 2)
        }
    }

    // MARK: One trainer per fold

    @Test("a second trainer on a fold fails at once, naming the first's pid and start time")
    func secondTrainerOnAFold() throws {
        try TestSupport.withTemporaryFolder { folder in
            let first = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder, epochs: 1)
            try first.lockOutputFolder(purpose: "the first trainer")
            let second = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder, epochs: 1)
            let start = Date()
            do {
                try second.runTraining()
                Issue.record("two trainers ran on one fold")
            } catch let error as CoreError {
                #expect(error.description.contains("pid \(getpid())") && error.description.contains("started")
                        && error.description.contains("the first trainer"), "\(error)")
            }
            #expect(Date().timeIntervalSince(start) < 5)
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("model_final_checkpoint.model").path))
            first.unlockOutputFolder()
            try second.runTraining()
            #expect(second.log.epoch == 1)
            #expect(!FileManager.default.fileExists(atPath: FolderLock.lockFile(in: folder).path))
        }
    }

    @Test("two trainers started together on one fold from two threads: exactly one trains")
    func twoThreadsOneFold() throws {
        try TestSupport.withTemporaryFolder { folder in
            final class Outcome: @unchecked Sendable {
                let lock = NSLock()
                var errors: [String] = []
                var finished = 0
            }
            final class Trainers: @unchecked Sendable {
                let all: [NNUNetTrainerV2]
                init(_ all: [NNUNetTrainerV2]) { self.all = all }
            }
            let outcome = Outcome()
            let shared = Trainers((0..<2).map { _ in
                TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder, epochs: 1)
            })
            DispatchQueue.concurrentPerform(iterations: 2) { index in
                do {
                    try shared.all[index].runTraining()
                    outcome.lock.withLock { outcome.finished += 1 }
                } catch {
                    outcome.lock.withLock { outcome.errors.append("\(error)") }
                }
            }
            // Either one ran while the other was refused, or (rarely) the first finished before the second started.
            #expect(outcome.finished + outcome.errors.count == 2)
            for error in outcome.errors { #expect(error.contains("is in use by another run") && error.contains("pid")) }
        }
    }

    // MARK: Temporary files

    @Test("training removes stray temporaries of dead writers from the fold folder, and keeps live ones")
    func strayTemporariesAreRemoved() throws {
        try TestSupport.withTemporaryFolder { root in
            let folder = root.appendingPathComponent("fold_0")
            let dead: Int32 = try {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/bin/true")
                try process.run()
                process.waitUntilExit()
                return process.processIdentifier
            }()
            let validation = folder.appendingPathComponent("validation_raw")
            let groundTruth = root.appendingPathComponent("gt_niftis")  // shared by the folds of the trainer folder
            for subfolder in [validation, groundTruth] {
                try FileManager.default.createDirectory(at: subfolder, withIntermediateDirectories: true)
            }
            func strayName(_ name: String) -> String { ".tmp-\(dead)@\(TemporaryFile.hostTag)-\(UUID().uuidString)-\(name)" }
            let stray = [folder.appendingPathComponent(strayName("model_latest.model")),
                         validation.appendingPathComponent(strayName("case.nii.gz")),
                         groundTruth.appendingPathComponent(strayName("case.nii.gz"))]
            let old = folder.appendingPathComponent(".tmp-\(UUID().uuidString)-model_best.model")
            let live = folder.appendingPathComponent(TemporaryFile.name(for: "being-written"))
            for url in stray + [old, live] { try Data(count: 1000).write(to: url) }
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)],
                                                  ofItemAtPath: old.path)
            let trainer = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: folder, epochs: 1)
            try trainer.runTraining()
            #expect(Self.temporaries(in: root) == ["fold_0/" + live.lastPathComponent])
            let log = try String(contentsOf: try #require(trainer.logFile?.url), encoding: .utf8)
            #expect(log.contains("Removed 4 temporary file(s) left by an interrupted run"))
        }
    }

    @Test("a full disk stops training without temporaries or damaged checkpoints; after freeing space -c finishes",
          .enabled(if: Tmpfs.isAvailable, Tmpfs.reason))
    func diskFullDuringTraining() throws {
        try Tmpfs.with { folder in
            let fold = folder.appendingPathComponent("fold_0")
            let first = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: fold, epochs: 1)
            try first.runTraining()
            // Leave about 20 kB: the next checkpoint (weights and momentum, over 100 kB) cannot be written.
            let filler = folder.appendingPathComponent("filler")
            let free = try #require(try FileManager.default.attributesOfFileSystem(forPath: folder.path)[.systemFreeSize]
                as? Int)
            try Data(count: max(free - 20_000, 0)).write(to: filler)
            let continued = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: fold, epochs: 2)
            try continued.loadCheckpoint(from: try #require(continued.checkpointToContinue()))
            continued.hyperparameters.maxEpochs = 2  // as `-c --epochs 2`
            #expect(throws: CoreError.self) { try continued.runTraining() }
            #expect(continued.log.epoch == 2, "the failure must come from saving epoch 2's checkpoints")
            #expect(Self.temporaries(in: folder).isEmpty, "\(Self.temporaries(in: folder))")
            #expect(try NetworkTrainer.readCheckpoint(fold.appendingPathComponent("model_final_checkpoint.model"))
                .metadata.epoch == 1)
            try FileManager.default.removeItem(at: filler)
            let again = TrainerFixtures.trainer(NNUNetTrainerV2.self, folder: fold, epochs: 2)
            try again.loadCheckpoint(from: try #require(again.checkpointToContinue()))
            again.hyperparameters.maxEpochs = 2
            try again.runTraining()
            #expect(again.log.epoch == 2 && Self.temporaries(in: folder).isEmpty)
        }
    }

    // MARK: Non-finite loss and weights

    @Test("NaN weights are never saved: the run stops naming the last finite checkpoint, and -c resumes from it")
    func nanWeightsAreNotSaved() throws {
        try TestSupport.withTemporaryFolder { folder in
            let trainer = Self.nanTrainer(folder: folder, epochs: 3, poisonsWeights: true)
            do {
                try trainer.runTraining()
                Issue.record("training went on with NaN weights")
            } catch let error as TrainingError {
                guard case let .nonFiniteTraining(_, epoch, problem, last) = error else { throw error }
                #expect(epoch == 2 && problem.contains("weights became non-finite"), "\(error)")
                #expect(last == "model_latest.model (epoch 1)", "\(error)")
                #expect(error.description.contains("-c"))
            }
            let latest = folder.appendingPathComponent("model_latest.model")
            let (metadata, tensors) = try NetworkTrainer.readCheckpoint(latest)
            #expect(metadata.epoch == 1 && tensors.values.allSatisfy { $0.values.allSatisfy { $0.isFinite } })
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("model_final_checkpoint.model").path))
            // -c (with a loss that is finite again, e.g. after lowering the learning rate) resumes from it.
            let resumed = Self.nanTrainer(folder: folder, epochs: 3, poisonsWeights: true)
            resumed.nanFromEpoch = 100
            let selection = try resumed.selectCheckpointToContinue()
            #expect(selection.checkpoint == latest && selection.damaged.isEmpty)
            try resumed.loadCheckpoint(from: latest)
            try resumed.runTraining()
            #expect(resumed.log.epoch == 3 && resumed.log.trainLosses.prefix(1) == trainer.log.trainLosses.prefix(1))
        }
    }

    @Test("training stops after nonFiniteLossLimit (5) consecutive non-finite losses")
    func consecutiveNonFiniteLosses() throws {
        try TestSupport.withTemporaryFolder { folder in
            let trainer = Self.nanTrainer(folder: folder, epochs: 3, poisonsWeights: false)
            trainer.hyperparameters.iterationsPerEpoch = 8
            do {
                try trainer.runTraining()
                Issue.record("training went on with a NaN loss")
            } catch let error as TrainingError {
                guard case let .nonFiniteTraining(_, epoch, problem, last) = error else { throw error }
                #expect(epoch == 1 && problem.contains("5 consecutive iterations"), "\(error)")
                #expect(last == "model_latest.model (epoch 1)")
            }
            // Epoch 0 (8 steps), then 5 NaN steps: the epoch was stopped early.
            #expect(trainer.steps == 8 + TrainingHyperparameters.nonFiniteLossLimit)
            let log = try String(contentsOf: try #require(trainer.logFile?.url), encoding: .utf8)
            #expect(log.contains("Training stopped in epoch 1"))
        }
    }
}

