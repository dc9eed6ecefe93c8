import CNNUNetKernels

/// Winograd F(2, 3) per axis for the stride-1 convolutions nnU-Net's planners emit: kernel 3×3×3 (padding 1) and
/// 1×3×3 (padding 0, 1, 1; also every 2D 3×3, which is depth 1 here), forward and input gradient.
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
/// The transforms have coefficients 0, ±1 and ±1/2 only, so the result differs from the direct convolution by
/// rounding alone (checked against the float64 reference and the direct path on every planner geometry). The input
/// gradient of a stride-1 convolution with padding (k - 1) / 2 is the forward convolution of the output gradient with
/// the kernel flipped and its channel axes swapped, so both passes share ``winogradDataPass``.
extension Convolution {
    /// The smallest number of tiles per sample for which the Winograd pass is used; smaller volumes (the deepest
    /// U-Net stages) keep the folded GEMM pass, whose weight is not expanded.
    static let winogradMinimumTiles = 8

    /// Whether ``winogradDataPass`` computes `g`'s forward and input gradient: stride 1, kernel 3 with padding 1
    /// along y and x, and along z kernel 3 with padding 1 or kernel 1 with padding 0, with enough tiles.
    static func winogradApplies(_ g: Geometry) -> Bool {
        guard g.stride == [1, 1, 1], g.kernel[1] == 3, g.kernel[2] == 3, g.padding[1] == 1, g.padding[2] == 1
        else { return false }
        guard (g.kernel[0] == 3 && g.padding[0] == 1) || (g.kernel[0] == 1 && g.padding[0] == 0) else { return false }
        let depthOutputs = g.kernel[0] == 3 ? 2 : 1
        let size = g.inputSize
        let tiles = ((size[0] + depthOutputs - 1) / depthOutputs) * ((size[1] + 1) / 2) * ((size[2] + 1) / 2)
        return tiles >= winogradMinimumTiles
    }

    /// Transformed weights `U[p][m][q]` (positions × rowsM × channelsQ) of the kernels `w` whose (m, q) block of
    /// `kernelDepth·3·3` values starts at `blockStart(m, q)`; `flipped` reverses the kernel along every axis (the
    /// input-gradient pass).
    static func winogradWeights(_ weight: [Float], rowsM: Int, channelsQ: Int, kernelDepth: Int, flipped: Bool,
                                threads: Int, blockStart: (Int, Int) -> Int) -> [Float] {
        let positions = (kernelDepth == 3 ? 4 : 1) * 16
        let pairStride = rowsM * channelsQ
        var result = Kernels.overwrittenBuffer(count: positions * pairStride)
        let work = rowsM * channelsQ * kernelDepth * 9
        let workers = work >= Kernels.parallelThreshold ? threads : 1
        weight.withUnsafeBufferPointer { pw in
            result.withUnsafeMutableBufferPointer { pr in
                guard let w = pw.baseAddress, let out = pr.baseAddress else { return }
                let output = UnsafeSendableBox(out)
                parallelFor(rowsM, threads: workers) { range in
                    var g = [Float](repeating: 0, count: 27)
                    var gx = [Float](repeating: 0, count: 36), gy = [Float](repeating: 0, count: 48)
                    var gz = [Float](repeating: 0, count: 64)
                    for m in range {
                        for q in 0..<channelsQ {
                            let start = blockStart(m, q)
                            let count = kernelDepth * 9
                            for i in 0..<count { g[i] = w[start + (flipped ? count - 1 - i : i)] }
                            // x: (kz, ky, kx) -> (kz, ky, px)
                            for row in 0..<(kernelDepth * 3) {
                                let (a, b, c) = (g[row * 3], g[row * 3 + 1], g[row * 3 + 2])
                                gx[row * 4] = a
                                gx[row * 4 + 1] = (a + b + c) * 0.5
                                gx[row * 4 + 2] = (a - b + c) * 0.5
                                gx[row * 4 + 3] = c
                            }
                            // y: (kz, ky, px) -> (kz, py, px)
                            for kz in 0..<kernelDepth {
                                for px in 0..<4 {
                                    let a = gx[(kz * 3) * 4 + px], b = gx[(kz * 3 + 1) * 4 + px]
                                    let c = gx[(kz * 3 + 2) * 4 + px]
                                    gy[(kz * 4) * 4 + px] = a
                                    gy[(kz * 4 + 1) * 4 + px] = (a + b + c) * 0.5
                                    gy[(kz * 4 + 2) * 4 + px] = (a - b + c) * 0.5
                                    gy[(kz * 4 + 3) * 4 + px] = c
                                }
                            }
                            if kernelDepth == 3 {
                                // z: (kz, py, px) -> (pz, py, px)
                                for i in 0..<16 {
                                    let a = gy[i], b = gy[16 + i], c = gy[32 + i]
                                    gz[i] = a
                                    gz[16 + i] = (a + b + c) * 0.5
                                    gz[32 + i] = (a - b + c) * 0.5
                                    gz[48 + i] = c
                                }
                                for p in 0..<64 { output.value[p * pairStride + m * channelsQ + q] = gz[p] }
                            } else {
                                for p in 0..<16 { output.value[p * pairStride + m * channelsQ + q] = gy[p] }
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// The Winograd convolution of `source` (stride 1, output size = input size `size`) with transformed weights
    /// `U[p][co][ci]`, written into arrays of `destinationParts` channels each, plus `bias`.
    static func winogradDataPass(batch: Int, size: [Int], kernelDepth: Int, destinationParts: [Int],
                                 transformedWeights: [Float], bias: [Float]?, source: ChannelParts,
                                 threads: Int) -> [[Float]] {
        let layout = WinogradLayout(size: size, kernelDepth: kernelDepth)
        let sourceChannels = source.channels, destinationChannels = destinationParts.reduce(0, +)
        precondition(transformedWeights.count == layout.positions * sourceChannels * destinationChannels,
                     "winogradDataPass: \(transformedWeights.count) transformed weights for \(layout.positions) × "
                     + "\(destinationChannels) × \(sourceChannels)")
        let voxels = size.reduce(1, *)
        let rowsTotal = layout.tiles[0] * layout.tiles[1], tilesX = layout.tiles[2]
        let bytesPerTile = layout.positions * (sourceChannels + destinationChannels) * MemoryLayout<Float>.size
        let byBudget = max(1, tileBudgetBytes / max(1, bytesPerTile * tilesX))
        let byPreference = max(1, winogradPreferredTiles / tilesX)
        let byParallelism = max(1, rowsTotal / minimumTilesPerSample)
        let rowsPerBlock = max(1, min(byBudget, byPreference, byParallelism, rowsTotal))
        let blocksPerSample = (rowsTotal + rowsPerBlock - 1) / rowsPerBlock
        let maximumTiles = rowsPerBlock * tilesX
        var outputs = destinationParts.map { Kernels.overwrittenBuffer(count: batch * $0 * voxels) }
        source.withPlanes(batch: batch) { sourcePlanes in
        withMutablePlanes(&outputs, parts: destinationParts, voxels: voxels, batch: batch) { targetPlanes in
            transformedWeights.withUnsafeBufferPointer { pu in
                guard let u = pu.baseAddress else { return }
                let sources = UnsafeSendableBox(sourcePlanes), targets = UnsafeSendableBox(targetPlanes)
                dynamicFor(batch * blocksPerSample, threads: threads, makeScratch: {
                    WinogradScratch(layout: layout, sourceChannels: sourceChannels,
                                    destinationChannels: destinationChannels, maximumTiles: maximumTiles)
                }, releaseScratch: { $0.release() }) { scratch, item in
                    let n = item / blocksPerSample, block = item % blocksPerSample
                    let rows = (block * rowsPerBlock)..<min(rowsTotal, (block + 1) * rowsPerBlock)
                    let tileCount = rows.count * tilesX
                    let v = scratch.transformedInput, m = scratch.products
                    for c in 0..<sourceChannels {
                        let plane = sources.value[n * sourceChannels + c]
                        for (r, row) in rows.enumerated() {
                            layout.transformInput(plane: plane, row: row, scratch: scratch,
                                                  destination: v + c * tileCount + r * tilesX,
                                                  positionStride: sourceChannels * tileCount)
                        }
                    }
                    for p in 0..<layout.positions {
                        GEMM.multiply(m: destinationChannels, n: tileCount, k: sourceChannels,
                                      a: u + p * destinationChannels * sourceChannels, lda: sourceChannels,
                                      b: v + p * sourceChannels * tileCount, ldb: tileCount, beta: 0,
                                      c: m + p * destinationChannels * tileCount, ldc: tileCount)
                    }
                    for co in 0..<destinationChannels {
                        let plane = targets.value[n * destinationChannels + co]
                        let shift = bias?[co] ?? 0
                        for (r, row) in rows.enumerated() {
                            layout.transformOutput(products: m + co * tileCount + r * tilesX,
                                                   positionStride: destinationChannels * tileCount, bias: shift,
                                                   row: row, scratch: scratch, plane: plane)
                        }
                    }
                }
            }
        }
        }
        return outputs
    }

    /// Preferred number of tiles per block (GEMM width).
    static let winogradPreferredTiles = 256
}

/// Tile grid of one Winograd pass: `tiles` (z, y, x), `positions` transform positions per tile.
struct WinogradLayout {
    let size: [Int]
    let depthAlpha: Int, depthOutputs: Int
    let tiles: [Int]
    var positions: Int { depthAlpha * 16 }

    init(size: [Int], kernelDepth: Int) {
        self.size = size
        depthAlpha = kernelDepth == 3 ? 4 : 1
        depthOutputs = kernelDepth == 3 ? 2 : 1
        tiles = [(size[0] + depthOutputs - 1) / depthOutputs, (size[1] + 1) / 2, (size[2] + 1) / 2]
    }

    /// `V[p][t]` for the tiles of one tile row (`row` = tz · tilesY + ty) of one channel: writes `tilesX` values at
    /// `destination + p · positionStride` for every position p = (pz · 4 + py) · 4 + px.
    func transformInput(plane: UnsafePointer<Float>, row: Int, scratch: WinogradScratch,
                        destination: UnsafeMutablePointer<Float>, positionStride: Int) {
        nnunet_winograd_input_row(plane, size[0], size[1], size[2], row / tiles[1], row % tiles[1], depthAlpha,
                                  tiles[2], scratch.lines, destination, positionStride)
    }

    /// Writes the outputs of one tile row (`row`) of one output channel from its products `M[p][t]`
    /// (`products + p · positionStride`), plus `bias`, into `plane`.
    func transformOutput(products: UnsafePointer<Float>, positionStride: Int, bias: Float, row: Int,
                         scratch: WinogradScratch, plane: UnsafeMutablePointer<Float>) {
        nnunet_winograd_output_row(products, positionStride, bias, size[0], size[1], size[2], row / tiles[1],
                                   row % tiles[1], depthAlpha, tiles[2], scratch.lines, plane)
    }
}

/// One worker's buffers of a Winograd pass, kept for all its blocks.
struct WinogradScratch {
    let transformedInput: UnsafeMutablePointer<Float>
    let products: UnsafeMutablePointer<Float>
    /// The row transforms' lines.
    let lines: UnsafeMutablePointer<Float>

    init(layout: WinogradLayout, sourceChannels: Int, destinationChannels: Int, maximumTiles: Int) {
        transformedInput = .allocate(capacity: layout.positions * sourceChannels * maximumTiles)
        products = .allocate(capacity: layout.positions * destinationChannels * maximumTiles)
        lines = .allocate(capacity: nnunet_winograd_scratch_count(layout.tiles[2]))
    }

    func release() {
        transformedInput.deallocate()
        products.deallocate()
        lines.deallocate()
    }
}
