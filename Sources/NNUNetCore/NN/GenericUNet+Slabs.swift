// Low-memory inference of a GenericUNet: the full-resolution stage evaluated in slabs.

extension GenericUNet {
    /// Rows per slab that ``forwardInSlabs(_:slabDepth:)`` uses unless told otherwise: at v1's 32 base features and
    /// a 160×160 plane a slab of the first stage's width is about 26 MiB (plus halo).
    public static let defaultSlabDepth = 8

    /// The full-resolution logits of `x`, as ``forward(_:)`` computes them, without ever holding a whole feature
    /// map of the first (full-resolution) stage: that stage is evaluated in slabs of `slabDepth` rows along the
    /// first spatial axis.
    ///
    /// ``forward(_:)`` holds up to three full-resolution maps of the first stage's width at once (the upsampled
    /// map, the skip and a block's output; 315 MiB each at v1's 32 base features and a 96×160×160 CT patch). Here
    /// the largest maps are those of the second stage (an eighth of the voxels at twice the width, at most three at
    /// once), one of which is kept for the first stage's decoder, plus a few slabs and the logits.
    ///
    /// Instance normalisation needs each channel's mean and variance over the whole patch, so the first stage runs
    /// in passes over all slabs: for each block in turn, a pass accumulates the moments of its convolution output
    /// (merged across slabs with Chan's formula), recomputing the blocks before it from the input with the
    /// statistics already known; a pass assembles the first block of the second stage (half resolution, normalised
    /// as a whole); the lower stages run as in ``forward(_:)``; then the decoder's blocks of the first stage are
    /// accumulated the same way, and a last pass applies the segmentation head. A kernel of width 3 along the first
    /// axis reads one row of halo on either side of a slab (zeros outside the patch, as the convolution's padding);
    /// within a pass each map keeps the last rows it computed, so a halo row is computed once, not once per slab.
    ///
    /// - Cost: the first stage's blocks are recomputed once per later pass (the skip's block five times, the
    ///   decoder's first block three times and its second twice). With v1's plans, where the first stage holds about
    ///   half of the arithmetic, that is about 2.5 times ``forward(_:)``'s arithmetic; the thin slab maps also run the
    ///   convolutions less efficiently than whole maps, so it takes about 4 to 5 times ``forward(_:)``'s time (4.3
    ///   measured on v1's Task901 patch with slabs of 8 rows, 5.0 with 16 rows).
    /// - Values: those of ``forward(_:)`` up to the float rounding of the merged statistics (the normalisation
    ///   applies them with the same arithmetic).
    /// - Runs without gradients (inference only).
    public func forwardInSlabs(_ x: Tensor, slabDepth: Int = GenericUNet.defaultSlabDepth) -> Tensor {
        precondition(slabDepth >= 1, "forwardInSlabs: slab depth \(slabDepth) must be at least 1")
        precondition(x.rank == convKernels[0].count + 2 && x.shape[1] == inputChannels,
                     "forwardInSlabs: input \(x.shape) does not fit a network with \(inputChannels) input channels "
                     + "and kernels \(convKernels[0])")
        return withoutGradients {
            FirstStageInSlabs(network: self, input: x, slabDepth: slabDepth).logits()
        }
    }

    /// What ``forward(_:)`` computes between the first stage's encoder and its decoder: the rest of encoder stage
    /// 1 from `h1` (the normalised output of its first, strided block), the deeper stages, and the decoder up to the
    /// stage that returns to half resolution. `h1` is taken (set to nil) so that it is freed once read.
    func lowerStages(from h1: inout Tensor?) -> Tensor {
        var skips: [Tensor] = []
        var below: Tensor?
        do {  // `h` ends with this scope
            guard var h = h1 else { preconditionFailure("lowerStages: no input") }
            h1 = nil
            for block in Self.blocks(of: encoder[1]).dropFirst() { h = block(h) }
            if encoder.count > 2 {  // encoder[1] is a stage with a skip, not the bottleneck
                skips.append(h)
                for d in 2..<(encoder.count - 1) {
                    h = encoder[d](h)
                    skips.append(h)
                }
                h = encoder[encoder.count - 1](h)
            }
            below = h
        }
        for u in 0..<(decoder.count - 1) {
            var parts = [upsampling[u](below!), skips.removeLast()]
            below = nil
            below = decode(stage: u, consuming: &parts)
        }
        return below!
    }

    /// The conv-norm-ReLU blocks of a stage, in application order.
    static func blocks(of module: Module) -> [ConvNormReLU] {
        switch module {
        case let block as ConvNormReLU: return [block]
        case let stack as StackedConvs: return stack.layers.flatMap { blocks(of: $0) }
        case let sequence as Sequential: return sequence.layers.flatMap { blocks(of: $0) }
        default: preconditionFailure("GenericUNet: unexpected module \(type(of: module)) in a stage")
        }
    }
}

/// The first stage of a ``GenericUNet`` evaluated in slabs along the first spatial axis (see
/// ``GenericUNet/forwardInSlabs(_:slabDepth:)``). Rows are indices along that axis; a slab's tensors are
/// `[N, C, rows, ...]`. A class: the rows each map computed last are shared by the recursive row requests of a pass.
private final class FirstStageInSlabs {
    /// A feature map of the first stage (and the second stage's first block, `down`).
    enum Map: Hashable {
        case input, encoder(Int), down, upsampled, decoder(Int)
    }

    let network: GenericUNet
    let input: Tensor
    let slabDepth: Int
    let encoderBlocks: [ConvNormReLU]
    let decoderBlocks: [ConvNormReLU]
    /// The strided first block of the second stage.
    let down: ConvNormReLU
    let upsampling: ConvTranspose
    let head: Conv
    /// Rows of the first stage (the input's extent along the first spatial axis).
    let depth: Int
    /// The half-resolution map the first stage's decoder upsamples (set after the lower stages ran).
    var below: Tensor?
    /// Per-plane mean and invstd of each block's convolution output, once accumulated.
    var statistics: [Map: (mean: [Double], invstd: [Double])] = [:]
    /// Rows the next slab of a pass reads again: consecutive slabs' requests to a map overlap by the reading
    /// kernel's extent minus its stride along the first axis, at most this.
    let overlap: Int
    /// The last ``overlap`` rows of each map's activation computed in the current pass (slabs advance along the
    /// first axis), so that the next slab computes only rows it has not seen.
    var recent: [Map: (rows: Range<Int>, values: Tensor)] = [:]

    init(network: GenericUNet, input: Tensor, slabDepth: Int) {
        self.network = network
        self.input = input
        self.slabDepth = slabDepth
        encoderBlocks = GenericUNet.blocks(of: network.encoder[0])
        down = GenericUNet.blocks(of: network.encoder[1])[0]
        decoderBlocks = GenericUNet.blocks(of: network.decoder[network.decoder.count - 1])
        upsampling = network.upsampling[network.upsampling.count - 1]
        head = network.heads[network.heads.count - 1]
        depth = input.shape[2]
        overlap = (encoderBlocks + decoderBlocks + [down]).map { $0.conv.weight.shape[2] - 1 }.max() ?? 0
    }

    func logits() -> Tensor {
        for i in encoderBlocks.indices { accumulateStatistics(of: .encoder(i)) }
        var h1: Tensor? = downsampled()
        below = network.lowerStages(from: &h1)
        for i in decoderBlocks.indices { accumulateStatistics(of: .decoder(i)) }
        let last = Map.decoder(decoderBlocks.count - 1)
        recent.removeAll()
        return Self.assembled(extent: depth, slabRows: slabDepth) { head(activation(last, rows: $0)) }
    }

    /// The rows `0..<extent` of a map computed slab by slab by `slab` (rows → `[N, C, rows, ...]`), as one tensor.
    static func assembled(extent: Int, slabRows: Int, _ slab: (Range<Int>) -> Tensor) -> Tensor {
        var out: [Float] = [], shape: [Int] = []
        for rows in slabs(of: extent, rows: slabRows) {
            let part = slab(rows)
            if shape.isEmpty {
                shape = part.shape
                shape[2] = extent
                out = [Float](repeating: 0, count: shape.reduce(1, *))
            }
            copyRows(part, into: &out, shape: shape, at: rows.lowerBound)
        }
        return Tensor(shape: shape, data: out)
    }

    /// Accumulates the moments of `map`'s convolution output over all slabs and stores its statistics.
    func accumulateStatistics(of map: Map) {
        recent.removeAll()
        var moments: Kernels.PlaneMoments?
        for rows in Self.slabs(of: depth, rows: slabDepth) {
            let output = convolved(map, rows: rows)
            let planes = output.shape[0] * output.shape[1]
            if moments == nil { moments = Kernels.PlaneMoments(planes: planes) }
            Kernels.accumulateMoments(output.data, planes: planes, spatial: output.count / planes, into: &moments!)
        }
        guard let moments else { preconditionFailure("forwardInSlabs: no rows") }
        statistics[map] = (moments.mean, moments.invstd(epsilon: block(map).norm.epsilon))
    }

    /// The second stage's first block over its whole (half-resolution) output, normalised as a whole.
    func downsampled() -> Tensor {
        let layer = down.conv
        let extent = (depth + 2 * layer.padding[0] - layer.weight.shape[2]) / layer.stride[0] + 1
        recent.removeAll()
        let convolved = Self.assembled(extent: extent, slabRows: max(1, slabDepth / layer.stride[0])) {
            self.convolved(.down, rows: $0)
        }
        return down.normalized(convolved)  // in place: no gradients here
    }

    func block(_ map: Map) -> ConvNormReLU {
        switch map {
        case .encoder(let i): return encoderBlocks[i]
        case .decoder(let i): return decoderBlocks[i]
        case .down: return down
        case .input, .upsampled: preconditionFailure("forwardInSlabs: \(map) is not the output of a block")
        }
    }

    /// The maps a block reads, in the channel order of its weight (the decoder's first block reads the upsampled
    /// map before the skip).
    func sources(_ map: Map) -> [Map] {
        switch map {
        case .encoder(let i): return [i == 0 ? .input : .encoder(i - 1)]
        case .down: return [.encoder(encoderBlocks.count - 1)]
        case .decoder(let i): return i == 0 ? [.upsampled, .encoder(encoderBlocks.count - 1)] : [.decoder(i - 1)]
        case .input, .upsampled: return []
        }
    }

    /// `map`'s convolution output (before normalisation) at output rows `rows`, which lie inside its extent. The
    /// input rows it reads come from ``activation(_:rows:)`` (zeros outside the stage), so the convolution runs
    /// without padding along the first axis.
    func convolved(_ map: Map, rows: Range<Int>) -> Tensor {
        let layer = block(map).conv
        let stride = layer.stride[0]
        let inputRows = (rows.lowerBound * stride - layer.padding[0])
            ..< ((rows.upperBound - 1) * stride - layer.padding[0] + layer.weight.shape[2])
        var padding = layer.padding
        padding[0] = 0
        let parts = sources(map).map { activation($0, rows: inputRows) }
        return conv(concatenating: parts, weight: layer.weight, bias: layer.bias, stride: layer.stride,
                    padding: padding)
    }

    /// Rows `rows` of `map` as the next block reads them (normalised and activated for a block's output); rows
    /// outside `0..<depth` are zeros. Only the rows inside are computed, and of those only the ones not among the
    /// map's ``recent`` rows.
    func activation(_ map: Map, rows: Range<Int>) -> Tensor {
        if map == .input { return Self.rows(rows, of: input) }
        let inside = max(rows.lowerBound, 0)..<min(rows.upperBound, depth)
        precondition(!inside.isEmpty, "forwardInSlabs: rows \(rows) outside 0..<\(depth)")
        var known: Tensor?
        var first = inside.lowerBound  // the first row to compute
        if let cached = recent[map], cached.rows.contains(inside.lowerBound) {
            first = min(cached.rows.upperBound, inside.upperBound)
            let offset = cached.rows.lowerBound
            known = Self.rows((inside.lowerBound - offset)..<(first - offset), of: cached.values)
        }
        let computed: Tensor
        if first == inside.upperBound, let known {
            computed = known
        } else {
            let fresh = activationComputed(map, rows: first..<inside.upperBound)
            computed = known.map { Self.joined($0, fresh) } ?? fresh
        }
        if overlap > 0 {
            let kept = max(inside.lowerBound, inside.upperBound - overlap)..<inside.upperBound
            recent[map] = (kept, Self.rows((kept.lowerBound - inside.lowerBound)..<inside.count, of: computed))
        }
        let offset = inside.lowerBound
        return inside == rows ? computed : Self.rows((rows.lowerBound - offset)..<(rows.upperBound - offset), of: computed)
    }

    /// Rows `rows` (inside the stage) of `map`, computed from the maps it reads.
    func activationComputed(_ map: Map, rows: Range<Int>) -> Tensor {
        if map == .upsampled { return upsampled(rows: rows) }
        let norm = block(map).norm
        guard let stats = statistics[map] else { preconditionFailure("forwardInSlabs: \(map) not accumulated") }
        let computed = convolved(map, rows: rows)
        let planes = computed.shape[0] * computed.shape[1]
        Kernels.normalizeLeakyReLUInPlace(&computed.data, planes: planes, channels: computed.shape[1],
                                          spatial: computed.count / planes, mean: stats.mean,
                                          invstd: stats.invstd, gamma: norm.weight.data, beta: norm.bias.data,
                                          negativeSlope: ConvNormReLU.negativeSlope)
        return computed
    }

    /// Rows `rows` (inside the stage) of the upsampled map: the transposed convolution (kernel = stride) of the
    /// rows of ``below`` they come from.
    func upsampled(rows: Range<Int>) -> Tensor {
        guard let below else { preconditionFailure("forwardInSlabs: the lower stages have not run") }
        let factor = upsampling.stride[0]
        precondition(below.shape[2] * factor == depth,
                     "forwardInSlabs: \(below.shape[2]) rows upsampled by \(factor) do not give \(depth)")
        let first = rows.lowerBound / factor, last = (rows.upperBound + factor - 1) / factor
        let up = upsampling(Self.rows(first..<last, of: below))
        let offset = first * factor
        return Self.rows((rows.lowerBound - offset)..<(rows.upperBound - offset), of: up)
    }

    /// `extent` rows in slabs of `rows` (the last one shorter).
    static func slabs(of extent: Int, rows: Int) -> [Range<Int>] {
        stride(from: 0, to: extent, by: rows).map { $0..<min($0 + rows, extent) }
    }

    /// Rows `rows` of `tensor` `[N, C, R, ...]` along axis 2; rows outside `0..<R` are zeros. Returns `tensor`
    /// itself when `rows` is `0..<R`.
    static func rows(_ rows: Range<Int>, of tensor: Tensor) -> Tensor {
        let extent = tensor.shape[2]
        if rows == 0..<extent { return tensor }
        let planes = tensor.shape[0] * tensor.shape[1], plane = tensor.shape[3...].reduce(1, *)
        var out = [Float](repeating: 0, count: planes * rows.count * plane)
        let lower = max(rows.lowerBound, 0), upper = min(rows.upperBound, extent)
        if lower < upper {
            tensor.data.withUnsafeBufferPointer { source in
                out.withUnsafeMutableBufferPointer { target in
                    for p in 0..<planes {
                        (target.baseAddress! + (p * rows.count + lower - rows.lowerBound) * plane)
                            .update(from: source.baseAddress! + (p * extent + lower) * plane, count: (upper - lower) * plane)
                    }
                }
            }
        }
        var shape = tensor.shape
        shape[2] = rows.count
        return Tensor(shape: shape, data: out)
    }

    /// `upper`'s rows after `lower`'s: `[N, C, a, ...]` and `[N, C, b, ...]` give `[N, C, a + b, ...]`.
    static func joined(_ lower: Tensor, _ upper: Tensor) -> Tensor {
        var shape = lower.shape
        shape[2] += upper.shape[2]
        var out = [Float](repeating: 0, count: shape.reduce(1, *))
        copyRows(lower, into: &out, shape: shape, at: 0)
        copyRows(upper, into: &out, shape: shape, at: lower.shape[2])
        return Tensor(shape: shape, data: out)
    }

    /// Copies `slab` `[N, C, r, ...]` into rows `row..<row + r` of `out`, a tensor of `shape` `[N, C, R, ...]`.
    static func copyRows(_ slab: Tensor, into out: inout [Float], shape: [Int], at row: Int) {
        let planes = shape[0] * shape[1], plane = shape[3...].reduce(1, *)
        let extent = shape[2], count = slab.shape[2]
        precondition(slab.shape[0] * slab.shape[1] == planes && row + count <= extent,
                     "forwardInSlabs: slab \(slab.shape) does not fit rows \(row)... of \(shape)")
        slab.data.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for p in 0..<planes {
                    (target.baseAddress! + (p * extent + row) * plane)
                        .update(from: source.baseAddress! + p * count * plane, count: count * plane)
                }
            }
        }
    }
}
