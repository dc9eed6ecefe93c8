import Foundation
import NNUNetCore

/// Rotation and scaling about the patch centre, then the final patch; a centre crop when neither is drawn.
///
/// Port of batchgenerators 0.25 `SpatialTransform` / `augment_spatial` as nnU-Net v1's `get_moreDA_augmentation`
/// configures it (elastic deformation off, `random_crop=False`):
/// - rotation with probability `rotationProbability` per sample: every axis gets an angle from its range (3D: the
///   rotation matrix is Rx·Ry·Rz applied to row vectors; 2D: one in-plane angle from `rotationX`);
/// - scaling with probability `scaleProbability`: one factor, 50 % U(lower, 1) else U(1, upper); it multiplies the
///   sampling coordinates, so a factor > 1 zooms out;
/// - the output grid (final patch, centred at (P − 1)/2) maps to input coordinates around the centre of the loaded
///   patch, size/2 − 0.5;
/// - data: cubic B-spline, constant border 0; segmentation: per-label linear with threshold 0.5, outside → 0
///   (`MapCoordinates.sampleLabels(_:inputShape:into:outputShape:map:threads:)` of NNUNetCore);
/// - neither drawn: centre crop at (size − patch) // 2.
///
/// Shapes: in (B, C, size...), out (B, C, patch...). 2D batches (also dummy-2D ones) rotate in the (y, x) plane.
/// Deliberate difference: a drawn rotation of exactly 0 with scale exactly 1 and an integral centre offset copies
/// voxels instead of interpolating them (the spline interpolates, so the values agree up to rounding).
public struct SpatialTransform: Transform {
    /// Output patch size, 2 or 3 entries (the network's patch).
    public var patchSize: [Int]
    /// Angle range in radians about the first spatial axis; in 2D the in-plane angle.
    public var rotationX: ClosedRange<Double>
    /// Angle range in radians about the second spatial axis (3D only).
    public var rotationY: ClosedRange<Double>
    /// Angle range in radians about the third spatial axis (3D only).
    public var rotationZ: ClosedRange<Double>
    /// Probability per sample of a rotation (0.2).
    public var rotationProbability: Double
    /// Range of the scale factor (V2: 0.7...1.4); a factor above 1 zooms out.
    public var scaleRange: ClosedRange<Double>
    /// Probability per sample of a scaling (0.2).
    public var scaleProbability: Double
    /// Spline order for the data (v1: 3).
    public var dataOrder: Int
    /// Threads for the interpolation kernels (the loader's workers already run in parallel: default 1).
    public var threads: Int

    /// Creates the transform with nnUNetTrainerV2's probabilities and scale range by default.
    public init(patchSize: [Int], rotationX: ClosedRange<Double>, rotationY: ClosedRange<Double>,
                rotationZ: ClosedRange<Double>, rotationProbability: Double = 0.2,
                scaleRange: ClosedRange<Double> = 0.7...1.4, scaleProbability: Double = 0.2, dataOrder: Int = 3,
                threads: Int = 1) {
        self.patchSize = patchSize
        self.rotationX = rotationX
        self.rotationY = rotationY
        self.rotationZ = rotationZ
        self.rotationProbability = rotationProbability
        self.scaleRange = scaleRange
        self.scaleProbability = scaleProbability
        self.dataOrder = dataOrder
        self.threads = threads
    }

    /// Rotates, scales and crops every sample to ``patchSize``; the batch's spatial shape becomes ``patchSize``.
    public func apply(_ batch: inout Batch, random: inout SeededGenerator) {
        let dims = batch.spatialShape.count
        precondition(patchSize.count == dims, "SpatialTransform: patch \(patchSize) for batch \(batch.spatialShape)")
        let inShape = batch.spatialShape3D
        let outShape = dims == 3 ? patchSize : [1] + patchSize
        let outVoxels = outShape.reduce(1, *), inVoxels = inShape.reduce(1, *)
        var data = [Float](repeating: 0, count: batch.batchSize * batch.dataChannels * outVoxels)
        var seg = [Float](repeating: 0, count: batch.batchSize * batch.segmentationChannels * outVoxels)
        for b in 0..<batch.batchSize {
            let map = drawMap(dims: dims, inShape: inShape, outShape: outShape, random: &random)
            batch.data.withUnsafeBufferPointer { input in
                data.withUnsafeMutableBufferPointer { output in
                    for c in 0..<batch.dataChannels {
                        let i = (b * batch.dataChannels + c) * inVoxels, o = (b * batch.dataChannels + c) * outVoxels
                        MapCoordinates.sample(UnsafeBufferPointer(rebasing: input[i..<(i + inVoxels)]),
                                              inputShape: inShape,
                                              into: UnsafeMutableBufferPointer(rebasing: output[o..<(o + outVoxels)]),
                                              outputShape: outShape, map: map, order: dataOrder,
                                              boundary: .constant(0), threads: threads)
                    }
                }
            }
            batch.segmentation.withUnsafeBufferPointer { input in
                seg.withUnsafeMutableBufferPointer { output in
                    for c in 0..<batch.segmentationChannels {
                        let i = (b * batch.segmentationChannels + c) * inVoxels
                        let o = (b * batch.segmentationChannels + c) * outVoxels
                        MapCoordinates.sampleLabels(
                            UnsafeBufferPointer(rebasing: input[i..<(i + inVoxels)]), inputShape: inShape,
                            into: UnsafeMutableBufferPointer(rebasing: output[o..<(o + outVoxels)]),
                            outputShape: outShape, map: map, threads: threads)
                    }
                }
            }
        }
        batch.data = data
        batch.segmentation = seg
        batch.spatialShape = patchSize
    }

    /// Draws this sample's rotation and scale and returns the output → input coordinate map.
    func drawMap(dims: Int, inShape: [Int], outShape: [Int], random: inout SeededGenerator) -> AffineCoordinateMap {
        var angles: [Double]?
        var scale: Double?
        if random.happens(withProbability: rotationProbability) {
            let ax = random.nextUniform(in: rotationX)
            angles = dims == 3 ? [ax, random.nextUniform(in: rotationY), random.nextUniform(in: rotationZ)] : [ax]
        }
        if random.happens(withProbability: scaleProbability) { scale = random.splitFactor(scaleRange) }
        return Self.coordinateMap(angles: angles, scale: scale, dims: dims, inShape: inShape, outShape: outShape)
    }

    /// The output → input coordinate map for given angles (3D: x, y, z; 2D: one) and scale; both nil → centre crop.
    ///
    /// c_in = s · Rᵀ · (o − (P − 1)/2) + (S/2 − 0.5), R = batchgenerators' rotation matrix (applied to row vectors);
    /// `inShape`/`outShape` have 3 entries (z = 1 for 2D, whose z coordinate stays 0).
    static func coordinateMap(angles: [Double]?, scale: Double?, dims: Int, inShape: [Int],
                              outShape: [Int]) -> AffineCoordinateMap {
        guard angles != nil || scale != nil else {
            return .translation((0..<3).map { Double((inShape[$0] - outShape[$0]) / 2) })
        }
        // `linear` maps centred output coordinates to centred input coordinates (3 x 3, row-major).
        var linear: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        if let angles {
            if dims == 3 {
                linear = transposed(rotation3D(x: angles[0], y: angles[1], z: angles[2]))
            } else {
                let (c, s) = (cos(angles[0]), sin(angles[0]))
                // Row vectors times [[c, -s], [s, c]], i.e. new = Rᵀ · old, embedded with z untouched.
                linear = [1, 0, 0, 0, c, s, 0, -s, c]
            }
        }
        if let factor = scale {
            for index in (dims == 2 ? 3 : 0)..<9 { linear[index] *= factor }
        }
        let outCentre = outShape.map { Double($0 - 1) / 2 }
        var inCentre = inShape.map { Double($0) / 2 - 0.5 }
        if dims == 2 { inCentre[0] = 0 }
        var offset = inCentre
        for r in 0..<3 {
            for k in 0..<3 { offset[r] -= linear[r * 3 + k] * outCentre[k] }
        }
        return AffineCoordinateMap(matrix: linear, offset: offset)
    }

    /// batchgenerators' `rotate_coords_3d` matrix: I · Rx(ax) · Ry(ay) · Rz(az), applied to row vectors.
    static func rotation3D(x ax: Double, y ay: Double, z az: Double) -> [Double] {
        let (cx, sx, cy, sy, cz, sz) = (cos(ax), sin(ax), cos(ay), sin(ay), cos(az), sin(az))
        var rx = [Double](repeating: 0, count: 9), ry = rx, rz = rx
        (rx[0], rx[4], rx[5], rx[7], rx[8]) = (1, cx, -sx, sx, cx)
        (ry[0], ry[2], ry[4], ry[6], ry[8]) = (cy, sy, 1, -sy, cy)
        (rz[0], rz[1], rz[3], rz[4], rz[8]) = (cz, -sz, sz, cz, 1)
        return multiply(multiply(rx, ry), rz)
    }

    static func multiply(_ a: [Double], _ b: [Double]) -> [Double] {
        var product = [Double](repeating: 0, count: 9)
        for row in 0..<3 {
            for column in 0..<3 {
                var sum = 0.0
                for k in 0..<3 { sum += a[row * 3 + k] * b[k * 3 + column] }
                product[row * 3 + column] = sum
            }
        }
        return product
    }

    static func transposed(_ m: [Double]) -> [Double] { (0..<9).map { m[($0 % 3) * 3 + $0 / 3] } }
}
