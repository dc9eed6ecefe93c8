import NNUNetCore

/// One batch for a training or validation step.
///
/// Layout: `data` `[B, C, (D,) H, W]` (modalities, plus one-hot previous-stage channels for the cascade),
/// `target` `[B, 1, (D,) H, W]` integer labels stored as Float (-1 already mapped to 0).
public struct TrainingBatch {
    /// Network input `[B, C, (D,) H, W]`.
    public var data: Tensor
    /// Labels at full resolution `[B, 1, (D,) H, W]`, as Float.
    public var target: Tensor
    /// Case identifiers of the samples (for error messages and logs).
    public var caseIdentifiers: [String]
    /// Targets per deep-supervision output, when the loader already made them (else the trainer downsamples).
    public var deepSupervisionTargets: [Tensor]?

    /// Creates a batch; ``deepSupervisionTargets`` starts nil.
    public init(data: Tensor, target: Tensor, caseIdentifiers: [String] = []) {
        self.data = data
        self.target = target
        self.caseIdentifiers = caseIdentifiers
    }
}

/// Something that produces batches, e.g. the background loader with augmentation.
public protocol BatchSource: AnyObject {
    /// The next batch; errors name the case that failed.
    func nextBatch() throws -> TrainingBatch
    /// Stops background work (called when training ends).
    func shutdown()
}

extension BatchSource {
    /// Does nothing: sources without background work need no shutdown.
    public func shutdown() {}
}
