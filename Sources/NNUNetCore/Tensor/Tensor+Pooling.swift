import Foundation

// Average pooling over non-overlapping windows (PyTorch's `AvgPool2d/3d(kernel_size=w, stride=w)` with
// `ceil_mode=False` and no padding), with its backward rule.

extension Tensor {
    /// The mean over non-overlapping windows of `window` voxels along the spatial axes of `[N, C, (D,) H, W]`.
    ///
    /// PyTorch's `nn.AvgPool2d/3d(window, window)` (no padding, `ceil_mode=False`): output size `floor(n / w)` per
    /// axis, so trailing voxels that fill no whole window are dropped. Each window is summed in row-major order and
    /// divided by its volume. The gradient spreads each output's gradient evenly over its window.
    ///
    /// - Precondition: `window` has one positive entry per spatial axis and every spatial size is at least its
    ///   window.
    public func averagePooled(window: [Int]) -> Tensor {
        let spatial = Array(shape.dropFirst(2))
        precondition(shape.count >= 3 && window.count == spatial.count && window.allSatisfy { $0 >= 1 },
                     "averagePooled: window \(window) does not fit shape \(shape)")
        precondition(zip(spatial, window).allSatisfy { $0 >= $1 },
                     "averagePooled: window \(window) is larger than the spatial size \(spatial)")
        let outSpatial = zip(spatial, window).map { $0 / $1 }
        let planes = shape[0] * shape[1]
        let inVolume = spatial.reduce(1, *), outVolume = outSpatial.reduce(1, *)
        let windowVolume = window.reduce(1, *)
        // Padded to 3 axes: (D, H, W) with D = 1 for 2D.
        let inSize = [Int](repeating: 1, count: 3 - spatial.count) + spatial
        let outSize = [Int](repeating: 1, count: 3 - spatial.count) + outSpatial
        let win = [Int](repeating: 1, count: 3 - spatial.count) + window
        let divisor = Float(windowVolume), scale = 1 / divisor
        let input = data
        var output = [Float](repeating: 0, count: planes * outVolume)
        output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { source in
                for plane in 0..<planes {
                    let inBase = plane * inVolume, outBase = plane * outVolume
                    for z in 0..<outSize[0] {
                        for y in 0..<outSize[1] {
                            for x in 0..<outSize[2] {
                                var sum: Float = 0
                                for dz in 0..<win[0] {
                                    for dy in 0..<win[1] {
                                        let row = inBase + ((z * win[0] + dz) * inSize[1] + y * win[1] + dy) * inSize[2]
                                            + x * win[2]
                                        for dx in 0..<win[2] { sum += source[row + dx] }
                                    }
                                }
                                out[outBase + (z * outSize[1] + y) * outSize[2] + x] = sum / divisor
                            }
                        }
                    }
                }
            }
        }
        let inputShape = shape
        return Tensor.record("averagePooled", shape: Array(shape.prefix(2)) + outSpatial, data: output,
                             inputs: [self]) { g in
            var gradient = [Float](repeating: 0, count: planes * inVolume)
            for plane in 0..<planes {
                let inBase = plane * inVolume, outBase = plane * outVolume
                for z in 0..<outSize[0] {
                    for y in 0..<outSize[1] {
                        for x in 0..<outSize[2] {
                            let value = g.data[outBase + (z * outSize[1] + y) * outSize[2] + x] * scale
                            for dz in 0..<win[0] {
                                for dy in 0..<win[1] {
                                    let row = inBase + ((z * win[0] + dz) * inSize[1] + y * win[1] + dy) * inSize[2]
                                        + x * win[2]
                                    for dx in 0..<win[2] { gradient[row + dx] = value }
                                }
                            }
                        }
                    }
                }
            }
            return [Tensor(shape: inputShape, data: gradient)]
        }
    }
}
