import CNNUNetKernels

/// Convolution kernels: forward, input gradient and weight gradient, for 2D (as depth 1) and 3D, via bounded
/// im2col tiles and OpenBLAS sgemm.
///
/// Layout: input `x[n, ci, z, y, x]` (NCDHW), weight `w[co, ci, kz, ky, kx]`, output `out[n, co, oz, oy, ox]`.
/// Cross-correlation as in PyTorch: `out[n,co,o] = b[co] + Σ_{ci,k} w[co,ci,k] · x[n, ci, o·s - p + k]` per axis,
/// zero outside the input.
///
/// All three passes are GEMMs over a gathered column matrix `col[(c, kz, ky, kx), t]` for a tile of destination
/// voxels t (whole x rows):
/// - forward: col gathers the input at `o·s - p + k`; `out[n, :, tile] = W (Cout × Cin·kvol) · col`;
/// - input gradient: col gathers the output gradient at `o = (i + p - k) / s` where that is an integer inside the
///   output; `gx[n, :, tile] = Wᵀ' (Cin × Cout·kvol) · col`, where `Wᵀ'[ci, (co, k)] = w[co, ci, k]`. No scatter
///   (col2im) is needed, so tiles are independent and threads never write the same voxel;
/// - weight gradient: `gw += gout[n, :, tile] · colᵀ` with the forward col, accumulated per thread, then summed.
/// Workspace: each thread holds one col tile of at most ``Convolution/tileBudgetBytes`` (plus one weight-sized
/// accumulator in the weight pass), independent of the volume size.
///
/// Stride-1 3×3×3, 1×3×3 and 2D 3×3 convolutions with enough tiles take the Winograd passes instead
/// (`Convolution+Winograd.swift`), and the input gradient of kernel = stride convolutions (transposed convolution)
/// is one GEMM and a shuffle (`Convolution+KernelEqualsStride.swift`); these GEMM passes stay the reference.
enum Convolution {
    /// Upper bound of one thread's column tile, in bytes (at least one row is always used).
    static let tileBudgetBytes = 8 << 20
    /// Preferred number of destination voxels per tile (GEMM width). Measured on the 2-core EPYC for 32 channels
    /// (CPU-time rates, 256 to 4096 tried): 512 to 1024 best; smaller tiles keep the column lines in L2.
    static let preferredTileVoxels = 512

    /// Sizes of one convolution; spatial triples are (z, y, x), with z = 1, kernel 1, stride 1, padding 0 in 2D.
    struct Geometry: Equatable {
        var batch: Int
        var inputChannels: Int
        var outputChannels: Int
        var inputSize: [Int]
        var kernel: [Int]
        var stride: [Int]
        var padding: [Int]

        var outputSize: [Int] { (0..<3).map { (inputSize[$0] + 2 * padding[$0] - kernel[$0]) / stride[$0] + 1 } }
        var kernelVolume: Int { kernel.reduce(1, *) }
        var inputVoxels: Int { inputSize.reduce(1, *) }
        var outputVoxels: Int { outputSize.reduce(1, *) }
    }

    /// One axis of the gather: for kernel offset k and destination coordinate d, the source coordinate or -1.
    struct AxisMap {
        let table: [Int32]
        let destinationCount: Int

        /// Forward gather: source = d·s - p + k.
        static func forward(kernel: Int, stride: Int, padding: Int, source: Int, destination: Int) -> AxisMap {
            var table = [Int32](repeating: -1, count: kernel * destination)
            for k in 0..<kernel {
                for d in 0..<destination {
                    let s = d * stride - padding + k
                    if s >= 0 && s < source { table[k * destination + d] = Int32(s) }
                }
            }
            return AxisMap(table: table, destinationCount: destination)
        }

        /// Input-gradient gather: destination i (input coordinate) reads output o = (i + p - k) / s if exact.
        static func transposed(kernel: Int, stride: Int, padding: Int, source: Int, destination: Int) -> AxisMap {
            var table = [Int32](repeating: -1, count: kernel * destination)
            for k in 0..<kernel {
                for d in 0..<destination {
                    let numerator = d + padding - k
                    if numerator >= 0 && numerator % stride == 0 && numerator / stride < source {
                        table[k * destination + d] = Int32(numerator / stride)
                    }
                }
            }
            return AxisMap(table: table, destinationCount: destination)
        }

        /// The x-axis map as one arithmetic run per kernel offset (valid sources are always a progression).
        func runs(kernel: Int) -> [Run] {
            (0..<kernel).map { k in
                var pairs: [(Int, Int)] = []
                for d in 0..<destinationCount where table[k * destinationCount + d] >= 0 {
                    pairs.append((d, Int(table[k * destinationCount + d])))
                }
                guard let first = pairs.first else { return Run(start: 0, count: 0, source: 0, dStep: 1, sStep: 1) }
                let dStep = pairs.count > 1 ? pairs[1].0 - first.0 : 1
                let sStep = pairs.count > 1 ? pairs[1].1 - first.1 : 1
                return Run(start: first.0, count: pairs.count, source: first.1, dStep: dStep, sStep: sStep)
            }
        }
    }

    /// `dst[start + j·dStep] = src[source + j·sStep]` for j < count; every other destination is 0.
    struct Run {
        let start, count, source, dStep, sStep: Int
    }

    /// Fills `col` (rows (c, kz, ky, kx), `tileVoxels` columns) for destination rows `rows` of (z, y) pairs.
    static func gather(_ src: UnsafePointer<Float>, channels: Int, sourceSize: [Int], destinationSize: [Int],
                       kernel: [Int], mapZ: AxisMap, mapY: AxisMap, runsX: [Run], rows: Range<Int>,
                       col: UnsafeMutablePointer<Float>) {
        let sourcePlane = sourceSize.reduce(1, *)
        let tileVoxels = rows.count * destinationSize[2]
        let (kd, kh, kw) = (kernel[0], kernel[1], kernel[2])
        let runs = runsX.flatMap { [$0.start, $0.count, $0.source, $0.dStep, $0.sStep] }
        mapZ.table.withUnsafeBufferPointer { tz in
            mapY.table.withUnsafeBufferPointer { ty in
                runs.withUnsafeBufferPointer { pr in
                    guard let tz = tz.baseAddress, let ty = ty.baseAddress, let pr = pr.baseAddress else { return }
                    for c in 0..<channels {
                        nnunet_gather_channel(src + c * sourcePlane, sourceSize[1], sourceSize[2], tz, ty,
                                              destinationSize[0], destinationSize[1], destinationSize[2], kd, kh, kw,
                                              pr, rows.lowerBound, rows.count, col + c * kd * kh * kw * tileVoxels,
                                              tileVoxels)
                    }
                }
            }
        }
    }

    /// Fewest tiles per sample when the sample has enough rows: the deep stages of a U-Net have a few hundred voxels,
    /// which one preferred-size tile would cover, leaving the other threads idle in batch-1 inference. A constant
    /// (not the thread count), so results do not depend on the number of threads.
    static let minimumTilesPerSample = 4

    /// Rows (of whole x lines) per tile for `columnRows` col rows and destination line length `lineLength`.
    static func rowsPerTile(columnRows: Int, lineLength: Int, totalRows: Int) -> Int {
        let byPreference = max(1, preferredTileVoxels / max(lineLength, 1))
        let byBudget = max(1, tileBudgetBytes / max(columnRows * lineLength * MemoryLayout<Float>.size, 1))
        let byParallelism = max(1, totalRows / minimumTilesPerSample)
        return max(1, min(byPreference, byBudget, byParallelism, totalRows))
    }

    /// Shared driver: for every (n, tile) item, gather the tile's columns from `source[n]` and multiply.
    /// `body(colPointer, n, rows, thread-local scratch)` runs the GEMM.
    private static func forEachTile(batch: Int, columnRows: Int, destinationSize: [Int], threads: Int,
                                    body: (UnsafeMutablePointer<Float>, Int, Range<Int>) -> Void) {
        let totalRows = destinationSize[0] * destinationSize[1]
        let rowsPerTile = rowsPerTile(columnRows: columnRows, lineLength: destinationSize[2], totalRows: totalRows)
        let tilesPerSample = (totalRows + rowsPerTile - 1) / rowsPerTile
        let items = batch * tilesPerSample
        // One column buffer per worker, kept for all its tiles.
        dynamicFor(items, threads: threads, makeScratch: {
            UnsafeMutablePointer<Float>.allocate(capacity: columnRows * rowsPerTile * destinationSize[2])
        }, releaseScratch: { $0.deallocate() }) { col, item in
            let n = item / tilesPerSample, tile = item % tilesPerSample
            let rows = (tile * rowsPerTile)..<min(totalRows, (tile + 1) * rowsPerTile)
            body(col, n, rows)
        }
    }

    /// Forward: `out = conv(x, w) + b`. Shapes: x `[N·Cin·inputVoxels]`, w `[Cout·Cin·kvol]`, b `[Cout]`.
    static func forward(_ g: Geometry, input: [Float], weight: [Float], bias: [Float]?, threads: Int) -> [Float] {
        if g.stride[2] == 1 && g.kernel[2] > 1 {
            return forwardFolded(g, input: ChannelParts([input], channels: [g.inputChannels], voxels: g.inputVoxels),
                                 weight: weight, bias: bias, threads: threads)
        }
        let outSize = g.outputSize, outVoxels = g.outputVoxels
        let columnRows = g.inputChannels * g.kernelVolume
        var out = Kernels.overwrittenBuffer(count: g.batch * g.outputChannels * outVoxels)
        let mapZ = AxisMap.forward(kernel: g.kernel[0], stride: g.stride[0], padding: g.padding[0],
                                   source: g.inputSize[0], destination: outSize[0])
        let mapY = AxisMap.forward(kernel: g.kernel[1], stride: g.stride[1], padding: g.padding[1],
                                   source: g.inputSize[1], destination: outSize[1])
        let runsX = AxisMap.forward(kernel: g.kernel[2], stride: g.stride[2], padding: g.padding[2],
                                    source: g.inputSize[2], destination: outSize[2]).runs(kernel: g.kernel[2])
        input.withUnsafeBufferPointer { px in
            weight.withUnsafeBufferPointer { pw in
                out.withUnsafeMutableBufferPointer { po in
                    guard let bx = px.baseAddress, let bw = pw.baseAddress, let bo = po.baseAddress else { return }
                    let output = UnsafeSendableBox(bo)
                    forEachTile(batch: g.batch, columnRows: columnRows, destinationSize: outSize,
                                threads: threads) { col, n, rows in
                        gather(bx + n * g.inputChannels * g.inputVoxels, channels: g.inputChannels,
                               sourceSize: g.inputSize, destinationSize: outSize, kernel: g.kernel, mapZ: mapZ,
                               mapY: mapY, runsX: runsX, rows: rows, col: col)
                        let tileVoxels = rows.count * outSize[2]
                        let c = output.value + n * g.outputChannels * outVoxels + rows.lowerBound * outSize[2]
                        GEMM.multiply(m: g.outputChannels, n: tileVoxels, k: columnRows, a: bw, lda: columnRows,
                                      b: col, ldb: tileVoxels, beta: 0, c: c, ldc: outVoxels)
                        if let bias {
                            for co in 0..<g.outputChannels {
                                let row = c + co * outVoxels, value = bias[co]
                                for t in 0..<tileVoxels { row[t] += value }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Input gradient: `gx[n, ci, i] = Σ_{co,k} w[co,ci,k] · gout[n, co, (i + p - k) / s]` (exact divisions only).
    static func backwardInput(_ g: Geometry, outputGradient: [Float], weight: [Float], threads: Int) -> [Float] {
        if isKernelEqualsStride(g) {
            return backwardInputKernelEqualsStride(g, outputGradient: outputGradient, weight: weight, threads: threads)
        }
        if g.stride[2] == 1 && g.kernel[2] > 1 {
            return backwardInputFolded(g, outputGradient: outputGradient, weight: weight, parts: [g.inputChannels],
                                       threads: threads)[0]
        }
        let outSize = g.outputSize, outVoxels = g.outputVoxels, kvol = g.kernelVolume
        let columnRows = g.outputChannels * kvol
        // Wᵀ'[ci, (co, k)] = w[co, ci, k]
        var wt = Kernels.overwrittenBuffer(count: weight.count)  // every value written below
        weight.withUnsafeBufferPointer { pw in
            wt.withUnsafeMutableBufferPointer { pt in
                guard let w = pw.baseAddress, let t = pt.baseAddress else { return }
                for ci in 0..<g.inputChannels {
                    for co in 0..<g.outputChannels {
                        (t + (ci * g.outputChannels + co) * kvol)
                            .update(from: w + (co * g.inputChannels + ci) * kvol, count: kvol)
                    }
                }
            }
        }
        var gx = Kernels.overwrittenBuffer(count: g.batch * g.inputChannels * g.inputVoxels)
        let mapZ = AxisMap.transposed(kernel: g.kernel[0], stride: g.stride[0], padding: g.padding[0],
                                      source: outSize[0], destination: g.inputSize[0])
        let mapY = AxisMap.transposed(kernel: g.kernel[1], stride: g.stride[1], padding: g.padding[1],
                                      source: outSize[1], destination: g.inputSize[1])
        let runsX = AxisMap.transposed(kernel: g.kernel[2], stride: g.stride[2], padding: g.padding[2],
                                       source: outSize[2], destination: g.inputSize[2]).runs(kernel: g.kernel[2])
        outputGradient.withUnsafeBufferPointer { pg in
            wt.withUnsafeBufferPointer { pw in
                gx.withUnsafeMutableBufferPointer { px in
                    guard let bg = pg.baseAddress, let bw = pw.baseAddress, let bx = px.baseAddress else { return }
                    let output = UnsafeSendableBox(bx)
                    forEachTile(batch: g.batch, columnRows: columnRows, destinationSize: g.inputSize,
                                threads: threads) { col, n, rows in
                        gather(bg + n * g.outputChannels * outVoxels, channels: g.outputChannels,
                               sourceSize: outSize, destinationSize: g.inputSize, kernel: g.kernel, mapZ: mapZ,
                               mapY: mapY, runsX: runsX, rows: rows, col: col)
                        let tileVoxels = rows.count * g.inputSize[2]
                        let c = output.value + n * g.inputChannels * g.inputVoxels + rows.lowerBound * g.inputSize[2]
                        GEMM.multiply(m: g.inputChannels, n: tileVoxels, k: columnRows, a: bw, lda: columnRows,
                                      b: col, ldb: tileVoxels, beta: 0, c: c, ldc: g.inputVoxels)
                    }
                }
            }
        }
        return gx
    }

    /// Weight (and bias) gradient: `gw[co, ci, k] = Σ_{n,o} gout[n,co,o] · x[n, ci, o·s - p + k]`, `gb = Σ gout`.
    static func backwardWeight(_ g: Geometry, input: [Float], outputGradient: [Float], threads: Int)
        -> (weight: [Float], bias: [Float]) {
        if g.stride[2] == 1 && g.kernel[2] > 1 {
            let parts = ChannelParts([input], channels: [g.inputChannels], voxels: g.inputVoxels)
            return (backwardWeightFolded(g, input: parts, outputGradient: outputGradient, threads: threads),
                    biasGradient(g, outputGradient: outputGradient))
        }
        let outSize = g.outputSize, outVoxels = g.outputVoxels
        let columnRows = g.inputChannels * g.kernelVolume
        let weightCount = g.outputChannels * columnRows
        let mapZ = AxisMap.forward(kernel: g.kernel[0], stride: g.stride[0], padding: g.padding[0],
                                   source: g.inputSize[0], destination: outSize[0])
        let mapY = AxisMap.forward(kernel: g.kernel[1], stride: g.stride[1], padding: g.padding[1],
                                   source: g.inputSize[1], destination: outSize[1])
        let runsX = AxisMap.forward(kernel: g.kernel[2], stride: g.stride[2], padding: g.padding[2],
                                    source: g.inputSize[2], destination: outSize[2]).runs(kernel: g.kernel[2])
        let totalRows = outSize[0] * outSize[1]
        let rowsPerTile = rowsPerTile(columnRows: columnRows, lineLength: outSize[2], totalRows: totalRows)
        let tilesPerSample = (totalRows + rowsPerTile - 1) / rowsPerTile
        let items = g.batch * tilesPerSample
        let gw = input.withUnsafeBufferPointer { px in
            outputGradient.withUnsafeBufferPointer { pg in
                guard let bx = px.baseAddress, let bg = pg.baseAddress else { return [Float]() }
                return sumOverAccumulatorGroups(items: items, threads: threads, accumulatorCount: weightCount,
                                                makeScratch: {
                    UnsafeMutablePointer<Float>.allocate(capacity: columnRows * rowsPerTile * outSize[2])
                }, releaseScratch: { $0.deallocate() }) { col, group, acc in
                    for item in group {
                        let n = item / tilesPerSample, tile = item % tilesPerSample
                        let rows = (tile * rowsPerTile)..<min(totalRows, (tile + 1) * rowsPerTile)
                        gather(bx + n * g.inputChannels * g.inputVoxels, channels: g.inputChannels,
                               sourceSize: g.inputSize, destinationSize: outSize, kernel: g.kernel,
                               mapZ: mapZ, mapY: mapY, runsX: runsX, rows: rows, col: col)
                        let tileVoxels = rows.count * outSize[2]
                        let a = bg + n * g.outputChannels * outVoxels + rows.lowerBound * outSize[2]
                        GEMM.multiply(transposeB: true, m: g.outputChannels, n: columnRows, k: tileVoxels,
                                      a: a, lda: outVoxels, b: col, ldb: tileVoxels, beta: 1, c: acc,
                                      ldc: columnRows)
                    }
                }
            }
        }
        return (gw, biasGradient(g, outputGradient: outputGradient))
    }

    /// `gb[co] = Σ_{n, o} gout[n, co, o]` (Float64 accumulation).
    static func biasGradient(_ g: Geometry, outputGradient: [Float]) -> [Float] {
        let outVoxels = g.outputVoxels, channels = g.outputChannels, batch = g.batch
        var sums = [Double](repeating: 0, count: channels)
        outputGradient.withUnsafeBufferPointer { pg in
            sums.withUnsafeMutableBufferPointer { ps in
                guard let bg = pg.baseAddress, let bs = ps.baseAddress else { return }
                let output = UnsafeSendableBox(bs)
                let threads = outputGradient.count >= Kernels.parallelThreshold ? ThreadSettings.defaultThreads : 1
                parallelFor(channels, threads: threads) { range in
                    for co in range {
                        var s0 = 0.0, s1 = 0.0
                        for n in 0..<batch {
                            let row = bg + (n * channels + co) * outVoxels
                            var v = 0
                            while v + 1 < outVoxels { s0 += Double(row[v]); s1 += Double(row[v + 1]); v += 2 }
                            if v < outVoxels { s0 += Double(row[v]) }
                        }
                        output.value[co] = s0 + s1
                    }
                }
            }
        }
        return sums.map { Float($0) }
    }
}

extension Convolution {
    /// Runs `body(scratch, item)` for every item in `0..<count` on `threads` workers that take the next item from a
    /// shared counter. Dynamic scheduling keeps both cores busy when one thread is slowed down (a shared machine);
    /// each item's result does not depend on which worker computes it, so the output stays deterministic.
    /// `makeScratch` / `releaseScratch` run once per worker (its tile buffers).
    static func dynamicFor<Scratch>(_ count: Int, threads: Int, makeScratch: () -> Scratch,
                                    releaseScratch: (Scratch) -> Void, body: (Scratch, Int) -> Void) {
        let workers = max(1, min(threads, count))
        let next = LockedValue(0)
        parallelFor(workers, threads: workers) { range in
            for _ in range {
                let scratch = makeScratch()
                defer { releaseScratch(scratch) }
                while true {
                    let item: Int = next.withLock { value in
                        defer { value += 1 }
                        return value
                    }
                    if item >= count { break }
                    body(scratch, item)
                }
            }
        }
    }

    /// The weight-gradient passes' reduction: `items` split into fixed groups
    /// (``accumulatorGroups(items:threads:accumulatorCount:)``), each with its own zeroed accumulator of
    /// `accumulatorCount` floats, handed out dynamically to `threads` workers; `body(scratch, items, accumulator)`
    /// accumulates one group's items. Returns the accumulators summed group by group in order, so the result does not
    /// depend on thread timing. `makeScratch` / `releaseScratch` run once per worker.
    static func sumOverAccumulatorGroups<Scratch>(items: Int, threads: Int, accumulatorCount: Int,
                                                  makeScratch: () -> Scratch, releaseScratch: (Scratch) -> Void,
                                                  body: (Scratch, Range<Int>, UnsafeMutablePointer<Float>) -> Void)
        -> [Float] {
        let chunks = accumulatorGroups(items: items, threads: threads, accumulatorCount: accumulatorCount)
        var partial = [Float](repeating: 0, count: chunks * accumulatorCount)
        partial.withUnsafeMutableBufferPointer { pp in
            guard let bp = pp.baseAddress else { return }
            let accumulators = UnsafeSendableBox(bp)
            dynamicFor(chunks, threads: threads, makeScratch: makeScratch, releaseScratch: releaseScratch) { scratch, chunk in
                body(scratch, (chunk * items / chunks)..<((chunk + 1) * items / chunks),
                     accumulators.value + chunk * accumulatorCount)
            }
        }
        var total = [Float](repeating: 0, count: accumulatorCount)
        for chunk in 0..<chunks {
            for i in 0..<accumulatorCount { total[i] += partial[chunk * accumulatorCount + i] }
        }
        return total
    }

    /// Number of tile groups (and weight-sized accumulators) of a weight-gradient pass: 4 per thread, as far as
    /// 64 MiB of accumulators allow, at least one per thread.
    static func accumulatorGroups(items: Int, threads: Int, accumulatorCount: Int) -> Int {
        let byMemory = max(1, (64 << 20) / max(1, accumulatorCount * MemoryLayout<Float>.size))
        return max(1, min(items, max(threads, min(4 * threads, byMemory))))
    }
}
