extension Kernels {
    /// Copies a box of extent `size` from `src` (shape `srcShape`, box corner `srcStart`) into `dst` (shape
    /// `dstShape`, corner `dstStart`). The backbone of slicing, padding and concatenation; rows along the last
    /// axis are copied contiguously.
    static func copyBox(from src: UnsafePointer<Float>, srcShape: [Int], srcStart: [Int],
                        to dst: UnsafeMutablePointer<Float>, dstShape: [Int], dstStart: [Int], size: [Int]) {
        let rank = size.count
        if size.contains(0) { return }
        if rank == 0 { dst[0] = src[0]; return }
        let srcStrides = Tensor.strides(of: srcShape), dstStrides = Tensor.strides(of: dstShape)
        let inner = size[rank - 1]
        let rows = size.reduce(1, *) / inner
        let base0 = zip(srcStart, srcStrides).reduce(0) { $0 + $1.0 * $1.1 }
        let base1 = zip(dstStart, dstStrides).reduce(0) { $0 + $1.0 * $1.1 }
        let threads = rows * inner >= parallelThreshold ? ThreadSettings.defaultThreads : 1
        let dstAddress = UnsafeSendableBox(dst)
        parallelFor(rows, threads: threads, minimumChunk: 16) { range in
            for row in range {
                var rest = row, s = base0, d = base1
                var axis = rank - 2
                while axis >= 0 {
                    let i = rest % size[axis]
                    rest /= size[axis]
                    s += i * srcStrides[axis]
                    d += i * dstStrides[axis]
                    axis -= 1
                }
                (dstAddress.value + d).update(from: src + s, count: inner)
            }
        }
    }
}
