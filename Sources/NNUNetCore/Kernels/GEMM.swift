import COpenBLAS

/// The only caller of OpenBLAS `cblas_sgemm`: row-major `C = alpha * op(A) * op(B) + beta * C`.
///
/// Threading policy: all of the package's parallelism comes from `parallelFor`: the
/// convolution kernels give each thread its own tiles, and ``parallelMultiply(m:n:k:a:lda:b:ldb:beta:c:ldc:threads:)``
/// splits a large product by column blocks. OpenBLAS's own thread count is the application's setting, never changed
/// here: `nnunet` sets it to one (``ProcessTuning/useSingleThreadedBLAS()``), which keeps one threading policy and
/// avoids OpenBLAS's threads competing with ours. Measured on the 2-core EPYC (OpenBLAS 0.3.21, a shared and noisy
/// machine): a conv-shaped product (M 32, K 864, N 8192) reached 46 GFLOP/s with 2 OpenBLAS threads, while one
/// thread on half of it reached about 52 GFLOP/s per thread; for 2048³ the two ways were equal within the noise.
package enum GEMM {
    /// `C (m×n, ldc) = alpha · op(A) (m×k) · op(B) (k×n) + beta · C`, row-major; `op` transposes where asked.
    @inline(__always)
    static func multiply(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
                         alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                         beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// ``multiply(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)`` without transposes, split over
    /// `threads` column blocks of C (multiples of 64 columns). `package` for nnunet-benchmark's sgemm baseline.
    package static func parallelMultiply(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
                                 ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int) {
        let blocks = (n + 63) / 64
        let output = UnsafeSendableBox(c)
        parallelFor(blocks, threads: threads) { range in
            let j0 = range.lowerBound * 64, j1 = min(n, range.upperBound * 64)
            multiply(m: m, n: j1 - j0, k: k, a: a, lda: lda, b: b + j0, ldb: ldb, beta: beta, c: output.value + j0,
                     ldc: ldc)
        }
    }
}
