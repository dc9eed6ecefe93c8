import CNNUNetKernels

/// Winograd F(2, 3) per axis for the stride-1 convolutions nnU-Net's planners emit: kernel 3×3×3 (padding 1) and
/// 1×3×3 (padding 0, 1, 1; also every 2D 3×3, which is depth 1 here): forward, input gradient and weight gradient.
///
/// Along an axis with kernel 3, each tile of 2 outputs reads 4 inputs; the 1D transforms are
/// - input: `Bᵀd = (d0 - d2, d1 + d2, d2 - d1, d1 - d3)`,
/// - weight: `Gg = (g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2)`,
/// - output: `Aᵀm = (m0 + m1 + m2, m1 - m2 - m3)`,
/// so `y = Aᵀ[(Gg) ⊙ (Bᵀd)]` equals the 2 outputs of the 3-tap correlation. Along an axis with kernel 1 a tile is one
/// voxel and every transform is the identity. In 3D a tile of 2×2×2 outputs needs 4·4·4 = 64 products per channel
/// pair instead of 8·27 = 216 (1×3×3: 16 instead of 36). The products are `positions` GEMMs per block of tiles:
/// `M[p] (Cout × tiles) = U[p] (Cout × Cin) · V[p] (Cin × tiles)`, one per transform position p.
///
/// Along z, volumes deep enough take F(4, 3) instead (``winogradDepthTile(_:)``): a tile of 4 outputs reads 6 inputs,
/// 96 products per 4×2×2 outputs instead of 128, with the transforms (interpolation points 0, ±1, ±2)
/// - input: `Bᵀd = (4d0 - 5d2 + d4, d3 + d4 - 4(d1 + d2), 4(d1 - d2) + d4 - d3, 2(d3 - d1) + d4 - d2,
///   2(d1 - d3) + d4 - d2, 4d1 - 5d3 + d5)`,
/// - weight: `Gg = (g0 / 4, -(g0 + g1 + g2) / 6, -(g0 - g1 + g2) / 6, g0 / 24 + g1 / 12 + g2 / 6,
///   g0 / 24 - g1 / 12 + g2 / 6, g2)`,
/// - output: `Aᵀm = (m0 + m1 + m2 + m3 + m4, m1 - m2 + 2(m3 - m4), m1 + m2 + 4(m3 + m4), m1 - m2 + 8(m3 - m4) + m5)`.
///
/// F(2, 3)'s transforms have coefficients 0, ±1 and ±1/2 only, so its result differs from the direct convolution by
/// rounding alone; F(4, 3)'s larger coefficients round about 3 times more (both checked against the float64 reference
/// and the direct path on every planner geometry). The input gradient of a stride-1 convolution with padding
/// (k - 1) / 2 is the forward convolution of the output gradient with the kernel flipped and its channel axes
/// swapped, so both passes share ``winogradDataPass``. The weight gradient keeps F(2, 3) along every axis.
extension Convolution {
    /// The smallest number of tiles per sample for which the Winograd pass is used; smaller volumes (the deepest
    /// U-Net stages) keep the folded GEMM pass, whose weight is not expanded.
    static let winogradMinimumTiles = 8

    /// Fewest channels on either side of a convolution for which the forward and input-gradient passes take the
    /// Winograd pass. With 1×3×3 and 2D 3×3 kernels (F(2, 3) along two axes: 16 products per 4 outputs against 36)
    /// the transforms, per channel, cost more than the products they save below 16 channels, as in the first
    /// convolution of a 2D network. Measured on the 2-core EPYC (AVX-512), forward of a 3×3 convolution on 320×256
    /// to 32 channels, Winograd against the folded GEMM pass: 1 input channel 5.0 against 1.3 ms, 8 9.6 against 6.0,
    /// 16 13.4 against 14.3, 32 21.6 against 28.4. 3×3×3 kernels take it at any width: the GEMM pass is faster only
    /// for 1 or 2 input channels (40×56×40 to 32 channels: 3.5 against 2.1 ms and 3.7 against 2.9; 4: 4.2 against
    /// 4.5), about 1 % of a Task004 patch forward.
    static func winogradMinimumChannels(kernelDepth: Int) -> Int { kernelDepth == 3 ? 1 : 16 }

    /// Whether the minimum of ``winogradMinimumChannels(kernelDepth:)`` holds (the tests turn it off, to compare
    /// the two passes on few channels).
    @TaskLocal static var winogradChannelMinimum = true

    /// Whether ``winogradDataPass`` computes `g`'s forward and input gradient: ``winogradApplies(_:)`` and at least
    /// ``winogradMinimumChannels(kernelDepth:)`` input and output channels.
    static func winogradDataPassApplies(_ g: Geometry) -> Bool {
        guard winogradApplies(g) else { return false }
        return !winogradChannelMinimum
            || min(g.inputChannels, g.outputChannels) >= winogradMinimumChannels(kernelDepth: g.kernel[0])
    }

    /// Whether the Winograd transforms apply to `g`: stride 1, kernel 3 with padding 1 along y and x, and along z
    /// kernel 3 with padding 1 or kernel 1 with padding 0, with enough tiles.
    static func winogradApplies(_ g: Geometry) -> Bool {
        guard g.stride == [1, 1, 1], g.kernel[1] == 3, g.kernel[2] == 3, g.padding[1] == 1, g.padding[2] == 1
        else { return false }
        guard (g.kernel[0] == 3 && g.padding[0] == 1) || (g.kernel[0] == 1 && g.padding[0] == 0) else { return false }
        let depthOutputs = g.kernel[0] == 3 ? 2 : 1
        let size = g.inputSize
        let tiles = ((size[0] + depthOutputs - 1) / depthOutputs) * ((size[1] + 1) / 2) * ((size[2] + 1) / 2)
        return tiles >= winogradMinimumTiles
    }

    /// The tile along z of the forward and input-gradient passes of `g`: F(4, 3) where its transform positions along
    /// z (6 per 4 outputs, the last tile clipped) are at most 80 % of F(2, 3)'s (4 per 2 outputs), F(2, 3) otherwise
    /// (for example 10 or 5 deep, where the last F(4, 3) tile is mostly outside the volume).
    static func winogradDepthTile(_ g: Geometry) -> WinogradDepthTile {
        guard g.kernel[0] == 3, winogradLongDepthTiles else { return .two }
        let depth = g.inputSize[0]
        return 6 * ((depth + 3) / 4) * 5 <= 4 * ((depth + 1) / 2) * 4 ? .four : .two
    }

    /// Whether ``winogradDepthTile(_:)`` may pick F(4, 3) along z (the tests turn it off to compare the two).
    @TaskLocal static var winogradLongDepthTiles = true

    /// Transformed weights `U[p][m][q]` (positions × rowsM × channelsQ) of the kernels `w` whose (m, q) block of
    /// `kernelDepth·3·3` values starts at `m · mStride + q · qStride`, for the tile `depthTile` along z (3-deep
    /// kernels); `flipped` reverses the kernel along every axis (the input-gradient pass).
    static func winogradWeights(_ weight: [Float], rowsM: Int, channelsQ: Int, kernelDepth: Int,
                                depthTile: WinogradDepthTile = .two, flipped: Bool, threads: Int, mStride: Int,
                                qStride: Int) -> [Float] {
        let depthAlpha = kernelDepth == 3 ? depthTile.inputs : 1
        let positions = depthAlpha * 16
        let pairStride = rowsM * channelsQ
        var result = Kernels.overwrittenBuffer(count: positions * pairStride)
        let workers = positions * pairStride >= Kernels.parallelThreshold ? threads : 1
        weight.withUnsafeBufferPointer { pw in
            result.withUnsafeMutableBufferPointer { pr in
                guard let w = pw.baseAddress, let out = pr.baseAddress else { return }
                let output = UnsafeSendableBox(out)
                parallelFor(rowsM, threads: workers) { range in
                    nnunet_winograd_weights(w, range.lowerBound, range.upperBound, channelsQ, mStride, qStride,
                                            kernelDepth, depthAlpha, flipped ? 1 : 0, pairStride, output.value)
                }
            }
        }
        return result
    }

    /// The Winograd convolution of `source` (stride 1, output size = input size `size`) with transformed weights
    /// `U[p][co][ci]`, written into arrays of `destinationParts` channels each, plus `bias`.
    static func winogradDataPass(batch: Int, size: [Int], kernelDepth: Int, depthTile: WinogradDepthTile = .two,
                                 destinationParts: [Int], transformedWeights: [Float], bias: [Float]?,
                                 source: ChannelParts, threads: Int) -> [[Float]] {
        let layout = WinogradLayout(size: size, kernelDepth: kernelDepth, depthTile: depthTile)
        let sourceChannels = source.channels, destinationChannels = destinationParts.reduce(0, +)
        precondition(transformedWeights.count == layout.positions * sourceChannels * destinationChannels,
                     "winogradDataPass: \(transformedWeights.count) transformed weights for \(layout.positions) × "
                     + "\(destinationChannels) × \(sourceChannels)")
        let voxels = size.reduce(1, *)
        let rowsPerBlock = layout.rowsPerBlock(channels: sourceChannels + destinationChannels, splitsSamples: true)
        let blocksPerSample = layout.blocksPerSample(rowsPerBlock: rowsPerBlock)
        var outputs = destinationParts.map { Kernels.overwrittenBuffer(count: batch * $0 * voxels) }
        source.withPlanes(batch: batch) { sourcePlanes in
        withMutablePlanes(&outputs, parts: destinationParts, voxels: voxels, batch: batch) { targetPlanes in
            transformedWeights.withUnsafeBufferPointer { pu in
                guard let u = pu.baseAddress else { return }
                let sources = UnsafeSendableBox(sourcePlanes), targets = UnsafeSendableBox(targetPlanes)
                dynamicFor(batch * blocksPerSample, threads: threads, makeScratch: {
                    WinogradScratch(layout: layout, sourceChannels: sourceChannels,
                                    destinationChannels: destinationChannels, rows: rowsPerBlock)
                }, releaseScratch: { $0.release() }) { scratch, item in
                    let block = layout.block(item, rowsPerBlock: rowsPerBlock, sourceChannels: sourceChannels,
                                             destinationChannels: destinationChannels)
                    let n = block.sample, rows = block.rows, columns = block.columns, stride = block.columnStride
                    let vStride = block.sourceStride, mStride = block.destinationStride
                    let v = scratch.transformedInput, m = scratch.products
                    layout.transformInputs(planes: sources.value, sample: n, channels: sourceChannels, rows: rows,
                                           scratch: scratch, columnStride: stride, positionStride: vStride)
                    for p in 0..<layout.positions {
                        GEMM.multiply(m: destinationChannels, n: columns, k: sourceChannels,
                                      a: u + p * destinationChannels * sourceChannels, lda: sourceChannels,
                                      b: v + p * vStride, ldb: stride, beta: 0, c: m + p * mStride, ldc: stride)
                    }
                    for co in 0..<destinationChannels {
                        layout.transformOutput(products: m + co * stride,
                                               positionStride: mStride, bias: bias?[co] ?? 0,
                                               rows: rows, scratch: scratch,
                                               plane: targets.value[n * destinationChannels + co])
                    }
                }
            }
        }
        }
        return outputs
    }

    /// Largest transform-domain weight gradient (positions × Cout × Cin floats, one per tile group) for which the
    /// weight-gradient pass runs in the Winograd domain; wider layers (the deep, small stages) keep the GEMM pass.
    static let winogradGradientAccumulatorBytes = 16 << 20

    /// Whether ``winogradWeightGradient(_:input:outputGradient:threads:)`` computes `g`'s weight gradient.
    static func winogradWeightGradientApplies(_ g: Geometry) -> Bool {
        let positions = (g.kernel[0] == 3 ? 4 : 1) * 16
        return winogradApplies(g)
            && positions * g.outputChannels * g.inputChannels * MemoryLayout<Float>.size
                <= winogradGradientAccumulatorBytes
    }

    /// Weight gradient `gw[co, ci, k]` of a stride-1 convolution in the Winograd domain: per tile,
    /// `dU[p] += (A·dy)[p] · (Bᵀd)[p]ᵀ` (one GEMM per position over the tiles of a block), then `gw = Gᵀ dU`.
    static func winogradWeightGradient(_ g: Geometry, input: ChannelParts, outputGradient: [Float],
                                       threads: Int) -> [Float] {
        let layout = WinogradLayout(size: g.inputSize, kernelDepth: g.kernel[0])
        let cin = g.inputChannels, cout = g.outputChannels, voxels = g.inputVoxels
        let tilesX = layout.tiles[2]
        // The weight gradient sums over all blocks, so samples need not be split for parallelism.
        let rowsPerBlock = layout.rowsPerBlock(channels: cin + cout, splitsSamples: false)
        let blocksPerSample = layout.blocksPerSample(rowsPerBlock: rowsPerBlock)
        let items = g.batch * blocksPerSample
        let pairs = cout * cin, accumulatorCount = layout.positions * pairs
        let total = input.withPlanes(batch: g.batch) { inputPlanes in
            outputGradient.withUnsafeBufferPointer { pg in
                guard let bg = pg.baseAddress else { return [Float]() }
                let planes = UnsafeSendableBox(inputPlanes)
                return sumOverAccumulatorGroups(items: items, threads: threads, accumulatorCount: accumulatorCount,
                                                makeScratch: {
                    WinogradScratch(layout: layout, sourceChannels: cin, destinationChannels: cout, rows: rowsPerBlock)
                }, releaseScratch: { $0.release() }) { scratch, group, accumulator in
                    for item in group {
                        let block = layout.block(item, rowsPerBlock: rowsPerBlock, sourceChannels: cin,
                                                 destinationChannels: cout)
                        let n = block.sample, rows = block.rows, columns = block.columns, stride = block.columnStride
                        let vStride = block.sourceStride, wStride = block.destinationStride
                        let v = scratch.transformedInput, w = scratch.products
                        layout.transformInputs(planes: planes.value, sample: n, channels: cin, rows: rows,
                                               scratch: scratch, columnStride: stride, positionStride: vStride)
                        for co in 0..<cout {
                            nnunet_winograd_gradient_block(
                                bg + (n * cout + co) * voxels, g.inputSize[0], g.inputSize[1], g.inputSize[2],
                                rows.lowerBound, rows.count, layout.tiles[1], layout.depthAlpha, tilesX,
                                scratch.lines, w + co * stride, wStride)
                        }
                        for p in 0..<layout.positions {
                            GEMM.multiply(transposeB: true, m: cout, n: cin, k: columns, a: w + p * wStride,
                                          lda: stride, b: v + p * vStride, ldb: stride, beta: 1,
                                          c: accumulator + p * pairs, ldc: cin)
                        }
                    }
                }
            }
        }
        var gw = Kernels.overwrittenBuffer(count: cout * cin * g.kernelVolume)
        total.withUnsafeBufferPointer { pp in
            gw.withUnsafeMutableBufferPointer { pw in
                guard let transformed = pp.baseAddress, let weight = pw.baseAddress else { return }
                let output = UnsafeSendableBox(weight)
                let workers = accumulatorCount >= Kernels.parallelThreshold ? threads : 1
                parallelFor(cout, threads: workers) { range in
                    nnunet_winograd_weight_gradient(transformed, range.lowerBound, range.upperBound, cin,
                                                    g.kernel[0], pairs, output.value)
                }
            }
        }
        return gw
    }

    /// Preferred number of tiles per block (the GEMM width): the transformed input and products of a block in about
    /// 2 MiB, between 64 and 128 tiles. Measured on the 2-core EPYC (AVX-512), forward CPU time of a 3×3×3 conv with
    /// 32 channels on 48³ and 128 channels on 24³, blocks of 32 to 256 tiles: 128 tiles best for 32 channels, 64 for
    /// 128 channels (1.6× faster than 256).
    static func winogradPreferredTiles(bytesPerTile: Int) -> Int {
        min(128, max(64, (2 << 20) / max(1, bytesPerTile)))
    }
}

/// Outputs per tile along z of a Winograd pass with a 3-deep kernel: F(2, 3), or F(4, 3) (6 inputs, 4 outputs; 25 %
/// fewer products than two F(2, 3) tiles, in exchange for larger transforms and rounding errors).
enum WinogradDepthTile: Sendable {
    case two, four

    /// Inputs per tile along z (the transform's alpha).
    var inputs: Int { self == .two ? 4 : 6 }
    /// Outputs per tile along z.
    var outputs: Int { self == .two ? 2 : 4 }
}

/// Tile grid of one Winograd pass: `tiles` (z, y, x), `positions` transform positions per tile.
struct WinogradLayout {
    let size: [Int]
    let depthAlpha: Int, depthOutputs: Int
    let tiles: [Int]
    var positions: Int { depthAlpha * 16 }

    init(size: [Int], kernelDepth: Int, depthTile: WinogradDepthTile = .two) {
        self.size = size
        depthAlpha = kernelDepth == 3 ? depthTile.inputs : 1
        depthOutputs = kernelDepth == 3 ? depthTile.outputs : 1
        tiles = [(size[0] + depthOutputs - 1) / depthOutputs, (size[1] + 1) / 2, (size[2] + 1) / 2]
    }

    /// Tile rows per block: about ``Convolution/winogradPreferredTiles(bytesPerTile:)`` tiles (a row has
    /// tilesX + 1 columns) within ``Convolution/tileBudgetBytes`` for the transformed input and products of `channels`
    /// channels; with `splitsSamples`, also at least ``Convolution/minimumTilesPerSample`` blocks per sample, so that a
    /// batch of one keeps every thread busy.
    func rowsPerBlock(channels: Int, splitsSamples: Bool) -> Int {
        let rowsTotal = tiles[0] * tiles[1], pitch = tiles[2] + 1
        let bytesPerTile = positions * channels * MemoryLayout<Float>.size
        let byBudget = max(1, Convolution.tileBudgetBytes / max(1, bytesPerTile * pitch))
        let byPreference = max(1, Convolution.winogradPreferredTiles(bytesPerTile: bytesPerTile) / pitch)
        let byParallelism = splitsSamples ? max(1, rowsTotal / Convolution.minimumTilesPerSample) : rowsTotal
        return max(1, min(byBudget, byPreference, byParallelism, rowsTotal))
    }

    /// Blocks of `rowsPerBlock` tile rows per sample.
    func blocksPerSample(rowsPerBlock: Int) -> Int { (tiles[0] * tiles[1] + rowsPerBlock - 1) / rowsPerBlock }

    /// Block `item` of a pass over blocks of `rowsPerBlock` tile rows, sample after sample (the last block of a sample
    /// may be shorter), with the strides of its transformed input (`sourceChannels`) and products.
    func block(_ item: Int, rowsPerBlock: Int, sourceChannels: Int, destinationChannels: Int) -> WinogradBlock {
        let rowsTotal = tiles[0] * tiles[1], blocksPerSample = blocksPerSample(rowsPerBlock: rowsPerBlock)
        let index = item % blocksPerSample
        let rows = (index * rowsPerBlock)..<min(rowsTotal, (index + 1) * rowsPerBlock)
        // Tile (r, t) of the block is column r · pitch + t; the last column of each row is padding.
        let columns = rows.count * (tiles[2] + 1), stride = Self.columnStride(columns)
        return WinogradBlock(sample: item / blocksPerSample, rows: rows, columns: columns, columnStride: stride,
                             sourceStride: Self.positionStride(channels: sourceChannels, columnStride: stride),
                             destinationStride: Self.positionStride(channels: destinationChannels,
                                                                    columnStride: stride))
    }

    /// Distance between the channels of a block's transformed input and products for `columns` columns: the next
    /// multiple of 16, since the C transforms read and write whole vectors of 16 columns.
    static func columnStride(_ columns: Int) -> Int { (columns + 15) / 16 * 16 }

    /// Distance between the transform positions of a block's `channels` channels: 16 floats (one cache line) more
    /// than the channels take, so that the positions, which the transforms visit together, do not all fall into the
    /// same cache set (a multiple of 4 KiB apart, they did, and the transforms ran at half speed).
    static func positionStride(channels: Int, columnStride: Int) -> Int { channels * columnStride + 16 }

    /// `V[p][column]` of one channel for the tile rows `rows` (row = tz · tilesY + ty): the value of tile (r, t) at
    /// `destination + p · positionStride + r · (tilesX + 1) + t` for every position p = (pz · 4 + py) · 4 + px; it
    /// may write each position's columns up to ``columnStride(_:)``.
    func transformInput(plane: UnsafePointer<Float>, next: UnsafePointer<Float>?, rows: Range<Int>,
                        scratch: WinogradScratch, destination: UnsafeMutablePointer<Float>, positionStride: Int) {
        nnunet_winograd_input_block(plane, next, size[0], size[1], size[2], rows.lowerBound, rows.count, tiles[1],
                                    depthAlpha, tiles[2], scratch.lines, destination, positionStride)
    }

    /// ``transformInput(plane:next:rows:scratch:destination:positionStride:)`` of the `channels` planes of sample `n`
    /// (entries `n · channels + c` of `planes`) into `scratch.transformedInput`, channel c at `c · columnStride`; each
    /// call prefetches the next channel's rows.
    func transformInputs(planes: UnsafePointer<UnsafePointer<Float>>, sample n: Int, channels: Int, rows: Range<Int>,
                         scratch: WinogradScratch, columnStride: Int, positionStride: Int) {
        for c in 0..<channels {
            transformInput(plane: planes[n * channels + c], next: c + 1 < channels ? planes[n * channels + c + 1] : nil,
                           rows: rows, scratch: scratch, destination: scratch.transformedInput + c * columnStride,
                           positionStride: positionStride)
        }
    }

    /// Writes the outputs of the tile rows `rows` of one output channel from its products (laid out as
    /// ``transformInput(plane:next:rows:scratch:destination:positionStride:)`` writes; each position's columns are
    /// read up to ``columnStride(_:)``), plus `bias`, into `plane`.
    func transformOutput(products: UnsafePointer<Float>, positionStride: Int, bias: Float, rows: Range<Int>,
                         scratch: WinogradScratch, plane: UnsafeMutablePointer<Float>) {
        nnunet_winograd_output_block(products, positionStride, bias, size[0], size[1], size[2], rows.lowerBound,
                                     rows.count, tiles[1], depthAlpha, tiles[2], scratch.lines, plane)
    }
}

/// One block of tile rows of a Winograd pass
/// (``WinogradLayout/block(_:rowsPerBlock:sourceChannels:destinationChannels:)``).
struct WinogradBlock {
    /// The sample the block belongs to, and its tile rows (row = tz · tilesY + ty).
    let sample: Int, rows: Range<Int>
    /// Its tiles, one padding column per row included, and the distance between channels.
    let columns: Int, columnStride: Int
    /// Distance between transform positions in the transformed input and in the products.
    let sourceStride: Int, destinationStride: Int
}

/// One worker's buffers of a Winograd pass, kept for all its blocks.
struct WinogradScratch {
    let transformedInput: UnsafeMutablePointer<Float>
    let products: UnsafeMutablePointer<Float>
    /// The row transforms' lines.
    let lines: UnsafeMutablePointer<Float>

    init(layout: WinogradLayout, sourceChannels: Int, destinationChannels: Int, rows: Int) {
        let columns = WinogradLayout.columnStride(rows * (layout.tiles[2] + 1))
        transformedInput = .allocate(capacity: layout.positions
                                     * WinogradLayout.positionStride(channels: sourceChannels, columnStride: columns))
        products = .allocate(capacity: layout.positions
                             * WinogradLayout.positionStride(channels: destinationChannels, columnStride: columns))
        lines = .allocate(capacity: nnunet_winograd_scratch_count(rows, layout.tiles[2]))
    }

    func release() {
        transformedInput.deallocate()
        products.deallocate()
        lines.deallocate()
    }
}
