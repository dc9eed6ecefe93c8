import Dispatch
import NNUNetCore

extension GEMM {
    /// Throughput of a `size`³ sgemm through `GEMM.parallelMultiply` on `threads` threads (median of `repetitions`
    /// after one warm-up), in GFLOP/s (2·size³ FLOPs per product): the baseline of `nnunet-benchmark conv3d`.
    /// With `cpuClock` (seconds of process CPU time) it also reports FLOPs per (CPU seconds / threads).
    static func measureThroughput(size: Int = 2048, threads: Int, repetitions: Int = 3,
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
