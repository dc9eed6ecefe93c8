/// The input-gradient pass of a convolution whose kernel equals its stride (nnU-Net's transposed convolutions, the
/// decoder's upsampling) as one GEMM and a pixel shuffle.
///
/// With kernel = stride and no padding, every input voxel i is covered by exactly one kernel offset k = i mod s of
/// one output voxel o = i / s, so `gx[n, ci, o·s + k] = Σ_co w[co, ci, k] · gout[n, co, o]`: the product
/// `P[(ci, k), o] = Wᵀ'[(ci, k), co] · gout[n, co, o]` holds every value once and is scattered into place. The
/// generic pass gathers a column matrix of Cout·kvol rows of which all but Cout are zero at each voxel, so it
/// multiplies kvol times as many values.
extension Convolution {
    /// Whether ``backwardInputKernelEqualsStride(_:outputGradient:weight:threads:)`` computes `g`'s input gradient:
    /// kernel = stride (more than one voxel), no padding, and the input exactly `stride ×` the output on every axis.
    static func isKernelEqualsStride(_ g: Geometry) -> Bool {
        g.kernel == g.stride && g.padding == [0, 0, 0] && g.kernelVolume > 1
            && (0..<3).allSatisfy { g.inputSize[$0] == g.outputSize[$0] * g.stride[$0] }
    }

    /// Input gradient (the transposed convolution) for kernel = stride: one GEMM per block of output rows, then the
    /// shuffle; every value of `gx` is written once.
    static func backwardInputKernelEqualsStride(_ g: Geometry, outputGradient: [Float], weight: [Float],
                                                threads: Int) -> [Float] {
        let kvol = g.kernelVolume, cin = g.inputChannels, cout = g.outputChannels, rowsM = cin * kvol
        // Wᵀ'[(ci, k), co] = w[co, ci, k]
        var transposed = Kernels.overwrittenBuffer(count: rowsM * cout)  // every value written below
        weight.withUnsafeBufferPointer { pw in
            transposed.withUnsafeMutableBufferPointer { pt in
                guard let w = pw.baseAddress, let t = pt.baseAddress else { return }
                // Row (ci, k) = ci · kvol + k of co's weights is w[(co · cin + ci) · kvol + k] = w[co · rowsM + row]:
                // read in order, written cout apart.
                for co in 0..<cout {
                    let source = w + co * rowsM
                    for row in 0..<rowsM { t[row * cout + co] = source[row] }
                }
            }
        }
        let small = g.outputSize, smallVoxels = g.outputVoxels, large = g.inputSize, largeVoxels = g.inputVoxels
        let (kd, kh, kw) = (g.kernel[0], g.kernel[1], g.kernel[2])
        let totalRows = small[0] * small[1], width = small[2]
        let rowsPerItem = max(1, min(max(1, preferredTileVoxels / width), max(1, totalRows / minimumTilesPerSample)))
        let itemsPerSample = (totalRows + rowsPerItem - 1) / rowsPerItem
        var gx = Kernels.overwrittenBuffer(count: g.batch * cin * largeVoxels)
        outputGradient.withUnsafeBufferPointer { pg in
            transposed.withUnsafeBufferPointer { pw in
                gx.withUnsafeMutableBufferPointer { px in
                    guard let bg = pg.baseAddress, let bw = pw.baseAddress, let bx = px.baseAddress else { return }
                    let output = UnsafeSendableBox(bx)
                    dynamicFor(g.batch * itemsPerSample, threads: threads, makeScratch: {
                        UnsafeMutablePointer<Float>.allocate(capacity: rowsM * rowsPerItem * width)
                    }, releaseScratch: { $0.deallocate() }) { product, item in
                        let n = item / itemsPerSample, chunk = item % itemsPerSample
                        let rows = (chunk * rowsPerItem)..<min(totalRows, (chunk + 1) * rowsPerItem)
                        let columns = rows.count * width
                        GEMM.multiply(m: rowsM, n: columns, k: cout, a: bw, lda: cout,
                                      b: bg + n * cout * smallVoxels + rows.lowerBound * width, ldb: smallVoxels,
                                      beta: 0, c: product, ldc: columns)
                        for ci in 0..<cin {
                            let plane = output.value + (n * cin + ci) * largeVoxels
                            for kz in 0..<kd {
                                for ky in 0..<kh {
                                    for kx in 0..<kw {
                                        let source = product + (ci * kvol + (kz * kh + ky) * kw + kx) * columns
                                        for (r, row) in rows.enumerated() {
                                            let z = row / small[1], y = row % small[1]
                                            let line = plane + ((z * kd + kz) * large[1] + y * kh + ky) * large[2] + kx
                                            let values = source + r * width
                                            for x in 0..<width { line[x * kw] = values[x] }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return gx
    }
}
