/// Global-norm gradient clipping with PyTorch's `clip_grad_norm_` semantics (norm type 2).
///
/// `total = sqrt(Σ_i ||g_i||²)` over the parameters whose gradient is not nil, `c = min(1, maxNorm / (total + 1e-6))`,
/// and every gradient is multiplied by c. nnU-Net clips to 12 after each backward pass.
///
/// - Returns: the total norm before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    var sumOfSquares = 0.0
    for p in parameters {
        guard let g = p.grad else { continue }
        for v in g.data { sumOfSquares += Double(v) * Double(v) }
    }
    let total = sumOfSquares.squareRoot()
    let coefficient = min(1, Double(maxNorm) / (total + 1e-6))
    if coefficient < 1 {
        for p in parameters {
            guard let g = p.grad else { continue }
            let c = Float(coefficient)
            p.grad = Tensor(shape: g.shape, data: g.data.map { $0 * c })
        }
    }
    return Float(total)
}
