/// The x-folded variant of the convolution passes, used when the stride along x is 1 (every 3×3×3 and 1×3×3 conv of
/// nnU-Net except the strided first block of a stage).
///
/// With stride 1 along x, the col rows of kx = 0, 1, 2 are the same line shifted by one voxel. So the gather fills
/// only rows (c, kz, ky) with padded lines `L[r, j] = src[c, z(r, kz), y(r, ky), j + base]` of length
/// `lineLength = Ld + kw - 1` (zero outside the source), and one GEMM per kx reads `L` at offset `o_kx` through the
/// leading dimension:
/// - forward: base = -pₓ, o_kx = kx, `T[:, t] = Σ_kx W_kx · L[:, t + o_kx]` with `W_kx[co, (c,kz,ky)] = w[co,c,kz,ky,kx]`;
/// - input gradient: base = pₓ - (kw - 1), o_kx = kw - 1 - kx, `W_kx[ci, (co,kz,ky)] = w[co,ci,kz,ky,kx]`;
/// - weight gradient: `gW_kx += G · L[:, · + kx]ᵀ`, G being the output gradient laid out on the padded lines
///   (zeros in the kw - 1 padding columns).
/// T is computed on padded lines and its first Ld columns of each line are copied out. This writes a third of the
/// column matrix of plain im2col.
extension Convolution {
    static func foldedLineLength(_ destinationWidth: Int, _ kernelWidth: Int) -> Int { destinationWidth + kernelWidth - 1 }

    /// Fills `col` (rows (c, kz, ky), `rows.count · lineLength` columns) with padded lines; `planes[c]` is the first
    /// voxel of source channel c (the channels may live in different arrays, see ``ChannelParts``).
    static func gatherFolded(planes: UnsafePointer<UnsafePointer<Float>>, channels: Int, sourceSize: [Int],
                             destinationSize: [Int], kernel: [Int], mapZ: AxisMap, mapY: AxisMap, base: Int,
                             lineLength: Int, rows: Range<Int>, col: UnsafeMutablePointer<Float>) {
        let (sh, sw) = (sourceSize[1], sourceSize[2])
        let (dd, dh) = (destinationSize[0], destinationSize[1])
        let rowLength = rows.count * lineLength
        let j0 = max(0, -base), j1 = min(lineLength, sw - base)
        let (kd, kh) = (kernel[0], kernel[1])
        mapZ.table.withUnsafeBufferPointer { tz in
            mapY.table.withUnsafeBufferPointer { ty in
                guard let tz = tz.baseAddress, let ty = ty.baseAddress else { return }
                var rowIndex = 0
                for c in 0..<channels {
                    let plane = planes[c]
                    for kz in 0..<kd {
                        for ky in 0..<kh {
                            let dstRow = col + rowIndex * rowLength
                            rowIndex += 1
                            for (r, row) in rows.enumerated() {
                                let z = row / dh, y = row - (row / dh) * dh
                                let dst = dstRow + r * lineLength
                                let sz = tz[kz * dd + z], sy = ty[ky * dh + y]
                                if sz < 0 || sy < 0 || j1 <= j0 {
                                    dst.update(repeating: 0, count: lineLength)
                                    continue
                                }
                                let line = plane + (Int(sz) * sh + Int(sy)) * sw + base
                                if j0 > 0 { dst.update(repeating: 0, count: j0) }
                                (dst + j0).update(from: line + j0, count: j1 - j0)
                                if j1 < lineLength { (dst + j1).update(repeating: 0, count: lineLength - j1) }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Splits a weight by kx: `result[kx][m][(q, kz, ky)]` from `w[...]` where `index(m, q)` gives the offset of
    /// `w[m or q ..., kz=0, ky=0, kx=0]` block start (the kd·kh·kw block of output/input channel pair).
    static func splitByKernelX(_ weight: [Float], rowsM: Int, channelsQ: Int, kernel: [Int],
                               blockStart: (Int, Int) -> Int) -> [Float] {
        let (kd, kh, kw) = (kernel[0], kernel[1], kernel[2])
        let kf = channelsQ * kd * kh
        // Every value is written: kw · rowsM rows of kf = channelsQ · kd · kh values.
        var result = Kernels.overwrittenBuffer(count: kw * rowsM * kf)
        weight.withUnsafeBufferPointer { pw in
            result.withUnsafeMutableBufferPointer { pr in
                guard let w = pw.baseAddress, let r = pr.baseAddress else { return }
                for m in 0..<rowsM {
                    for q in 0..<channelsQ {
                        let source = w + blockStart(m, q)
                        for kx in 0..<kw {
                            let target = r + (kx * rowsM + m) * kf + q * kd * kh
                            for k in 0..<(kd * kh) { target[k] = source[k * kw + kx] }
                        }
                    }
                }
            }
        }
        return result
    }

    /// Shared driver of the folded data passes (forward and input gradient): reads the source channels from
    /// `source` (parts concatenated along channels) and writes the destination channels into parts of
    /// `destinationParts` channels each (one array per part).
    static func foldedDataPass(batch: Int, sourceSize: [Int], destinationParts: [Int], destinationSize: [Int],
                               kernel: [Int], mapZ: AxisMap, mapY: AxisMap, base: Int, offsets: [Int],
                               weightsByKx: [Float], bias: [Float]?, source: ChannelParts, threads: Int) -> [[Float]] {
        let kw = kernel[2], ld = destinationSize[2]
        let lineLength = foldedLineLength(ld, kw)
        let sourceChannels = source.channels
        let destinationChannels = destinationParts.reduce(0, +)
        let kf = sourceChannels * kernel[0] * kernel[1]
        let destinationVoxels = destinationSize.reduce(1, *)
        let totalRows = destinationSize[0] * destinationSize[1]
        let rowsPerTile = rowsPerTile(columnRows: kf, lineLength: lineLength, totalRows: totalRows)
        let tilesPerSample = (totalRows + rowsPerTile - 1) / rowsPerTile
        var outputs = destinationParts.map { Kernels.overwrittenBuffer(count: batch * $0 * destinationVoxels) }
        source.withPlanes(batch: batch) { sourcePlanes in
        withMutablePlanes(&outputs, parts: destinationParts, voxels: destinationVoxels, batch: batch) { targetPlanes in
            weightsByKx.withUnsafeBufferPointer { pw in
                do {
                    guard let bw = pw.baseAddress else { return }
                    let sources = UnsafeSendableBox(sourcePlanes), targets = UnsafeSendableBox(targetPlanes)
                    let tileLength = rowsPerTile * lineLength
                    dynamicFor(batch * tilesPerSample, threads: threads, makeScratch: {
                        (UnsafeMutablePointer<Float>.allocate(capacity: kf * tileLength),
                         UnsafeMutablePointer<Float>.allocate(capacity: destinationChannels * tileLength))
                    }, releaseScratch: { $0.0.deallocate(); $0.1.deallocate() }) { scratch, item in
                        let (col, product) = scratch
                        let n = item / tilesPerSample, tile = item % tilesPerSample
                        let rows = (tile * rowsPerTile)..<min(totalRows, (tile + 1) * rowsPerTile)
                        gatherFolded(planes: sources.value + n * sourceChannels, channels: sourceChannels,
                                     sourceSize: sourceSize, destinationSize: destinationSize, kernel: kernel,
                                     mapZ: mapZ, mapY: mapY, base: base, lineLength: lineLength, rows: rows,
                                     col: col)
                        let length = rows.count * lineLength
                        for kx in 0..<kw {
                            GEMM.multiply(m: destinationChannels, n: length - (kw - 1), k: kf,
                                          a: bw + kx * destinationChannels * kf, lda: kf, b: col + offsets[kx],
                                          ldb: length, beta: kx == 0 ? 0 : 1, c: product, ldc: length)
                        }
                        for m in 0..<destinationChannels {
                            let shift = bias?[m] ?? 0
                            let target = targets.value[n * destinationChannels + m] + rows.lowerBound * ld
                            for r in 0..<rows.count {
                                let from = product + m * length + r * lineLength
                                let to = target + r * ld
                                if shift == 0 {
                                    to.update(from: from, count: ld)
                                } else {
                                    for x in 0..<ld { to[x] = from[x] + shift }
                                }
                            }
                        }
                    }
                }
            }
        }
        }
        return outputs
    }

    /// Folded forward (stride 1 along x) of the channel concatenation of `input`'s parts.
    /// `allowWinograd: false` keeps the GEMM pass where ``winogradDataPassApplies(_:)`` would pick the Winograd pass
    /// (the tests compare the two).
    static func forwardFolded(_ g: Geometry, input: ChannelParts, weight: [Float], bias: [Float]?,
                              threads: Int, allowWinograd: Bool = true) -> [Float] {
        if allowWinograd && winogradDataPassApplies(g) {
            let cin = g.inputChannels, kvol = g.kernelVolume
            let tile = winogradDepthTile(g)
            let weights = winogradWeights(weight, rowsM: g.outputChannels, channelsQ: cin, kernelDepth: g.kernel[0],
                                          depthTile: tile, flipped: false, threads: threads, mStride: cin * kvol,
                                          qStride: kvol)
            return winogradDataPass(batch: g.batch, size: g.inputSize, kernelDepth: g.kernel[0], depthTile: tile,
                                    destinationParts: [g.outputChannels], transformedWeights: weights, bias: bias,
                                    source: input, threads: threads)[0]
        }
        let outSize = g.outputSize, kw = g.kernel[2], kvol = g.kernelVolume
        let mapZ = AxisMap.forward(kernel: g.kernel[0], stride: g.stride[0], padding: g.padding[0],
                                   source: g.inputSize[0], destination: outSize[0])
        let mapY = AxisMap.forward(kernel: g.kernel[1], stride: g.stride[1], padding: g.padding[1],
                                   source: g.inputSize[1], destination: outSize[1])
        let cin = g.inputChannels
        let weights = splitByKernelX(weight, rowsM: g.outputChannels, channelsQ: cin, kernel: g.kernel) { co, ci in
            (co * cin + ci) * kvol
        }
        return foldedDataPass(batch: g.batch, sourceSize: g.inputSize, destinationParts: [g.outputChannels],
                              destinationSize: outSize, kernel: g.kernel, mapZ: mapZ, mapY: mapY,
                              base: -g.padding[2], offsets: Array(0..<kw), weightsByKx: weights, bias: bias,
                              source: input, threads: threads)[0]
    }

    /// Folded input gradient (stride 1 along x), split into arrays of `parts` input channels each.
    static func backwardInputFolded(_ g: Geometry, outputGradient: [Float], weight: [Float], parts: [Int],
                                    threads: Int, allowWinograd: Bool = true) -> [[Float]] {
        if allowWinograd && winogradDataPassApplies(g) {
            let cin = g.inputChannels, kvol = g.kernelVolume
            let tile = winogradDepthTile(g)
            let weights = winogradWeights(weight, rowsM: cin, channelsQ: g.outputChannels, kernelDepth: g.kernel[0],
                                          depthTile: tile, flipped: true, threads: threads, mStride: kvol,
                                          qStride: cin * kvol)
            return winogradDataPass(batch: g.batch, size: g.inputSize, kernelDepth: g.kernel[0], depthTile: tile,
                                    destinationParts: parts, transformedWeights: weights, bias: nil,
                                    source: ChannelParts([outputGradient], channels: [g.outputChannels],
                                                         voxels: g.outputVoxels), threads: threads)
        }
        let outSize = g.outputSize, kw = g.kernel[2], kvol = g.kernelVolume
        let mapZ = AxisMap.transposed(kernel: g.kernel[0], stride: g.stride[0], padding: g.padding[0],
                                      source: outSize[0], destination: g.inputSize[0])
        let mapY = AxisMap.transposed(kernel: g.kernel[1], stride: g.stride[1], padding: g.padding[1],
                                      source: outSize[1], destination: g.inputSize[1])
        let cin = g.inputChannels
        let weights = splitByKernelX(weight, rowsM: cin, channelsQ: g.outputChannels, kernel: g.kernel) { ci, co in
            (co * cin + ci) * kvol
        }
        return foldedDataPass(batch: g.batch, sourceSize: outSize, destinationParts: parts,
                              destinationSize: g.inputSize, kernel: g.kernel, mapZ: mapZ, mapY: mapY,
                              base: g.padding[2] - (kw - 1), offsets: (0..<kw).map { kw - 1 - $0 },
                              weightsByKx: weights, bias: nil,
                              source: ChannelParts([outputGradient], channels: [g.outputChannels],
                                                   voxels: g.outputVoxels), threads: threads)
    }

    /// Folded weight gradient (stride 1 along x) for the channel concatenation of `input`'s parts; returns
    /// `gw[co, ci, kz, ky, kx]`.
    static func backwardWeightFolded(_ g: Geometry, input: ChannelParts, outputGradient: [Float],
                                     threads: Int, allowWinograd: Bool = true) -> [Float] {
        if allowWinograd && winogradWeightGradientApplies(g) {
            return winogradWeightGradient(g, input: input, outputGradient: outputGradient, threads: threads)
        }
        let outSize = g.outputSize, outVoxels = g.outputVoxels, kw = g.kernel[2], ld = outSize[2]
        let mapZ = AxisMap.forward(kernel: g.kernel[0], stride: g.stride[0], padding: g.padding[0],
                                   source: g.inputSize[0], destination: outSize[0])
        let mapY = AxisMap.forward(kernel: g.kernel[1], stride: g.stride[1], padding: g.padding[1],
                                   source: g.inputSize[1], destination: outSize[1])
        let cout = g.outputChannels, cin = g.inputChannels
        let kf = cin * g.kernel[0] * g.kernel[1]
        let lineLength = foldedLineLength(ld, kw)
        let totalRows = outSize[0] * outSize[1]
        let rowsPerTile = rowsPerTile(columnRows: kf, lineLength: lineLength, totalRows: totalRows)
        let tilesPerSample = (totalRows + rowsPerTile - 1) / rowsPerTile
        let items = g.batch * tilesPerSample
        let accumulatorCount = kw * cout * kf
        let tileLength = rowsPerTile * lineLength
        let total = input.withPlanes(batch: g.batch) { inputPlanes in
            outputGradient.withUnsafeBufferPointer { pg in
                guard let bg = pg.baseAddress else { return [Float]() }
                let planes = UnsafeSendableBox(inputPlanes)
                return sumOverAccumulatorGroups(items: items, threads: threads, accumulatorCount: accumulatorCount,
                                                makeScratch: {
                    (UnsafeMutablePointer<Float>.allocate(capacity: kf * tileLength),
                     UnsafeMutablePointer<Float>.allocate(capacity: cout * tileLength))
                }, releaseScratch: { $0.0.deallocate(); $0.1.deallocate() }) { scratch, group, acc in
                    let (col, gradient) = scratch
                    for item in group {
                        let n = item / tilesPerSample, tile = item % tilesPerSample
                        let rows = (tile * rowsPerTile)..<min(totalRows, (tile + 1) * rowsPerTile)
                        gatherFolded(planes: planes.value + n * cin, channels: cin, sourceSize: g.inputSize,
                                     destinationSize: outSize, kernel: g.kernel, mapZ: mapZ, mapY: mapY,
                                     base: -g.padding[2], lineLength: lineLength, rows: rows, col: col)
                        let length = rows.count * lineLength
                        let source = bg + n * cout * outVoxels + rows.lowerBound * ld
                        for co in 0..<cout {
                            for r in 0..<rows.count {
                                let to = gradient + co * length + r * lineLength
                                to.update(from: source + co * outVoxels + r * ld, count: ld)
                                (to + ld).update(repeating: 0, count: lineLength - ld)
                            }
                        }
                        for kx in 0..<kw {
                            GEMM.multiply(transposeB: true, m: cout, n: kf, k: length - (kw - 1), a: gradient,
                                          lda: length, b: col + kx, ldb: length, beta: 1,
                                          c: acc + kx * cout * kf, ldc: kf)
                        }
                    }
                }
            }
        }
        var gw = [Float](repeating: 0, count: cout * cin * g.kernelVolume)
        let (kd, kh) = (g.kernel[0], g.kernel[1])
        for kx in 0..<kw {
            for co in 0..<cout {
                for ci in 0..<cin {
                    for kz in 0..<kd {
                        for ky in 0..<kh {
                            let from = (kx * cout + co) * kf + (ci * kd + kz) * kh + ky
                            gw[(((co * cin + ci) * kd + kz) * kh + ky) * kw + kx] = total[from]
                        }
                    }
                }
            }
        }
        return gw
    }
}

