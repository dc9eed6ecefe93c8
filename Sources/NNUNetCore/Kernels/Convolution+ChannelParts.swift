/// Channels split over several arrays: how the convolution passes read the channel concatenation of tensors (the
/// U-Net decoder's `cat([upsampled, skip])`) and write an input gradient back into per-tensor arrays, without
/// materialising the concatenated volume.
///
/// The folded gathers address source channels through a table of plane pointers (`planes[n·C + c]` = first voxel of
/// channel c of sample n), so one array or several give the same column matrix and the same GEMMs: results equal the
/// single-array pass on the concatenation bit for bit.
extension Convolution {
    /// The channel concatenation of `arrays`, each laid out `[N, channels[i], voxels]`.
    struct ChannelParts {
        let arrays: [[Float]]
        let channelCounts: [Int]
        let voxels: Int

        /// Total channels (the concatenation's).
        var channels: Int { channelCounts.reduce(0, +) }

        init(_ arrays: [[Float]], channels: [Int], voxels: Int) {
            precondition(arrays.count == channels.count && !arrays.isEmpty, "ChannelParts: \(arrays.count) arrays, \(channels.count) channel counts")
            for (array, count) in zip(arrays, channels) {
                precondition(count > 0 && voxels > 0 && array.count % (count * voxels) == 0,
                             "ChannelParts: array of \(array.count) values is not N × \(count) × \(voxels)")
            }
            self.arrays = arrays
            self.channelCounts = channels
            self.voxels = voxels
        }

        /// Calls `body` with the plane table of `batch` samples: entry `n·channels + c` is the first voxel of
        /// channel c of sample n.
        func withPlanes<R>(batch: Int, _ body: (UnsafePointer<UnsafePointer<Float>>) -> R) -> R {
            Convolution.withBaseAddresses(arrays[...], collected: []) { bases in
                Convolution.planeTable(bases, channels: channelCounts, voxels: voxels, batch: batch) { $0 + $1 }
                    .withUnsafeBufferPointer { body($0.baseAddress!) }
            }
        }
    }

    /// The plane table of parts starting at `bases` (part i holds `[N, channels[i], voxels]`): entry `n·C + c` is
    /// `advance(base of c's part, offset of c in it)`.
    private static func planeTable<Pointer>(_ bases: [Pointer], channels: [Int], voxels: Int, batch: Int,
                                            advance: (Pointer, Int) -> Pointer) -> [Pointer] {
        var table: [Pointer] = []
        table.reserveCapacity(batch * channels.reduce(0, +))
        for n in 0..<batch {
            for (base, count) in zip(bases, channels) {
                for c in 0..<count { table.append(advance(base, (n * count + c) * voxels)) }
            }
        }
        return table
    }

    /// Pins every array (non-empty) and calls `body` with their base addresses, in order.
    private static func withBaseAddresses<R>(_ arrays: ArraySlice<[Float]>, collected: [UnsafePointer<Float>],
                                             _ body: ([UnsafePointer<Float>]) -> R) -> R {
        guard let first = arrays.first else { return body(collected) }
        return first.withUnsafeBufferPointer { pointer in
            withBaseAddresses(arrays.dropFirst(), collected: collected + [pointer.baseAddress!], body)
        }
    }

    /// Calls `body` with the plane table of `outputs` (array i holds `[N, parts[i], voxels]`): entry `n·C + c` is the
    /// first voxel of channel c (of the concatenation) of sample n. The arrays are written in place.
    static func withMutablePlanes<R>(_ outputs: inout [[Float]], parts: [Int], voxels: Int, batch: Int,
                                     _ body: (UnsafePointer<UnsafeMutablePointer<Float>>) -> R) -> R {
        precondition(outputs.count == parts.count, "withMutablePlanes: \(outputs.count) arrays for \(parts.count) parts")
        // Each array is moved out of `outputs` while it is pinned (so it stays uniquely referenced and is written in
        // place), then moved back.
        var pinned: [[Float]] = []
        swap(&pinned, &outputs)
        defer { swap(&pinned, &outputs) }
        func pin(_ index: Int, _ bases: [UnsafeMutablePointer<Float>]) -> R {
            guard index < pinned.count else {
                return planeTable(bases, channels: parts, voxels: voxels, batch: batch) { $0 + $1 }
                    .withUnsafeBufferPointer { body($0.baseAddress!) }
            }
            var array: [Float] = []
            swap(&array, &pinned[index])
            defer { swap(&array, &pinned[index]) }
            precondition(!array.isEmpty, "withMutablePlanes: part \(index) is empty")
            return array.withUnsafeMutableBufferPointer { pointer in pin(index + 1, bases + [pointer.baseAddress!]) }
        }
        return pin(0, [])
    }
}

extension Convolution {
    /// Forward of the channel concatenation of `inputs` (array i is `[N, channels[i], inputVoxels]`); equal to
    /// ``forward(_:input:weight:bias:threads:)`` on the concatenated array. Only the strided-x layout (no folded pass)
    /// concatenates first.
    static func forward(_ g: Geometry, inputs: [[Float]], channels: [Int], weight: [Float], bias: [Float]?,
                        threads: Int) -> [Float] {
        precondition(channels.reduce(0, +) == g.inputChannels, "conv parts: \(channels) channels vs \(g.inputChannels)")
        if inputs.count == 1 { return forward(g, input: inputs[0], weight: weight, bias: bias, threads: threads) }
        if g.stride[2] == 1 && g.kernel[2] > 1 {
            return forwardFolded(g, input: ChannelParts(inputs, channels: channels, voxels: g.inputVoxels),
                                 weight: weight, bias: bias, threads: threads)
        }
        let joined = concatenateChannels(inputs, channels: channels, voxels: g.inputVoxels, batch: g.batch)
        return forward(g, input: joined, weight: weight, bias: bias, threads: threads)
    }

    /// Input gradient split into arrays of `parts[i]` channels (the inverse of the concatenation in
    /// ``forward(_:inputs:channels:weight:bias:threads:)``).
    static func backwardInput(_ g: Geometry, outputGradient: [Float], weight: [Float], parts: [Int],
                              threads: Int) -> [[Float]] {
        precondition(parts.reduce(0, +) == g.inputChannels, "conv parts: \(parts) channels vs \(g.inputChannels)")
        if g.stride[2] == 1 && g.kernel[2] > 1 {
            return backwardInputFolded(g, outputGradient: outputGradient, weight: weight, parts: parts, threads: threads)
        }
        let whole = backwardInput(g, outputGradient: outputGradient, weight: weight, threads: threads)
        return parts.count == 1 ? [whole] : splitChannels(whole, parts: parts, voxels: g.inputVoxels, batch: g.batch)
    }

    /// Weight and bias gradients for the channel concatenation of `inputs`.
    static func backwardWeight(_ g: Geometry, inputs: [[Float]], channels: [Int], outputGradient: [Float],
                               threads: Int) -> (weight: [Float], bias: [Float]) {
        precondition(channels.reduce(0, +) == g.inputChannels, "conv parts: \(channels) channels vs \(g.inputChannels)")
        if inputs.count == 1 {
            return backwardWeight(g, input: inputs[0], outputGradient: outputGradient, threads: threads)
        }
        if g.stride[2] == 1 && g.kernel[2] > 1 {
            let parts = ChannelParts(inputs, channels: channels, voxels: g.inputVoxels)
            return (backwardWeightFolded(g, input: parts, outputGradient: outputGradient, threads: threads),
                    biasGradient(g, outputGradient: outputGradient))
        }
        let joined = concatenateChannels(inputs, channels: channels, voxels: g.inputVoxels, batch: g.batch)
        return backwardWeight(g, input: joined, outputGradient: outputGradient, threads: threads)
    }

    /// `[N, Σ channels, voxels]` from arrays of `[N, channels[i], voxels]`.
    static func concatenateChannels(_ arrays: [[Float]], channels: [Int], voxels: Int, batch: Int) -> [Float] {
        let total = channels.reduce(0, +)
        var out = Kernels.overwrittenBuffer(count: batch * total * voxels)
        out.withUnsafeMutableBufferPointer { po in
            var offset = 0
            for n in 0..<batch {
                for (array, count) in zip(arrays, channels) {
                    let block = count * voxels
                    array.withUnsafeBufferPointer { pa in
                        (po.baseAddress! + offset).update(from: pa.baseAddress! + n * block, count: block)
                    }
                    offset += block
                }
            }
        }
        return out
    }

    /// Arrays of `[N, parts[i], voxels]` from `[N, Σ parts, voxels]`.
    static func splitChannels(_ whole: [Float], parts: [Int], voxels: Int, batch: Int) -> [[Float]] {
        let total = parts.reduce(0, +)
        var start = 0
        return parts.map { count in
            defer { start += count }
            var out = Kernels.overwrittenBuffer(count: batch * count * voxels)
            whole.withUnsafeBufferPointer { pw in
                out.withUnsafeMutableBufferPointer { po in
                    for n in 0..<batch {
                        (po.baseAddress! + n * count * voxels).update(
                            from: pw.baseAddress! + (n * total + start) * voxels, count: count * voxels)
                    }
                }
            }
            return out
        }
    }
}
