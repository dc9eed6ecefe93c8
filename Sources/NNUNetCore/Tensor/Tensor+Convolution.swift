// Convolution and transposed convolution ops (2D and 3D) with their backward rules.

extension Convolution.Geometry {
    /// Geometry of `conv(x, weight)` for x `[N, Cin, (D,) H, W]`, weight `[Cout, Cin, (kD,) kH, kW]`.
    init(input: [Int], weight: [Int], stride: [Int]?, padding: [Int]?, op: String) {
        precondition(input.count == 4 || input.count == 5, "\(op): input shape \(input) must be NCHW or NCDHW")
        precondition(weight.count == input.count,
                     "\(op): weight shape \(weight) does not match input shape \(input) (rank)")
        let spatialRank = input.count - 2
        let stride = stride ?? [Int](repeating: 1, count: spatialRank)
        let padding = padding ?? [Int](repeating: 0, count: spatialRank)
        precondition(stride.count == spatialRank && padding.count == spatialRank,
                     "\(op): stride \(stride) / padding \(padding) need \(spatialRank) values for input \(input)")
        precondition(stride.allSatisfy { $0 >= 1 } && padding.allSatisfy { $0 >= 0 },
                     "\(op): invalid stride \(stride) or padding \(padding)")
        func lift(_ v: [Int], _ fill: Int) -> [Int] { spatialRank == 2 ? [fill] + v : v }
        self.init(batch: input[0], inputChannels: input[1], outputChannels: weight[0],
                  inputSize: lift(Array(input[2...]), 1), kernel: lift(Array(weight[2...]), 1),
                  stride: lift(stride, 1), padding: lift(padding, 0))
    }
}

/// 2D or 3D convolution (cross-correlation, as PyTorch's `Conv2d`/`Conv3d`).
///
/// Shapes: x `[N, Cin, D, H, W]` (or `[N, Cin, H, W]`), weight `[Cout, Cin, kD, kH, kW]` (or `[Cout, Cin, kH, kW]`),
/// bias `[Cout]`; output `[N, Cout, D', H', W']` with `D' = (D + 2·pD - kD) / sD + 1` per axis. Any kernel, stride
/// and padding per axis (nnU-Net uses kernels 1 or 3 and strides 1 or 2, e.g. kernel `[1, 3, 3]`, stride `[1, 2, 2]`).
///
/// - Parameters:
///   - x: the input `[N, Cin, (D,) H, W]`.
///   - weight: the kernels `[Cout, Cin, (kD,) kH, kW]`.
///   - bias: `[Cout]`, or nil for none.
///   - stride: per spatial axis (default 1).
///   - padding: zero padding per spatial axis, both sides (default 0).
///   - threads: parallelism (default ``ThreadSettings/defaultThreads``).
public func conv(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: [Int]? = nil, padding: [Int]? = nil,
                 threads: Int = ThreadSettings.defaultThreads) -> Tensor {
    let g = convolutionGeometry(input: x.shape, weight: weight, bias: bias, stride: stride, padding: padding, op: "conv")
    let out = Convolution.forward(g, input: x.data, weight: weight.data, bias: bias?.data, threads: threads)
    let outShape = [g.batch, g.outputChannels] + (x.rank == 5 ? g.outputSize : Array(g.outputSize[1...]))
    var inputs = [x, weight]
    if let bias { inputs.append(bias) }
    let input = x.data, weightData = weight.data
    let inputShape = x.shape, weightShape = weight.shape
    return Tensor.record("conv", shape: outShape, data: out, inputs: inputs) { gout in
        var grads: [Tensor?] = [nil, nil]
        if x.requiresGrad {
            grads[0] = Tensor(shape: inputShape, data: Convolution.backwardInput(
                g, outputGradient: gout.data, weight: weightData, threads: threads))
        }
        if weight.requiresGrad || (bias?.requiresGrad ?? false) {
            let gw = Convolution.backwardWeight(g, input: input, outputGradient: gout.data, threads: threads)
            grads[1] = Tensor(shape: weightShape, data: gw.weight)
            if bias != nil { grads.append(Tensor(shape: [g.outputChannels], data: gw.bias)) }
        } else if bias != nil {
            grads.append(nil)
        }
        return grads
    }
}

/// Checks the shapes of a convolution and returns its geometry (`op` names the caller in messages).
private func convolutionGeometry(input: [Int], weight: Tensor, bias: Tensor?, stride: [Int]?, padding: [Int]?,
                                 op: String) -> Convolution.Geometry {
    let g = Convolution.Geometry(input: input, weight: weight.shape, stride: stride, padding: padding, op: op)
    precondition(weight.shape[1] == input[1],
                 "\(op): weight \(weight.shape) expects \(weight.shape[1]) input channels, input \(input) has \(input[1])")
    if let bias { precondition(bias.shape == [g.outputChannels], "\(op): bias \(bias.shape) vs weight \(weight.shape)") }
    for axis in 0..<3 {
        let padded: Int = g.inputSize[axis] + 2 * g.padding[axis]
        precondition(padded >= g.kernel[axis], "\(op): kernel \(weight.shape) larger than padded input \(input)")
    }
    return g
}

/// Convolution of the channel concatenation of `parts`, without materialising `concat(parts, axis: 1)`: the first
/// block of each U-Net decoder stage, whose input is `cat([upsampled, skip])`.
///
/// The parts share batch and spatial size; the weight's input channels are the parts' channels in order. Values and
/// gradients equal ``conv(_:weight:bias:stride:padding:threads:)`` on the concatenation bit for bit (the kernels
/// gather the same column matrix from the separate arrays); no concatenated volume is allocated, and the backward
/// pass keeps the parts instead of a concatenated copy (one skip-sized volume less per decoder stage in training).
public func conv(concatenating parts: [Tensor], weight: Tensor, bias: Tensor? = nil, stride: [Int]? = nil,
                 padding: [Int]? = nil, threads: Int = ThreadSettings.defaultThreads) -> Tensor {
    precondition(!parts.isEmpty, "conv(concatenating:): no tensors to concatenate")
    if parts.count == 1 {
        return conv(parts[0], weight: weight, bias: bias, stride: stride, padding: padding, threads: threads)
    }
    let first = parts[0]
    for part in parts.dropFirst() {
        precondition(part.rank == first.rank && part.shape[0] == first.shape[0]
                     && Array(part.shape[2...]) == Array(first.shape[2...]),
                     "conv(concatenating:): \(part.shape) does not concatenate with \(first.shape) along channels")
    }
    let channels = parts.map { $0.shape[1] }
    let joinedShape = [first.shape[0], channels.reduce(0, +)] + Array(first.shape[2...])
    let g = convolutionGeometry(input: joinedShape, weight: weight, bias: bias, stride: stride, padding: padding,
                                op: "conv(concatenating:)")
    let arrays = parts.map(\.data)
    let out = Convolution.forward(g, inputs: arrays, channels: channels, weight: weight.data, bias: bias?.data,
                                  threads: threads)
    let outShape = [g.batch, g.outputChannels] + (first.rank == 5 ? g.outputSize : Array(g.outputSize[1...]))
    var inputs = parts + [weight]
    if let bias { inputs.append(bias) }
    let weightData = weight.data, weightShape = weight.shape
    let partShapes = parts.map(\.shape), partsNeedGradient = parts.map(\.requiresGrad)
    return Tensor.record("convConcatenated", shape: outShape, data: out, inputs: inputs) { gout in
        var grads = [Tensor?](repeating: nil, count: partShapes.count + 1)
        if partsNeedGradient.contains(true) {
            let gx = Convolution.backwardInput(g, outputGradient: gout.data, weight: weightData, parts: channels,
                                               threads: threads)
            for i in partShapes.indices where partsNeedGradient[i] { grads[i] = Tensor(shape: partShapes[i], data: gx[i]) }
        }
        if weight.requiresGrad || (bias?.requiresGrad ?? false) {
            let gw = Convolution.backwardWeight(g, inputs: arrays, channels: channels, outputGradient: gout.data,
                                                threads: threads)
            grads[partShapes.count] = Tensor(shape: weightShape, data: gw.weight)
            if bias != nil { grads.append(Tensor(shape: [g.outputChannels], data: gw.bias)) }
        } else if bias != nil {
            grads.append(nil)
        }
        return grads
    }
}

/// Transposed convolution (PyTorch's `ConvTranspose2d/3d`, `output_padding` 0), nnU-Net's upsampling with
/// kernel = stride.
///
/// Shapes: x `[N, Cin, D, H, W]` (or NCHW), weight `[Cin, Cout, kD, kH, kW]` (PyTorch's layout: input channels
/// first), bias `[Cout]`; output `[N, Cout, D', H', W']` with `D' = (D - 1)·sD - 2·pD + kD`. With kernel = stride
/// and no padding every input voxel writes its own output block:
/// `out[n, o, z·kz + a, y·ky + b, x·kx + c] = Σ_ci x[n, ci, z, y, x] · w[ci, o, a, b, c]`.
public func convTranspose(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: [Int]? = nil,
                          padding: [Int]? = nil, threads: Int = ThreadSettings.defaultThreads) -> Tensor {
    precondition(x.rank == 4 || x.rank == 5, "convTranspose: input shape \(x.shape) must be NCHW or NCDHW")
    precondition(weight.rank == x.rank && weight.shape[0] == x.shape[1],
                 "convTranspose: weight \(weight.shape) [Cin, Cout, k...] does not fit input \(x.shape)")
    let spatialRank = x.rank - 2
    let s = stride ?? [Int](repeating: 1, count: spatialRank)
    let p = padding ?? [Int](repeating: 0, count: spatialRank)
    precondition(s.count == spatialRank && p.count == spatialRank,
                 "convTranspose: stride \(s) / padding \(p) need \(spatialRank) values for input \(x.shape)")
    var outSpatial: [Int] = []
    for axis in 0..<spatialRank {
        let extent: Int = (x.shape[2 + axis] - 1) * s[axis]
        let kernel: Int = weight.shape[2 + axis]
        outSpatial.append(extent - 2 * p[axis] + kernel)
    }
    precondition(outSpatial.allSatisfy { $0 > 0 }, "convTranspose: empty output for input \(x.shape), weight \(weight.shape)")
    let outputChannels = weight.shape[1]
    let outShape = [x.shape[0], outputChannels] + outSpatial
    // The equivalent convolution maps the transposed op's output (as its input) to x (as its output).
    let g = Convolution.Geometry(input: outShape, weight: weight.shape, stride: s, padding: p, op: "convTranspose")
    if let bias { precondition(bias.shape == [outputChannels], "convTranspose: bias \(bias.shape) vs weight \(weight.shape)") }
    var out = Convolution.backwardInput(g, outputGradient: x.data, weight: weight.data, threads: threads)
    let voxels = outSpatial.reduce(1, *)
    if let bias {
        for n in 0..<x.shape[0] {
            for o in 0..<outputChannels {
                let base = (n * outputChannels + o) * voxels, value = bias.data[o]
                for v in 0..<voxels { out[base + v] += value }
            }
        }
    }
    var inputs = [x, weight]
    if let bias { inputs.append(bias) }
    let input = x.data, weightData = weight.data, inputShape = x.shape, weightShape = weight.shape
    return Tensor.record("convTranspose", shape: outShape, data: out, inputs: inputs) { gout in
        var grads: [Tensor?] = [nil, nil]
        if x.requiresGrad {
            grads[0] = Tensor(shape: inputShape,
                              data: Convolution.forward(g, input: gout.data, weight: weightData, bias: nil,
                                                        threads: threads))
        }
        if weight.requiresGrad {
            grads[1] = Tensor(shape: weightShape, data: Convolution.backwardWeight(
                g, input: gout.data, outputGradient: input, threads: threads).weight)
        }
        if bias != nil {
            grads.append(bias?.requiresGrad == true ? gout.sum(axes: [0] + Array(2..<gout.rank)) : nil)
        }
        return grads
    }
}
