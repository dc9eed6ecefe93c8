@testable import NNUNetCore
import Testing

/// One convolution case: batch, channels, input size (D, H, W; D = 1 and `is2D` for 2D), kernel, stride, padding.
struct ConvCase: CustomStringConvertible, Sendable {
    var batch = 2, cin = 3, cout = 5
    var size: [Int]
    var kernel: [Int]
    var stride: [Int]
    var padding: [Int]
    var is2D = false

    var description: String { "\(is2D ? "2D" : "3D") in \(size) k\(kernel) s\(stride) p\(padding)" }

    func inputShape() -> [Int] { [batch, cin] + (is2D ? Array(size[1...]) : size) }
    func weightShape() -> [Int] { [cout, cin] + (is2D ? Array(kernel[1...]) : kernel) }
    func spatial(_ v: [Int]) -> [Int] { is2D ? Array(v[1...]) : v }
}

let convCases: [ConvCase] = [
    ConvCase(size: [5, 7, 6], kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1]),
    ConvCase(size: [5, 7, 6], kernel: [1, 3, 3], stride: [1, 1, 1], padding: [0, 1, 1]),
    ConvCase(size: [5, 7, 6], kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1]),
    ConvCase(size: [6, 7, 9], kernel: [3, 3, 3], stride: [2, 2, 2], padding: [1, 1, 1]),
    ConvCase(size: [4, 6, 5], kernel: [3, 1, 3], stride: [2, 1, 2], padding: [1, 0, 2]),
    ConvCase(size: [4, 5, 6], kernel: [1, 1, 1], stride: [1, 1, 1], padding: [0, 0, 0]),
    ConvCase(size: [3, 5, 4], kernel: [3, 3, 3], stride: [1, 1, 1], padding: [0, 0, 0]),
    ConvCase(size: [1, 9, 7], kernel: [1, 3, 3], stride: [1, 1, 1], padding: [0, 1, 1], is2D: true),
    ConvCase(size: [1, 9, 8], kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1], is2D: true),
    ConvCase(size: [1, 8, 7], kernel: [1, 1, 3], stride: [1, 2, 1], padding: [0, 0, 1], is2D: true),
    // Kernel = stride (the transposed convolutions' pass): exact multiples take the GEMM + shuffle input gradient,
    // a remainder voxel the generic one.
    ConvCase(size: [4, 6, 8], kernel: [2, 2, 2], stride: [2, 2, 2], padding: [0, 0, 0]),
    ConvCase(size: [3, 6, 8], kernel: [1, 2, 2], stride: [1, 2, 2], padding: [0, 0, 0]),
    ConvCase(size: [5, 6, 8], kernel: [2, 2, 2], stride: [2, 2, 2], padding: [0, 0, 0]),
    ConvCase(size: [1, 6, 10], kernel: [1, 2, 2], stride: [1, 2, 2], padding: [0, 0, 0], is2D: true),
]

@Suite("Convolution kernels against the naive reference")
struct ConvolutionTests {
    @Test("forward", arguments: convCases)
    func forward(_ c: ConvCase) {
        let x = randomTensor(c.inputShape(), seed: 1)
        let w = randomTensor(c.weightShape(), seed: 2, scale: 0.3)
        let b = randomTensor([c.cout], seed: 3)
        let y = conv(x, weight: w, bias: b, stride: c.spatial(c.stride), padding: c.spatial(c.padding), threads: 2)
        let reference = ReferenceOps.conv(x.data, n: c.batch, cin: c.cin, size: c.size, w.data, cout: c.cout,
                                          kernel: c.kernel, bias: b.data, stride: c.stride, padding: c.padding)
        #expect(y.shape == [c.batch, c.cout] + c.spatial(reference.size))
        #expect(mismatch(y.data, reference.values) == nil)
    }

    @Test("forward over many tiles and threads matches the reference and is thread-count independent")
    func tiled() {
        // 9 × 40 lines of 40 voxels: many tiles per sample (a dozen lines each), split unevenly over 3 threads.
        let c = ConvCase(batch: 2, cin: 4, cout: 3, size: [9, 40, 40], kernel: [3, 3, 3], stride: [1, 1, 1],
                         padding: [1, 1, 1])
        // This geometry takes the Winograd passes, so their thread-count independence is checked here too.
        #expect(Convolution.winogradApplies(Convolution.Geometry(
            batch: c.batch, inputChannels: c.cin, outputChannels: c.cout, inputSize: c.size, kernel: c.kernel,
            stride: c.stride, padding: c.padding)))
        let x = randomTensor(c.inputShape(), seed: 4)
        let w = randomTensor(c.weightShape(), seed: 5, scale: 0.2)
        let y3 = conv(x, weight: w, bias: nil, stride: c.stride, padding: c.padding, threads: 3)
        let y1 = conv(x, weight: w, bias: nil, stride: c.stride, padding: c.padding, threads: 1)
        let reference = ReferenceOps.conv(x.data, n: c.batch, cin: c.cin, size: c.size, w.data, cout: c.cout,
                                          kernel: c.kernel, bias: nil, stride: c.stride, padding: c.padding)
        #expect(mismatch(y3.data, reference.values) == nil)
        #expect(y1.data == y3.data)
        // Backward over many tiles (threaded bias sum, grouped weight accumulators) against one thread.
        let xg = randomTensor(c.inputShape(), seed: 4, requiresGrad: true)
        let wg = randomTensor(c.weightShape(), seed: 5, scale: 0.2, requiresGrad: true)
        let bg = randomTensor([c.cout], seed: 6, requiresGrad: true)
        let seed = randomTensor(y1.shape, seed: 7)
        conv(xg, weight: wg, bias: bg, stride: c.stride, padding: c.padding, threads: 3).backward(gradient: seed)
        let gradients3 = [xg.grad, wg.grad, bg.grad].map { $0?.data ?? [] }
        xg.grad = nil; wg.grad = nil; bg.grad = nil
        conv(xg, weight: wg, bias: bg, stride: c.stride, padding: c.padding, threads: 1).backward(gradient: seed)
        let gradients1 = [xg.grad, wg.grad, bg.grad].map { $0?.data ?? [] }
        #expect(gradients3[0] == gradients1[0])
        for i in 1..<3 { #expect(mismatch(gradients3[i], gradients1[i], relative: 1e-5, absolute: 1e-4) == nil) }
        let expectedBias = (0..<c.cout).map { co in
            (0..<c.batch).reduce(0.0) { total, n in
                let voxels = 9 * 40 * 40, start = (n * c.cout + co) * voxels
                return total + seed.data[start..<(start + voxels)].reduce(0.0) { $0 + Double($1) }
            }
        }
        #expect(mismatch(gradients3[2], expectedBias, relative: 1e-5, absolute: 1e-4) == nil)
    }

    @Test("input and weight gradients against the reference adjoint", arguments: convCases)
    func backwardAgainstAdjoint(_ c: ConvCase) {
        // <conv(x), R> is linear in x and in w: its gradients are determined by the reference forward through
        // the identities d/dx_i = <conv(e_i), R>, checked on a few unit vectors e_i (float64, exact).
        let x = randomTensor(c.inputShape(), seed: 6, requiresGrad: true)
        let w = randomTensor(c.weightShape(), seed: 7, scale: 0.3, requiresGrad: true)
        let y = conv(x, weight: w, bias: nil, stride: c.spatial(c.stride), padding: c.spatial(c.padding), threads: 2)
        let r = randomTensor(y.shape, seed: 8)
        y.backward(gradient: r)
        var generator = SeededGenerator(seed: 9)
        for _ in 0..<6 {
            let i = Int(generator.next() % UInt64(x.count))
            var e = [Float](repeating: 0, count: x.count)
            e[i] = 1
            let ref = ReferenceOps.conv(e, n: c.batch, cin: c.cin, size: c.size, w.data, cout: c.cout,
                                        kernel: c.kernel, bias: nil, stride: c.stride, padding: c.padding).values
            let expected = zip(ref, r.data).reduce(0.0) { $0 + $1.0 * Double($1.1) }
            #expect(abs(Double(x.grad?.data[i] ?? .nan) - expected) <= 1e-4 * (1 + abs(expected)))
        }
        for _ in 0..<6 {
            let i = Int(generator.next() % UInt64(w.count))
            var e = [Float](repeating: 0, count: w.count)
            e[i] = 1
            let ref = ReferenceOps.conv(x.data, n: c.batch, cin: c.cin, size: c.size, e, cout: c.cout,
                                        kernel: c.kernel, bias: nil, stride: c.stride, padding: c.padding).values
            let expected = zip(ref, r.data).reduce(0.0) { $0 + $1.0 * Double($1.1) }
            #expect(abs(Double(w.grad?.data[i] ?? .nan) - expected) <= 1e-4 * (1 + abs(expected)))
        }
    }

    @Test("transposed convolution (kernel = stride) against the README formula",
          arguments: [([2, 2, 2], false), ([1, 2, 2], false), ([2, 1, 2], true), ([1, 2, 2], true)])
    func transposed(_ kernel: [Int], _ is2D: Bool) {
        let size = is2D ? [1, 4, 5] : [3, 4, 5]
        let k = is2D ? [1] + Array(kernel[1...]) : kernel
        let (n, cin, cout) = (2, 4, 3)
        let spatial: ([Int]) -> [Int] = { is2D ? Array($0[1...]) : $0 }
        let x = randomTensor([n, cin] + spatial(size), seed: 10)
        let w = randomTensor([cin, cout] + spatial(k), seed: 11, scale: 0.5)
        let b = randomTensor([cout], seed: 12)
        let y = convTranspose(x, weight: w, bias: b, stride: spatial(k), threads: 2)
        let reference = ReferenceOps.convTransposeKernelEqualsStride(x.data, n: n, cin: cin, size: size, w.data,
                                                                     cout: cout, kernel: k, bias: b.data)
        #expect(y.shape == [n, cout] + spatial(reference.size))
        #expect(mismatch(y.data, reference.values) == nil)
    }

    @Test("workspace per thread is bounded for a 32-channel 128³ forward")
    func workspaceBound() {
        let columnRows = 32 * 27
        let rows = Convolution.rowsPerTile(columnRows: columnRows, lineLength: 128, totalRows: 128 * 128)
        let bytesPerThread = columnRows * rows * 128 * MemoryLayout<Float>.size
        #expect(bytesPerThread <= Convolution.tileBudgetBytes)
        #expect(bytesPerThread * 16 <= 256 << 20)  // even with 16 threads
    }
}
