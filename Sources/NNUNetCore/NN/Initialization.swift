import Foundation

/// Weight initialisation with an explicit ``SeededGenerator``.
public enum Initialization {
    /// PyTorch's fan-in of a weight tensor: `shape[1] · prod(shape[2...])` (for a conv `[Cout, Cin, k...]` that is
    /// Cin·kvol; for a transposed conv `[Cin, Cout, k...]` it is Cout·kvol, as torch computes it).
    public static func fanIn(_ shape: [Int]) -> Int {
        precondition(shape.count >= 2, "fanIn: weight shape \(shape) needs at least 2 axes")
        return shape[1] * shape[2...].reduce(1, *)
    }

    /// Kaiming (He) normal initialisation, fan-in mode, leaky-ReLU gain: std = sqrt(2 / (1 + a²)) / sqrt(fanIn).
    ///
    /// nnU-Net's `InitWeights_He(1e-2)` calls `kaiming_normal_(weight, a=1e-2)` on every conv and transposed conv.
    /// The sample stream differs from torch's (different generator), the distribution is the same.
    public static func kaimingNormal(_ shape: [Int], negativeSlope: Float = 0.01,
                                     using generator: inout SeededGenerator) -> Tensor {
        let gain = (2 / (1 + Double(negativeSlope) * Double(negativeSlope))).squareRoot()
        let std = gain / Double(fanIn(shape)).squareRoot()
        return Tensor.randomNormal(shape, standardDeviation: Float(std), using: &generator)
    }
}
