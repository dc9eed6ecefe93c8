import Foundation

/// The enlarged patch the training loader samples so that rotation and scaling find data at the corners.
///
/// Port of v1 `training/data_augmentation/default_data_augmentation.py` `get_patch_size`: each angle is the largest
/// |bound| of its range, capped at 90°; the patch vector p is rotated about x, about y and about z separately (2D:
/// one in-plane rotation) and the element-wise maximum of |p| and the rotated |p| is kept; then divided by the
/// smallest scale and truncated to integers. Only the extreme angle is tried, as in v1.
/// Examples: 128³ → 205³; 40×56×40 → 73×80×64; 2D 56×40 (±180°) → 65×65.
public enum BasicPatchSize {
    /// The enlarged patch for `finalPatchSize` (2 or 3 entries) under the rotation ranges (radians) and scale range.
    public static func compute(finalPatchSize: [Int], rotationX: ClosedRange<Double>, rotationY: ClosedRange<Double>,
                               rotationZ: ClosedRange<Double>, scaleRange: ClosedRange<Double>) -> [Int] {
        func angle(_ r: ClosedRange<Double>) -> Double {
            min(Double.pi / 2, max(abs(r.lowerBound), abs(r.upperBound)))
        }
        let p = finalPatchSize.map(Double.init)
        var result = p
        func keepMaximum(_ rotated: [Double]) {
            result = zip(result, rotated).map { max($0, abs($1)) }
        }
        if p.count == 3 {
            for (ax, ay, az) in [(angle(rotationX), 0.0, 0.0), (0, angle(rotationY), 0), (0, 0, angle(rotationZ))] {
                let m = SpatialTransform.rotation3D(x: ax, y: ay, z: az)
                // Row vector times matrix, as batchgenerators' rotate_coords_3d.
                var rotated = [0.0, 0.0, 0.0]
                for j in 0..<3 {
                    for i in 0..<3 { rotated[j] += p[i] * m[i * 3 + j] }
                }
                keepMaximum(rotated)
            }
        } else {
            let a = angle(rotationX)
            keepMaximum([p[0] * cos(a) + p[1] * sin(a), -p[0] * sin(a) + p[1] * cos(a)])
        }
        return result.map { Int($0 / scaleRange.lowerBound) }
    }
}
