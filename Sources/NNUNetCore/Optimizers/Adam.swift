import Foundation

/// Adam (and its AMSGrad variant) exactly as PyTorch's `torch.optim.Adam` (single-tensor path, `maximize` false):
/// the optimizer of v1's `nnUNetTrainerV2_Adam` (`nnunet/training/network_training/nnUNet_variants/optimizer_and_lr/
/// nnUNetTrainerV2_Adam.py`: `torch.optim.Adam(params, initial_lr, weight_decay=weight_decay, amsgrad=True)`).
///
/// Per parameter p with gradient g (parameters whose gradient is nil are skipped and their step count stays), at its
/// t-th step (t counted per parameter, from 1):
/// ```
/// g   = g + weightDecay · p                       (L2 added to the gradient, as torch.optim.Adam; not AdamW)
/// m   = β1 · m + (1 − β1) · g                     (m, v start at 0)
/// v   = β2 · v + (1 − β2) · g²
/// v̂   = max(v̂, v)                                 (amsgrad; v̂ starts at 0)      v̂ = v   (otherwise)
/// p  ← p − (learningRate / (1 − β1^t)) · m / (√v̂ / √(1 − β2^t) + eps)
/// ```
/// As in torch, the hyperparameters and bias corrections are Double (Python floats) that enter the Float arithmetic
/// as Float coefficients (`1 − β1`, `β2`, `1 − β2`, ...), and m is updated as torch's `lerp_` does.
///
/// Checkpoint slots (see ``Optimizer/stateBuffers``): `adam.exp_avg`, `adam.exp_avg_sq`, `adam.max_exp_avg_sq`
/// (amsgrad only) and `adam.step` (one value per parameter), named after torch's state keys.
public final class Adam: Optimizer {
    /// The parameters in the order given (the order of ``Module/parameters()``).
    public let parameters: [Tensor]
    /// Step size; the trainer sets it from its schedule at the start of each epoch.
    public var learningRate: Float
    /// Decay rates (β1, β2) of the first and second moment averages (torch: (0.9, 0.999)); Double, as torch's
    /// Python floats, so that `1 − β` rounds to Float as in torch.
    public let betas: (Double, Double)
    /// Added to the denominator for numerical stability (torch: 1e-8).
    public let eps: Float
    /// L2 penalty added to the gradient (torch: 0; v1's Adam trainer: 3e-5).
    public let weightDecay: Float
    /// Whether to use the maximum of all second-moment averages so far (AMSGrad; v1's Adam trainer: true).
    public let amsgrad: Bool
    /// First-moment averages m (torch `exp_avg`) in parameter order; nil until a parameter's first step.
    public private(set) var firstMoments: [[Float]?]
    /// Second-moment averages v (torch `exp_avg_sq`); nil until a parameter's first step.
    public private(set) var secondMoments: [[Float]?]
    /// Running maxima v̂ of ``secondMoments`` (torch `max_exp_avg_sq`; amsgrad only).
    public private(set) var maxSecondMoments: [[Float]?]
    /// Steps taken per parameter (torch `step`).
    public private(set) var steps: [Int]

    /// Checkpoint slot names (torch's state keys under `adam.`).
    public static let firstMomentSlot = "adam.exp_avg", secondMomentSlot = "adam.exp_avg_sq",
                      maxSecondMomentSlot = "adam.max_exp_avg_sq", stepSlot = "adam.step"

    /// Creates the optimizer over `parameters` with empty state; defaults are torch's.
    ///
    /// - Parameters:
    ///   - parameters: The tensors to update.
    ///   - learningRate: Step size (torch default 1e-3).
    ///   - betas: (β1, β2), each in [0, 1).
    ///   - eps: Denominator term, ≥ 0.
    ///   - weightDecay: L2 penalty added to the gradient, ≥ 0.
    ///   - amsgrad: Whether to use AMSGrad.
    public init(parameters: [Tensor], learningRate: Float = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                eps: Float = 1e-8, weightDecay: Float = 0, amsgrad: Bool = false) {
        precondition((0..<1).contains(betas.0) && (0..<1).contains(betas.1) && eps >= 0 && weightDecay >= 0,
                     "Adam: betas \(betas), eps \(eps), weight decay \(weightDecay)")
        self.parameters = parameters
        self.learningRate = learningRate
        self.betas = betas
        self.eps = eps
        self.weightDecay = weightDecay
        self.amsgrad = amsgrad
        firstMoments = [[Float]?](repeating: nil, count: parameters.count)
        secondMoments = firstMoments
        maxSecondMoments = firstMoments
        steps = [Int](repeating: 0, count: parameters.count)
    }

    /// Applies one update to every parameter that has a gradient.
    public func step() {
        let (beta1, beta2) = betas
        for (index, p) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            precondition(g.shape == p.shape, "Adam.step: gradient \(g.shape) for parameter \(p.shape)")
            var m = firstMoments[index] ?? [Float](repeating: 0, count: p.count)
            var v = secondMoments[index] ?? [Float](repeating: 0, count: p.count)
            var vMax = amsgrad ? (maxSecondMoments[index] ?? [Float](repeating: 0, count: p.count)) : []
            steps[index] += 1
            let t = Double(steps[index])
            let stepSize = Float(Double(learningRate) / (1 - pow(beta1, t)))
            let correction2Root = Float((1 - pow(beta2, t)).squareRoot())
            // torch: exp_avg.lerp_(grad, 1 − β1); exp_avg_sq.mul_(β2).addcmul_(grad, grad, value=1 − β2).
            let weight1 = Float(1 - beta1), decay2 = Float(beta2), weight2 = Float(1 - beta2)
            let wd = weightDecay, eps = self.eps, amsgrad = self.amsgrad
            p.data.withUnsafeMutableBufferPointer { pp in
                g.data.withUnsafeBufferPointer { pg in
                    m.withUnsafeMutableBufferPointer { pm in
                        v.withUnsafeMutableBufferPointer { pv in
                            vMax.withUnsafeMutableBufferPointer { pmax in
                                for i in 0..<pp.count {
                                    var d = pg[i]
                                    if wd != 0 { d += wd * pp[i] }
                                    let difference = d - pm[i]
                                    pm[i] = weight1 < 0.5 ? pm[i] + weight1 * difference
                                        : d - difference * (1 - weight1)
                                    pv[i] = pv[i] * decay2 + weight2 * (d * d)
                                    var second = pv[i]
                                    if amsgrad {
                                        pmax[i] = max(pmax[i], pv[i])
                                        second = pmax[i]
                                    }
                                    pp[i] -= stepSize * (pm[i] / (second.squareRoot() / correction2Root + eps))
                                }
                            }
                        }
                    }
                }
            }
            firstMoments[index] = m
            secondMoments[index] = v
            if amsgrad { maxSecondMoments[index] = vMax }
        }
    }

    /// The moments, maxima (amsgrad only) and step counts, by checkpoint slot.
    public var stateBuffers: [String: [[Float]?]] {
        var buffers: [String: [[Float]?]] = [
            Self.firstMomentSlot: firstMoments, Self.secondMomentSlot: secondMoments,
            Self.stepSlot: steps.map { $0 > 0 ? [Float($0)] : nil },
        ]
        if amsgrad { buffers[Self.maxSecondMomentSlot] = maxSecondMoments }
        return buffers
    }

    /// Restores the state saved by ``stateBuffers``.
    /// - Throws: ``OptimizerStateError`` when a buffer does not fit its parameter, a step count is not a positive
    ///   whole number, or a parameter has some of its state but not all.
    public func restoreStateBuffers(_ buffers: [String: [[Float]?]]) throws {
        var slots = [Self.firstMomentSlot, Self.secondMomentSlot, Self.stepSlot]
        if amsgrad { slots.append(Self.maxSecondMomentSlot) }
        let checked = try validated(buffers, slots: slots) { slot, index in
            slot == Self.stepSlot ? 1 : parameters[index].count
        }
        let restoredSteps = try (checked[Self.stepSlot] ?? []).enumerated().map { index, value -> Int in
            guard let value else { return 0 }
            guard value[0] >= 1, value[0] == value[0].rounded() else {
                throw OptimizerStateError("slot '\(Self.stepSlot)' of parameter \(index) is \(value[0]), not a step count")
            }
            return Int(value[0])
        }
        for index in parameters.indices {
            let present = slots.map { checked[$0]?[index] != nil }
            guard present.allSatisfy({ $0 }) || present.allSatisfy({ !$0 }) else {
                throw OptimizerStateError("parameter \(index) has only part of its Adam state "
                                          + "(\(zip(slots, present).filter(\.1).map(\.0).joined(separator: ", ")))")
            }
        }
        firstMoments = checked[Self.firstMomentSlot] ?? firstMoments
        secondMoments = checked[Self.secondMomentSlot] ?? secondMoments
        if amsgrad { maxSecondMoments = checked[Self.maxSecondMomentSlot] ?? maxSecondMoments }
        steps = restoredSteps
    }
}

extension Adam: CustomStringConvertible {
    /// The settings, for the training log: `Adam(betas (0.9, 0.999), eps 1e-08, weight decay 3e-05, amsgrad)`.
    public var description: String {
        "Adam(betas (\(betas.0), \(betas.1)), eps \(eps), weight decay \(weightDecay)\(amsgrad ? ", amsgrad" : ""))"
    }
}
