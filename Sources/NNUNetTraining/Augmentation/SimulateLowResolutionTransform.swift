import Foundation
import NNUNetCore

/// Downsamples a channel with nearest neighbour and upsamples it back with cubic splines.
///
/// Port of batchgenerators 0.25 `SimulateLowResolutionTransform` with v1's settings: with probability `probability`
/// per sample, each channel with probability `channelProbability` gets its own zoom ~ U(zoomRange); the channel is
/// resized (skimage `resize`: pixel-centre grid, edge border, no anti-aliasing) with order 0 to round(shape · zoom)
/// (axes in `ignoredAxes` keep their size; dummy-2D: axis 0), then with order 3 back to its shape, clipped to the
/// downsampled image's range.
public struct SimulateLowResolutionTransform: Transform {
    /// Range of the zoom factor (`zoom_range`: 0.5...1).
    public var zoomRange: ClosedRange<Double>
    /// Probability per sample (0.25).
    public var probability: Double
    /// Probability per channel of a selected sample (0.5).
    public var channelProbability: Double
    /// Spatial axes that keep their size (dummy-2D: [0]).
    public var ignoredAxes: [Int]
    /// Threads for the resizing kernels (the loader's workers already run in parallel: default 1).
    public var threads: Int

    /// Creates the transform with v1's settings by default.
    public init(zoomRange: ClosedRange<Double> = 0.5...1, probability: Double = 0.25, channelProbability: Double = 0.5,
                ignoredAxes: [Int] = [], threads: Int = 1) {
        self.zoomRange = zoomRange
        self.probability = probability
        self.channelProbability = channelProbability
        self.ignoredAxes = ignoredAxes
        self.threads = threads
    }

    /// Degrades the selected channels of the selected samples, each with its own zoom.
    public func apply(_ batch: inout Batch, random: inout SeededGenerator) {
        let n = batch.voxelsPerChannel
        let dims = batch.spatialShape.count
        let shape3 = batch.spatialShape3D
        for b in 0..<batch.batchSize where random.happens(withProbability: probability) {
            for c in 0..<batch.dataChannels where random.happens(withProbability: channelProbability) {
                let zoom = random.nextUniform(in: zoomRange)
                var target = batch.spatialShape.map { Int((Double($0) * zoom).rounded(.toNearestOrEven)) }
                for axis in ignoredAxes where axis < dims { target[axis] = batch.spatialShape[axis] }
                let target3 = dims == 3 ? target : [1] + target
                let start = batch.dataOffset(sample: b, channel: c)
                var low = [Float](repeating: 0, count: target3.reduce(1, *))
                batch.data.withUnsafeMutableBufferPointer { data in
                    let channel = UnsafeMutableBufferPointer(rebasing: data[start..<(start + n)])
                    low.withUnsafeMutableBufferPointer { lowBuffer in
                        MapCoordinates.sample(UnsafeBufferPointer(channel), inputShape: shape3, into: lowBuffer,
                                              outputShape: target3,
                                              map: .resize(from: shape3, to: target3), order: 0,
                                              boundary: .nearest, threads: threads)
                    }
                    let (minimum, maximum) = (low.min() ?? 0, low.max() ?? 0)
                    low.withUnsafeBufferPointer { lowBuffer in
                        MapCoordinates.sample(lowBuffer, inputShape: target3, into: channel, outputShape: shape3,
                                              map: .resize(from: target3, to: shape3), order: 3,
                                              boundary: .nearest, threads: threads)
                    }
                    for i in 0..<n { channel[i] = min(max(channel[i], minimum), maximum) }
                }
            }
        }
    }
}
