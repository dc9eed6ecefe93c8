import Foundation

// Elementwise arithmetic with numpy broadcasting, scalar arithmetic and unary functions, each with its backward
// rule (gradients of broadcast operands are summed back to their shape).

extension Tensor {
    static func binary(_ name: String, _ a: Tensor, _ b: Tensor, _ op: Kernels.BinaryOperation) -> Tensor {
        guard let outShape = Kernels.broadcastShape(a.shape, b.shape) else {
            preconditionFailure("\(name): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let data = Kernels.binary(a.data, a.shape, b.data, b.shape, outShape: outShape, op)
        return record(name, shape: outShape, data: data, inputs: [a, b]) { g in
            switch op {
            case .add:
                return [a.requiresGrad ? g.summed(toShape: a.shape) : nil,
                        b.requiresGrad ? g.summed(toShape: b.shape) : nil]
            case .subtract:
                return [a.requiresGrad ? g.summed(toShape: a.shape) : nil,
                        b.requiresGrad ? (-g).summed(toShape: b.shape) : nil]
            case .multiply:
                return [a.requiresGrad ? (g * b).summed(toShape: a.shape) : nil,
                        b.requiresGrad ? (g * a).summed(toShape: b.shape) : nil]
            case .divide:
                return [a.requiresGrad ? (g / b).summed(toShape: a.shape) : nil,
                        b.requiresGrad ? (-(g * a) / (b * b)).summed(toShape: b.shape) : nil]
            }
        }
    }

    /// Elementwise sum with broadcasting. Shapes: any two shapes that broadcast (numpy rules).
    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor { binary("add", lhs, rhs, .add) }
    /// Elementwise difference with broadcasting.
    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor { binary("subtract", lhs, rhs, .subtract) }
    /// Elementwise product with broadcasting.
    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor { binary("multiply", lhs, rhs, .multiply) }
    /// Elementwise quotient with broadcasting.
    public static func / (lhs: Tensor, rhs: Tensor) -> Tensor { binary("divide", lhs, rhs, .divide) }

    /// `scale * x + shift` elementwise (the primitive behind the scalar operators).
    func affine(scale: Float, shift: Float) -> Tensor {
        let data = Kernels.map(self.data) { scale * $0 + shift }
        return Tensor.record("affine", shape: shape, data: data, inputs: [self]) { g in
            [scale == 1 ? g : Tensor(shape: g.shape, data: Kernels.map(g.data) { scale * $0 })]
        }
    }

    /// `-x` elementwise.
    public static prefix func - (x: Tensor) -> Tensor { x.affine(scale: -1, shift: 0) }
    /// `lhs + rhs` elementwise (scalar added to every element).
    public static func + (lhs: Tensor, rhs: Float) -> Tensor { lhs.affine(scale: 1, shift: rhs) }
    /// `lhs + rhs` elementwise (scalar added to every element).
    public static func + (lhs: Float, rhs: Tensor) -> Tensor { rhs.affine(scale: 1, shift: lhs) }
    /// `lhs - rhs` elementwise.
    public static func - (lhs: Tensor, rhs: Float) -> Tensor { lhs.affine(scale: 1, shift: -rhs) }
    /// `lhs - rhs` elementwise.
    public static func - (lhs: Float, rhs: Tensor) -> Tensor { rhs.affine(scale: -1, shift: lhs) }
    /// `lhs * rhs` elementwise.
    public static func * (lhs: Tensor, rhs: Float) -> Tensor { lhs.affine(scale: rhs, shift: 0) }
    /// `lhs * rhs` elementwise.
    public static func * (lhs: Float, rhs: Tensor) -> Tensor { rhs.affine(scale: lhs, shift: 0) }
    /// `lhs / rhs` elementwise (computed as multiplication by `1 / rhs`).
    public static func / (lhs: Tensor, rhs: Float) -> Tensor { lhs.affine(scale: 1 / rhs, shift: 0) }
    /// `lhs / x` elementwise.
    public static func / (lhs: Float, rhs: Tensor) -> Tensor { Tensor(scalar: lhs) / rhs }

    /// Elementwise `e^x`.
    public func exp() -> Tensor {
        let y = Kernels.map(data) { Foundation.exp($0) }
        return Tensor.record("exp", shape: shape, data: y, inputs: [self]) { g in
            [Tensor(shape: g.shape, data: Kernels.zipMap(g.data, y) { $0 * $1 })]
        }
    }

    /// Elementwise natural logarithm.
    public func log() -> Tensor {
        let x = data
        return Tensor.record("log", shape: shape, data: Kernels.map(x) { Foundation.log($0) }, inputs: [self]) { g in
            [Tensor(shape: g.shape, data: Kernels.zipMap(g.data, x) { $0 / $1 })]
        }
    }

    /// Elementwise square root.
    public func squareRoot() -> Tensor {
        let y = Kernels.map(data) { $0.squareRoot() }
        return Tensor.record("sqrt", shape: shape, data: y, inputs: [self]) { g in
            [Tensor(shape: g.shape, data: Kernels.zipMap(g.data, y) { 0.5 * $0 / $1 })]
        }
    }

    /// Elementwise square.
    public func squared() -> Tensor { self * self }
}

/// Leaky ReLU, `x if x >= 0 else negativeSlope * x` (nnU-Net: `LeakyReLU(0.01)`), elementwise on any shape.
public func leakyReLU(_ x: Tensor, negativeSlope: Float = 0.01) -> Tensor {
    precondition(negativeSlope > 0, "leakyReLU: negativeSlope \(negativeSlope) must be positive")
    // The output has the sign of the input (slope > 0), so the rule keeps the output, not the input, alive.
    let y = Kernels.map(x.data) { $0 >= 0 ? $0 : negativeSlope * $0 }
    return Tensor.record("leakyReLU", shape: x.shape, data: y, inputs: [x]) { g in
        [Tensor(shape: g.shape, data: Kernels.zipMap(g.data, y) { $1 >= 0 ? $0 : negativeSlope * $0 })]
    }
}
