import Foundation

/// Finds trainer classes by their v1 name (`nnUNetTrainerV2`, `nnUNetTrainerV2_5epochs`, ...): a value that a
/// program fills with its own trainers and hands to ``TrainingRunner``, which runs the same code path as the CLI.
///
/// A new registry holds the built-in trainers; ``standard`` is one that nobody can change (what `nnunet train` and
/// the runner's default use). There is no process-wide registry to register into: the runner sees exactly the
/// registry it is given.
///
/// ```swift
/// final class MyTrainer: NNUNetTrainerV2 { override func makeLoss() -> any SegmentationLoss { ... } }
/// var registry = TrainerRegistry()
/// registry.register(MyTrainer.self, as: "MyTrainer")
/// try TrainingRunner.train(request, paths: paths, registry: registry)
/// ```
public struct TrainerRegistry: Sendable {
    /// The built-in trainers only; immutable. The default of ``TrainingRunner``'s `registry` parameters.
    public static let standard = TrainerRegistry()

    private var trainers: [String: NNUNetTrainer.Type] = [:]

    /// A registry pre-filled with the built-in trainers: `nnUNetTrainerV2`, `nnUNetTrainerV2_5epochs`,
    /// `nnUNetTrainerV2_Loss_Dice`, `nnUNetTrainerV2_Loss_CE`, `nnUNetTrainerV2_noDeepSupervision`,
    /// `nnUNetTrainerV2CascadeFullRes`, `nnUNetTrainerV2_Adam` and `nnUNetTrainerV2_Adam_nnUNetTrainerlr`.
    public init() {
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
    public mutating func register(_ type: NNUNetTrainer.Type, as name: String) {
        trainers[name] = type
    }

    /// A copy of this registry with `type` registered (or replaced) under `name`.
    public func registering(_ type: NNUNetTrainer.Type, as name: String) -> TrainerRegistry {
        var copy = self
        copy.register(type, as: name)
        return copy
    }

    /// The class registered under `name`.
    /// - Throws: ``TrainingError/unknownTrainer(_:known:)`` listing the registered names.
    public func trainerType(named name: String) throws -> NNUNetTrainer.Type {
        guard let type = trainers[name] else { throw TrainingError.unknownTrainer(name, known: names) }
        return type
    }

    /// Registered names, sorted.
    public var names: [String] { trainers.keys.sorted() }
}
