import Foundation

/// The tiling of v1's sliding-window inference (reference sheet §9.2): padding, tile positions and the Gaussian
/// importance map.
///
/// Port of the behaviour of v1 `network_architecture/neural_network.py`
/// (`_compute_steps_for_sliding_window`, `_get_gaussian`, and the padding of `_internal_maybe_mirror_and_pred`'s callers).
public enum SlidingWindow {
    /// Tile start positions along each axis.
    ///
    /// Per axis: target step = patch x stepSize; n = ceil((size - patch) / target) + 1; the actual step spreads the
    /// n tiles evenly from 0 to size - patch; positions are rounded half to even (NumPy's `round`). A single tile sits
    /// at 0. Requires size >= patch (pad first, see ``padding(imageSize:patchSize:)``).
    ///
    /// Example: size 110, patch 64, step 0.5 -> [0, 23, 46].
    public static func steps(imageSize: [Int], patchSize: [Int], stepSize: Double = 0.5) -> [[Int]] {
        precondition(imageSize.count == patchSize.count, "image \(imageSize) and patch \(patchSize) differ in rank")
        precondition(stepSize > 0 && stepSize <= 1, "step size must be in (0, 1], got \(stepSize)")
        return zip(imageSize, patchSize).map { size, patch in
            precondition(size >= patch, "image size \(size) is smaller than the patch \(patch): pad first")
            let target = Double(patch) * stepSize
            let count = Int((Double(size - patch) / target).rounded(.up)) + 1
            guard count > 1 else { return [0] }
            let actual = Double(size - patch) / Double(count - 1)
            return (0..<count).map { Int((actual * Double($0)).rounded(.toNearestOrEven)) }
        }
    }

    /// Constant padding that makes every axis at least the patch size: (before, after) per axis, before = diff / 2.
    public static func padding(imageSize: [Int], patchSize: [Int]) -> [(before: Int, after: Int)] {
        zip(imageSize, patchSize).map { size, patch in
            let difference = max(patch - size, 0)
            return (difference / 2, difference - difference / 2)
        }
    }

    /// The Gaussian importance map over a patch, C order, peak 1 at index floor(p/2) per axis, sigma = p x sigmaScale.
    ///
    /// Equals v1's `gaussian_filter` of a centred delta (truncate 4) divided by its maximum, in float32, with any zero
    /// replaced by the smallest nonzero value.
    public static func gaussianImportanceMap(patchSize: [Int], sigmaScale: Double = 1.0 / 8) -> [Float] {
        let profiles: [[Double]] = patchSize.map { p in
            let center = p / 2, sigma = Double(p) * sigmaScale
            let radius = Int(4 * sigma + 0.5)
            return (0..<p).map { x in
                let d = x - center
                return abs(d) > radius ? 0 : exp(-0.5 * Double(d * d) / (sigma * sigma))
            }
        }
        var map = [Double](repeating: 1, count: patchSize.reduce(1, *))
        var stride = map.count
        for (axis, size) in patchSize.enumerated() {
            stride /= size
            for i in 0..<map.count { map[i] *= profiles[axis][(i / stride) % size] }
        }
        var result = map.map { Float($0) }
        if let smallest = result.filter({ $0 > 0 }).min() {
            for i in result.indices where result[i] == 0 { result[i] = smallest }
        }
        return result
    }
}
