import NNUNetCore

/// A loss on one network output: `logits` `[N, K, (D,) H, W]` and integer labels `target` `[N, 1, (D,) H, W]`
/// (stored as Float, as nnU-Net holds them). Built from differentiable tensor ops, so a custom loss needs no
/// backward code: the tape derives its gradient.
///
/// The trainer wraps a single-output loss in ``DeepSupervisionLoss`` itself; a loss never deals with several outputs.
///
/// In data-parallel training (`mpirun -np N nnunet train ...`) a loss sees the rank's own samples, and the trainer
/// weights its value by the rank's share of the global batch; a mean over samples and voxels therefore needs nothing
/// more. A loss that sums over the batch axis (like batch Dice) calls `Tensor.summedOverRanks()` on
/// those sums, so that it is the global batch's loss.
public protocol SegmentationLoss {
    /// The loss of one output: `logits` `[N, K, (D,) H, W]`, `target` `[N, 1, (D,) H, W]`; a scalar tensor.
    func callAsFunction(logits: Tensor, target: Tensor) -> Tensor
}

/// A loss from a closure, for one-off experiments.
public struct AnyLoss: SegmentationLoss {
    private let body: (Tensor, Tensor) -> Tensor
    /// Wraps `body`, called with the logits `[N, K, ...]` and the labels `[N, 1, ...]`; it must return a scalar tensor.
    public init(_ body: @escaping (_ logits: Tensor, _ target: Tensor) -> Tensor) { self.body = body }
    /// Calls the closure.
    public func callAsFunction(logits: Tensor, target: Tensor) -> Tensor { body(logits, target) }
}

/// Multi-class cross-entropy on logits, mean over samples and voxels (PyTorch `CrossEntropyLoss`, v1's
/// `RobustCrossEntropyLoss`).
public struct CrossEntropyLoss: SegmentationLoss {
    /// Creates the loss (it has no settings).
    public init() {}

    /// CE = −mean over samples and voxels of log softmax(logits)[label]; a scalar tensor.
    public func callAsFunction(logits: Tensor, target: Tensor) -> Tensor {
        let oneHot = Tensor.oneHot(target, classCount: logits.shape[1])
        let picked = (logSoftmax(logits, axis: 1) * oneHot).sum(axes: [1])
        return -1 * picked.mean()
    }
}

/// v1's `SoftDiceLoss` with softmax: per class (and per sample unless `batchDice`),
/// `dc = (2tp + smooth) / (2tp + fp + fn + smooth + 1e-8)` from probabilities p and the one-hot target y
/// (`tp = Σ p·y`, `fp = Σ p·(1−y)`, `fn = Σ (1−p)·y` over the spatial axes, and the batch axis with `batchDice`);
/// background dropped unless `includeBackground`; loss = −mean(dc), so it lies in [−1, 0]. In data-parallel training
/// the batch sums are those of the global batch (`Tensor.summedOverRanks()`).
public struct SoftDiceLoss: SegmentationLoss {
    /// Whether tp, fp and fn are summed over the batch too (one Dice per class; v1 `batch_dice`).
    public var batchDice: Bool
    /// Whether the background class (0) counts in the mean (v1: false).
    public var includeBackground: Bool
    /// Added to numerator and denominator (v1 `smooth`: 1e-5).
    public var smooth: Float

    /// Creates the loss; `includeBackground` and `smooth` default to v1's values.
    public init(batchDice: Bool, includeBackground: Bool = false, smooth: Float = 1e-5) {
        self.batchDice = batchDice
        self.includeBackground = includeBackground
        self.smooth = smooth
    }

    /// −mean(dc) over the kept classes (and samples unless ``batchDice``); a scalar tensor in [−1, 0].
    public func callAsFunction(logits: Tensor, target: Tensor) -> Tensor {
        let classes = logits.shape[1]
        let y = Tensor.oneHot(target, classCount: classes)
        let p = softmax(logits, axis: 1)
        let axes = (batchDice ? [0] : []) + Array(2..<logits.rank)
        var tp = (p * y).sum(axes: axes)
        var fp = (p * (1 - y)).sum(axes: axes)
        var fn = ((1 - p) * y).sum(axes: axes)
        if batchDice {
            // Data-parallel training: the sums of the global batch (v1's DDP trainer all-gathers them).
            tp = tp.summedOverRanks()
            fp = fp.summedOverRanks()
            fn = fn.summedOverRanks()
        }
        var dice = (2 * tp + smooth) / (2 * tp + fp + fn + smooth + 1e-8)
        if !includeBackground {
            dice = batchDice ? dice.sliced([1..<classes]) : dice.sliced([0..<dice.shape[0], 1..<classes])
        }
        return -1 * dice.mean()
    }
}

/// v1's `DC_and_CE_loss` (aggregate "sum"): `weightCE · CE + weightDice · SoftDice`.
public struct DiceCrossEntropyLoss: SegmentationLoss {
    /// The Dice term.
    public var dice: SoftDiceLoss
    /// The cross-entropy term.
    public var crossEntropy = CrossEntropyLoss()
    /// Weight of the cross-entropy term (v1 `weight_ce`: 1).
    public var weightCE: Float = 1
    /// Weight of the Dice term (v1 `weight_dice`: 1).
    public var weightDice: Float = 1

    /// Creates the loss with both weights 1; the parameters configure the Dice term.
    public init(batchDice: Bool, smooth: Float = 1e-5, includeBackground: Bool = false) {
        dice = SoftDiceLoss(batchDice: batchDice, includeBackground: includeBackground, smooth: smooth)
    }

    /// `weightCE · CE + weightDice · SoftDice` for one output; a scalar tensor.
    public func callAsFunction(logits: Tensor, target: Tensor) -> Tensor {
        weightCE * crossEntropy(logits: logits, target: target) + weightDice * dice(logits: logits, target: target)
    }
}

/// v1's `MultipleOutputLoss2`: Σ wᵢ · loss(outputᵢ, targetᵢ), skipping outputs whose weight is 0.
public struct DeepSupervisionLoss {
    /// The loss applied to each output.
    public var loss: any SegmentationLoss
    /// Weight wᵢ per output, highest resolution first.
    public var weights: [Float]

    /// Creates the loss; `weights` needs one entry per output (see ``weights(outputCount:)``).
    public init(_ loss: any SegmentationLoss, weights: [Float]) {
        self.loss = loss
        self.weights = weights
    }

    /// v1's weights for n outputs: 1/2^i, the lowest resolution set to 0, normalised to sum 1
    /// (n = 5 → [0.5333, 0.2667, 0.1333, 0.0667, 0]).
    public static func weights(outputCount n: Int) -> [Float] {
        guard n > 1 else { return [1] }
        var w = (0..<n).map { 1 / pow(2, Double($0)) }
        w[n - 1] = 0
        let total = w.reduce(0, +)
        return w.map { Float($0 / total) }
    }

    /// Number of leading outputs with a nonzero weight (the rest need not be computed).
    public var usedOutputCount: Int { (weights.lastIndex { $0 != 0 } ?? 0) + 1 }

    /// Σ wᵢ · loss(outputᵢ, targetᵢ) over the outputs with nonzero weight (both lists highest resolution first).
    public func callAsFunction(outputs: [Tensor], targets: [Tensor]) -> Tensor {
        precondition(outputs.count >= usedOutputCount && targets.count >= usedOutputCount,
                     "DeepSupervisionLoss: \(outputs.count) outputs and \(targets.count) targets for weights \(weights)")
        var total = weights[0] * loss(logits: outputs[0], target: targets[0])
        for i in 1..<usedOutputCount where weights[i] != 0 {
            total = total + weights[i] * loss(logits: outputs[i], target: targets[i])
        }
        return total
    }
}

import Foundation
