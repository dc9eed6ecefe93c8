// Softmax and log-softmax along one axis (channels by default); kernels in Kernels/Softmax.swift.
import Foundation

/// Softmax along `axis` (default 1: the channels of `NC...`), e.g. class probabilities from logits.
public func softmax(_ x: Tensor, axis: Int = 1) -> Tensor {
    let a = x.normalizedAxis(axis, op: "softmax")
    let outer = x.shape[..<a].reduce(1, *), channels = x.shape[a], inner = x.shape[(a + 1)...].reduce(1, *)
    let y = Kernels.softmax(x.data, outer: outer, channels: channels, inner: inner, kind: .softmax)
    let shape = x.shape
    return Tensor.record("softmax", shape: shape, data: y, inputs: [x]) { g in
        let yt = Tensor(shape: shape, data: y)
        let dot = (g * yt).sum(axes: [a], keepDims: true)
        return [yt * (g - dot)]
    }
}

/// Log-softmax along `axis` (default 1: channels); the numerically stable input of cross-entropy.
public func logSoftmax(_ x: Tensor, axis: Int = 1) -> Tensor {
    let a = x.normalizedAxis(axis, op: "logSoftmax")
    let outer = x.shape[..<a].reduce(1, *), channels = x.shape[a], inner = x.shape[(a + 1)...].reduce(1, *)
    let y = Kernels.softmax(x.data, outer: outer, channels: channels, inner: inner, kind: .logSoftmax)
    let shape = x.shape
    return Tensor.record("logSoftmax", shape: shape, data: y, inputs: [x]) { g in
        let p = Tensor(shape: shape, data: Kernels.map(y) { Foundation.exp($0) })
        return [g - p * g.sum(axes: [a], keepDims: true)]
    }
}
