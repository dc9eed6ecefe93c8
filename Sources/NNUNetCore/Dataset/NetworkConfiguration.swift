import Foundation

/// One of the four configurations nnU-Net v1 trains and predicts with (reference sheet §6).
///
/// The raw values are v1's spellings, which name the configuration folders under `RESULTS_FOLDER/nnUNet`, the
/// command-line arguments (`nnunet train 3d_fullres ...`, `-m 2d`) and the fields of saved files; ``description``
/// gives the same text, so `"\(configuration)"` is what v1 prints.
///
/// ```swift
/// let configuration = try NetworkConfiguration(validating: "3d_fullres")
/// let folder = trainedModels.appendingPathComponent(configuration.rawValue)
/// ```
public enum NetworkConfiguration: String, CaseIterable, Sendable, Codable, Hashable, CustomStringConvertible {
    /// `2d`: slices of the 2D plans' only stage.
    case twoD = "2d"
    /// `3d_lowres`: the first (downsampled) stage of two-stage 3D plans.
    case lowres = "3d_lowres"
    /// `3d_fullres`: the last (full-resolution) stage of the 3D plans.
    case fullres = "3d_fullres"
    /// `3d_cascade_fullres`: the full-resolution stage, with the 3d_lowres segmentation as extra input channels.
    case cascadeFullres = "3d_cascade_fullres"

    /// Parses a configuration name as the user typed it.
    /// - Throws: ``CoreError/unknownConfiguration(_:)`` naming the value and the allowed ones.
    public init(validating string: String) throws {
        guard let configuration = Self(rawValue: string) else { throw CoreError.unknownConfiguration(string) }
        self = configuration
    }

    /// The raw value (`2d`, `3d_lowres`, `3d_fullres`, `3d_cascade_fullres`), as v1 spells it.
    public var description: String { rawValue }

    /// The allowed names in order, for messages: `2d, 3d_lowres, 3d_fullres, 3d_cascade_fullres`.
    public static var allowedValues: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// Whether this is `2d` (2D plans file `*_plans_2D.json`, slice-wise preprocessing and network).
    public var isTwoD: Bool { self == .twoD }

    /// Whether this is `3d_cascade_fullres`, which needs a cascade trainer and the 3d_lowres segmentations.
    public var isCascade: Bool { self == .cascadeFullres }

    /// Whether the configuration uses the plans' first stage (`2d`, `3d_lowres`); the others use the last stage.
    public var usesFirstStage: Bool { self == .twoD || self == .lowres }

    /// Whether the configuration exists only for plans with a 3d_lowres stage (`3d_lowres`, `3d_cascade_fullres`).
    public var needsLowresStage: Bool { self == .lowres || self == .cascadeFullres }

    /// The index of the plans stage the configuration uses (v1 `nnUNetTrainer.process_plans`): 0 for `2d` and
    /// `3d_lowres`, the last stage otherwise.
    ///
    /// - Parameter stageCount: the number of stages of the plans (`num_stages`).
    public func stageIndex(stageCount: Int) -> Int { usesFirstStage ? 0 : stageCount - 1 }

    /// The trainer v1 uses for the configuration when none is given: `nnUNetTrainerV2CascadeFullRes` for
    /// `3d_cascade_fullres`, `nnUNetTrainerV2` otherwise.
    public var defaultTrainerName: String { isCascade ? "nnUNetTrainerV2CascadeFullRes" : "nnUNetTrainerV2" }
}
