import Foundation

/// Finds trainer classes by their v1 name (`nnUNetTrainerV2`, `nnUNetTrainerV2_5epochs`, ...), including trainers
/// that a user's own program registers before handing control to the same code path as the CLI.
///
/// ```swift
/// final class MyTrainer: NNUNetTrainerV2 { override func makeLoss() -> any SegmentationLoss { ... } }
/// TrainerRegistry.shared.register(MyTrainer.self, as: "MyTrainer")
/// ```
///
/// `@unchecked Sendable`: `trainers` is only read and written under `lock`.
public final class TrainerRegistry: @unchecked Sendable {
    /// The process-wide registry, pre-filled with the built-in trainers.
    public static let shared = TrainerRegistry()

    private var trainers: [String: NNUNetTrainer.Type] = [:]
    private let lock = NSLock()

    init() {
        register(NNUNetTrainerV2.self, as: "nnUNetTrainerV2")
        register(NNUNetTrainerV2_5epochs.self, as: "nnUNetTrainerV2_5epochs")
        register(NNUNetTrainerV2_Loss_Dice.self, as: "nnUNetTrainerV2_Loss_Dice")
        register(NNUNetTrainerV2_Loss_CE.self, as: "nnUNetTrainerV2_Loss_CE")
        register(NNUNetTrainerV2_noDeepSupervision.self, as: "nnUNetTrainerV2_noDeepSupervision")
        register(NNUNetTrainerV2CascadeFullRes.self, as: "nnUNetTrainerV2CascadeFullRes")
        register(NNUNetTrainerV2_Adam.self, as: "nnUNetTrainerV2_Adam")
        register(NNUNetTrainerV2_Adam_nnUNetTrainerlr.self, as: "nnUNetTrainerV2_Adam_nnUNetTrainerlr")
    }

    /// Registers (or replaces) a trainer class under a name.
    public func register(_ type: NNUNetTrainer.Type, as name: String) {
        lock.lock()
        defer { lock.unlock() }
        trainers[name] = type
    }

    /// The class registered under `name`.
    /// - Throws: ``TrainingError/unknownTrainer(_:known:)`` listing the registered names.
    public func trainerType(named name: String) throws -> NNUNetTrainer.Type {
        lock.lock()
        defer { lock.unlock() }
        guard let type = trainers[name] else { throw TrainingError.unknownTrainer(name, known: trainers.keys.sorted()) }
        return type
    }

    /// Registered names, sorted.
    public var names: [String] {
        lock.lock()
        defer { lock.unlock() }
        return trainers.keys.sorted()
    }
}
