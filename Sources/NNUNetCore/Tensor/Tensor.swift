import Foundation

/// A dense, contiguous Float32 tensor in C order, the value type of the network code.
///
/// Images and activations are channels-first: `NCDHW` for 3D and `NCHW` for 2D (N: batch, C: channels, D: depth or z,
/// H: height or y, W: width or x), the order nnU-Net and PyTorch use. A tensor is a reference type because it is a
/// node of the autograd graph: an op on tensors that require gradients records how to propagate gradients back to
/// its inputs (see ``Tensor/backward(gradient:)`` and ``withoutGradients(_:)``).
///
/// Shapes are checked by every op with `precondition`; the message names both shapes, e.g.
/// `add: shapes [2, 3, 4] and [2, 5, 4] do not broadcast`.
public final class Tensor {
    /// The extent of each axis; `[]` is a scalar with one element.
    public let shape: [Int]
    /// The elements in C order. Length is the product of ``shape``.
    public internal(set) var data: [Float]
    /// Whether gradients flow to this tensor. Parameters set this; results of ops inherit it from their inputs.
    public var requiresGrad: Bool
    /// The accumulated gradient d(loss)/d(self) after ``backward(gradient:)``; `nil` until a backward pass reaches it.
    public var grad: Tensor?
    /// How this tensor was computed (nil for leaves and for results computed without gradients).
    var node: GradientNode?

    /// Creates a tensor from its shape and C-order data.
    ///
    /// - Precondition: `data.count` equals the product of `shape`, and every extent is non-negative.
    public init(shape: [Int], data: [Float], requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in shape \(shape)")
        precondition(data.count == shape.reduce(1, *),
                     "Tensor: \(data.count) values do not fill shape \(shape) (\(shape.reduce(1, *)) elements)")
        self.shape = shape
        self.data = data
        self.requiresGrad = requiresGrad
    }

    /// A tensor of the given shape filled with `value`.
    public convenience init(repeating value: Float, shape: [Int], requiresGrad: Bool = false) {
        self.init(shape: shape, data: [Float](repeating: value, count: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        Tensor(repeating: 0, shape: shape, requiresGrad: requiresGrad)
    }

    /// A scalar (shape `[]`).
    public convenience init(scalar: Float, requiresGrad: Bool = false) {
        self.init(shape: [], data: [scalar], requiresGrad: requiresGrad)
    }

    /// Standard-normal samples scaled by `standardDeviation`, drawn from `generator`.
    public static func randomNormal(_ shape: [Int], standardDeviation: Float = 1, using generator: inout SeededGenerator,
                                    requiresGrad: Bool = false) -> Tensor {
        let count = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count { values[i] = Float(generator.nextGaussian()) * standardDeviation }
        return Tensor(shape: shape, data: values, requiresGrad: requiresGrad)
    }

    /// Number of elements.
    public var count: Int { data.count }
    /// Number of axes.
    public var rank: Int { shape.count }
    /// The single value of a one-element tensor.
    public var item: Float {
        precondition(data.count == 1, "item: tensor of shape \(shape) has \(data.count) elements, expected 1")
        return data[0]
    }

    /// A copy of the values that is not connected to the autograd graph.
    public func detached() -> Tensor { Tensor(shape: shape, data: data) }

    /// Replaces the values (same count), e.g. to load parameters. Not recorded for autograd.
    public func assign(_ values: [Float]) {
        precondition(values.count == data.count,
                     "assign: \(values.count) values for tensor of shape \(shape) (\(data.count) elements)")
        data = values
    }

    /// C-order strides (in elements) of a shape.
    static func strides(of shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// Normalises a possibly negative axis index and checks it.
    func normalizedAxis(_ axis: Int, op: String) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "\(op): axis \(axis) out of range for shape \(shape)")
        return a
    }
}

extension Tensor: CustomStringConvertible {
    /// The shape and the first 8 values, for debugging.
    public var description: String {
        let preview = data.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), data: [\(preview)\(data.count > 8 ? ", ..." : "")])"
    }
}
