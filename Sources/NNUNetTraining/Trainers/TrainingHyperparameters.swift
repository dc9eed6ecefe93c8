/// The knobs of a training run, with nnU-Net v1's `nnUNetTrainerV2` defaults (reference sheet §6.3, §6.4).
///
/// Trainer variants change them by overriding ``NetworkTrainer/defaultHyperparameters``; the CLI may override single
/// values (`--epochs`, `--iterations-per-epoch`, `--validation-iterations`). The effective values are logged and
/// stored in every checkpoint, so a resumed run continues with the same schedule.
public struct TrainingHyperparameters: Codable, Sendable, Equatable {
    /// Learning rate of epoch 0 (v1 `initial_lr`: 1e-2).
    public var initialLearningRate: Double = 1e-2
    /// SGD momentum (v1: 0.99).
    public var momentum: Double = 0.99
    /// L2 weight decay (v1: 3e-5).
    public var weightDecay: Double = 3e-5
    /// Nesterov momentum (v1: on).
    public var nesterov = true
    /// Exponent of the poly schedule lr = lr0 · (1 − epoch / maxEpochs)^exponent.
    public var polyExponent: Double = 0.9
    /// Number of epochs (v1 `max_num_epochs`: 1000); also the end of the poly schedule.
    public var maxEpochs = 1000
    /// Training iterations (batches) per epoch (v1 `num_batches_per_epoch`: 250).
    public var iterationsPerEpoch = 250
    /// Validation iterations (batches) per epoch (v1 `num_val_batches_per_epoch`: 50).
    public var validationIterationsPerEpoch = 50
    /// Fraction of each batch forced onto foreground (the last round(B · 0.33) samples).
    public var oversampleForegroundPercent: Double = 0.33
    /// Global L2 norm the gradients are clipped to.
    public var gradientClipNorm: Double = 12
    /// If the pseudo-Dice is exactly 0 at this epoch, momentum drops to ``momentumRescueValue`` and weights are
    /// re-initialised (v1's rescue for runs that did not take off).
    public var momentumRescueEpoch = 100
    /// Momentum after the rescue (v1: 0.95).
    public var momentumRescueValue: Double = 0.95
    /// EMA factors of the validation metric (v1: 0.9) and of the training loss (v1: 0.93).
    public var metricMovingAverageAlpha: Double = 0.9
    /// EMA factor of the training loss (v1 `train_loss_MA_alpha`: 0.93).
    public var trainLossMovingAverageAlpha: Double = 0.93
    /// `model_latest` is written every this many epochs (v1: 50; here every epoch by default: it is cheap).
    public var saveLatestEvery = 1

    /// Training stops (with ``TrainingError/nonFiniteTraining(folder:epoch:problem:lastFiniteCheckpoint:)``) after
    /// this many consecutive training iterations with a NaN or infinite loss: such a run does not recover, and every
    /// further iteration only burns time. Not in v1, which trains on with a NaN loss. A constant, not a stored
    /// setting, so that checkpoints keep their format.
    public static let nonFiniteLossLimit = 5

    /// v1's `nnUNetTrainerV2` defaults.
    public init() {}
}
