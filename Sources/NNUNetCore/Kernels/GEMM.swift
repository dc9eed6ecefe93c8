import COpenBLAS
import Dispatch

/// The only caller of OpenBLAS `cblas_sgemm`: row-major `C = alpha * op(A) * op(B) + beta * C`.
///
/// Threading policy: OpenBLAS runs single-threaded and all parallelism comes from ``parallelFor``: the convolution
/// kernels give each thread its own tiles, and ``parallelMultiply`` splits a large product by column blocks. This
/// keeps one threading policy in the package and avoids OpenBLAS's own threads competing with ours. Measured on the
/// 2-core EPYC (OpenBLAS 0.3.21, a shared and noisy machine): a conv-shaped product (M 32, K 864, N 8192) reached
/// 46 GFLOP/s with 2 OpenBLAS threads, while one thread on half of it reached about 52 GFLOP/s per thread; for
/// 2048³ the two ways were equal within the noise.
package enum GEMM {
    /// Sets OpenBLAS to one thread, once per process, before the first product; also applies
    /// ``AllocatorTuning/reuseLargeBuffers()`` (every training and inference run multiplies matrices).
    private static let singleThreaded: Bool = {
        openblas_set_num_threads(1)
        AllocatorTuning.reuseLargeBuffers()
        return true
    }()

    /// `C (m×n, ldc) = alpha · op(A) (m×k) · op(B) (k×n) + beta · C`, row-major; `op` transposes where asked.
    @inline(__always)
    static func multiply(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
                         alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                         beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(singleThreaded)
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// ``multiply(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)`` without transposes, split over
    /// `threads` column blocks of C (multiples of 64 columns).
    static func parallelMultiply(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
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

extension GEMM {
    /// Throughput of a `size`³ sgemm through ``parallelMultiply`` on `threads` threads (median of `repetitions`
    /// after one warm-up), in GFLOP/s (2·size³ FLOPs per product). The benchmark baseline of `nnunet benchmark`.
    /// With `cpuClock` (seconds of process CPU time) it also reports FLOPs per (CPU seconds / threads).
    package static func measureThroughput(size: Int = 2048, threads: Int, repetitions: Int = 3,
                                          cpuClock: (() -> Double)? = nil) -> (wall: Double, cpu: Double) {
        var generator = SeededGenerator(seed: 1)
        let a = (0..<(size * size)).map { _ in Float(generator.nextUniform()) - 0.5 }
        let b = (0..<(size * size)).map { _ in Float(generator.nextUniform()) - 0.5 }
        var c = [Float](repeating: 0, count: size * size)
        var times: [Double] = [], cpuTimes: [Double] = []
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    guard let ba = pa.baseAddress, let bb = pb.baseAddress, let bc = pc.baseAddress else { return }
                    for repetition in 0...repetitions {
                        let start = DispatchTime.now().uptimeNanoseconds, cpuStart = cpuClock?() ?? 0
                        parallelMultiply(m: size, n: size, k: size, a: ba, lda: size, b: bb, ldb: size, beta: 0, c: bc,
                                         ldc: size, threads: threads)
                        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
                        if repetition > 0 {
                            times.append(seconds)
                            cpuTimes.append((cpuClock?() ?? 0) - cpuStart)
                        }
                    }
                }
            }
        }
        let flops = 2 * Double(size) * Double(size) * Double(size)
        let cpuMedian = cpuTimes.sorted()[cpuTimes.count / 2] / Double(threads)
        return (flops / times.sorted()[times.count / 2] / 1e9, cpuClock == nil ? .nan : flops / cpuMedian / 1e9)
    }
}
