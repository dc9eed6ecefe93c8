import Foundation
import NNUNetCore

/// A large CT-like test volume in Hounsfield units, generated in one pass (for memory and speed benchmarks of
/// whole-case prediction: `nnunet-benchmark predict-large`; the small labelled tasks of the tests come from
/// `SyntheticTaskGenerator`).
///
/// Layout (z, y, x) with the given spacing: air (−1000 HU) around an elliptic body cylinder of soft tissue (40 HU)
/// that spans every slice, a bony rod (700 HU) behind the centre, and an organ ellipsoid (120 HU) holding a lesion
/// (70 HU), plus Gaussian noise (σ 15 HU). Values are rounded to integers, so the volume stores losslessly as int16
/// NIfTI, as scanners write CT. The border is air (nonzero), so the nonzero mask with its holes filled covers the
/// whole field of view and cropping keeps everything, as for real CT. Deterministic for a seed; single-threaded.
enum SyntheticCTVolume {
    /// The generated volume and, per voxel, the structure it lies in (0 outside the organ, 1 organ, 2 lesion).
    ///
    /// - Parameters:
    ///   - shape: (z, y, x) in voxels, e.g. `[300, 512, 512]`.
    ///   - spacing: (z, y, x) in mm, e.g. `[1.5, 0.8, 0.8]`.
    ///   - seed: seed of the noise.
    ///   - withLabels: also return the label map (costs one more volume of memory).
    /// - Returns: the image (Float values in HU, identity direction, origin 0) and the labels when asked for.
    static func make(shape: [Int], spacing: [Double], seed: UInt64 = 0, withLabels: Bool = false)
        -> (image: Volume, labels: [Float]?) {
        precondition(shape.count == 3 && spacing.count == 3 && shape.allSatisfy { $0 > 0 },
                     "SyntheticCTVolume: shape \(shape) and spacing \(spacing) must have 3 positive entries")
        let extent = zip(shape, spacing).map { Double($0) * $1 }
        // Squared normalised distance along one axis to a centre with a radius (both in mm).
        func profile(_ axis: Int, centre: Double, radius: Double) -> [Double] {
            (0..<shape[axis]).map { i in
                let d = ((Double(i) + 0.5) * spacing[axis] - centre * extent[axis]) / (radius * extent[axis])
                return d * d
            }
        }
        let bodyY = profile(1, centre: 0.5, radius: 0.42), bodyX = profile(2, centre: 0.5, radius: 0.47)
        let boneY = profile(1, centre: 0.72, radius: 0.05), boneX = profile(2, centre: 0.5, radius: 0.05)
        let organZ = profile(0, centre: 0.5, radius: 0.3), organY = profile(1, centre: 0.45, radius: 0.2)
        let organX = profile(2, centre: 0.38, radius: 0.16)
        let lesionZ = profile(0, centre: 0.55, radius: 0.1), lesionY = profile(1, centre: 0.42, radius: 0.07)
        let lesionX = profile(2, centre: 0.35, radius: 0.06)
        let voxels = shape.reduce(1, *)
        var image = [Float](repeating: 0, count: voxels)
        var labels: [Float] = withLabels ? [Float](repeating: 0, count: voxels) : []
        var random = SeededGenerator(seed: seed)
        var i = 0
        for z in 0..<shape[0] {
            for y in 0..<shape[1] {
                for x in 0..<shape[2] {
                    var value = -1000.0, label: Float = 0
                    if bodyY[y] + bodyX[x] <= 1 {
                        value = 40
                        if boneY[y] + boneX[x] <= 1 { value = 700 }
                        if organZ[z] + organY[y] + organX[x] <= 1 { value = 120; label = 1 }
                        if lesionZ[z] + lesionY[y] + lesionX[x] <= 1 { value = 70; label = 2 }
                    }
                    image[i] = Float((value + 15 * random.nextGaussian()).rounded())
                    if withLabels { labels[i] = label }
                    i += 1
                }
            }
        }
        return (Volume(data: image, shape: shape, geometry: ImageGeometry(spacing: spacing)),
                withLabels ? labels : nil)
    }
}
