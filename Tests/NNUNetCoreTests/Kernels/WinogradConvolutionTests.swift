@testable import NNUNetCore
import Testing

/// The stride-1 geometries nnU-Net's planners emit, with odd and even sizes (partial tiles on every axis).
private let winogradCases: [ConvCase] = [
    ConvCase(size: [5, 7, 9], kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1]),
    ConvCase(size: [6, 8, 10], kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1]),
    // Depths for which F(4, 3) along z is picked: whole tiles, and a clipped last tile.
    ConvCase(size: [8, 6, 7], kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1]),
    ConvCase(batch: 2, cin: 3, cout: 2, size: [7, 5, 6], kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1]),
    ConvCase(batch: 1, cin: 2, cout: 4, size: [3, 4, 5], kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1]),
    ConvCase(size: [1, 8, 10], kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1]),
    ConvCase(size: [3, 7, 9], kernel: [1, 3, 3], stride: [1, 1, 1], padding: [0, 1, 1]),
    ConvCase(size: [4, 6, 6], kernel: [1, 3, 3], stride: [1, 1, 1], padding: [0, 1, 1]),
    ConvCase(size: [1, 9, 7], kernel: [1, 3, 3], stride: [1, 1, 1], padding: [0, 1, 1], is2D: true),
    ConvCase(size: [1, 16, 1], kernel: [1, 3, 3], stride: [1, 1, 1], padding: [0, 1, 1], is2D: true),
]

@Suite("Winograd F(2,3) (and F(4,3) along z) convolution against the direct path and the float64 reference")
struct WinogradConvolutionTests {
    private func geometry(_ c: ConvCase) -> Convolution.Geometry {
        Convolution.Geometry(batch: c.batch, inputChannels: c.cin, outputChannels: c.cout, inputSize: c.size,
                             kernel: c.kernel, stride: c.stride, padding: c.padding)
    }

    @Test("every planner geometry takes the Winograd pass; strided, 1×1×1 and unpadded ones do not")
    func selection() {
        for c in winogradCases { #expect(Convolution.winogradApplies(geometry(c)), "\(c)") }
        let others = [
            ConvCase(size: [6, 8, 10], kernel: [3, 3, 3], stride: [2, 2, 2], padding: [1, 1, 1]),
            ConvCase(size: [6, 8, 10], kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1]),
            ConvCase(size: [6, 8, 10], kernel: [1, 1, 1], stride: [1, 1, 1], padding: [0, 0, 0]),
            ConvCase(size: [6, 8, 10], kernel: [3, 3, 3], stride: [1, 1, 1], padding: [0, 0, 0]),
            ConvCase(size: [6, 8, 10], kernel: [3, 1, 3], stride: [1, 1, 1], padding: [1, 0, 1]),
            // Fewer tiles than the threshold: the deepest stages keep the GEMM pass.
            ConvCase(size: [2, 2, 4], kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1]),
        ]
        for c in others { #expect(!Convolution.winogradApplies(geometry(c)), "\(c)") }
    }

    @Test("F(4, 3) along z where it needs at most 80 % of F(2, 3)'s transform positions, F(2, 3) elsewhere")
    func depthTile() {
        func tile(depth: Int, kernelDepth: Int = 3) -> WinogradDepthTile {
            Convolution.winogradDepthTile(Convolution.Geometry(
                batch: 1, inputChannels: 1, outputChannels: 1, inputSize: [depth, 8, 8], kernel: [kernelDepth, 3, 3],
                stride: [1, 1, 1], padding: [kernelDepth / 2, 1, 1]))
        }
        // 6 positions per 4 outputs against 4 per 2: 40 deep 60 : 80, 7 deep 12 : 16, 10 deep 18 : 20, 5 deep 12 : 12.
        for depth in [3, 4, 7, 8, 12, 16, 20, 40, 80] { #expect(tile(depth: depth) == .four, "depth \(depth)") }
        for depth in [1, 2, 5, 6, 9, 10] { #expect(tile(depth: depth) == .two, "depth \(depth)") }
        #expect(tile(depth: 40, kernelDepth: 1) == .two)
        Convolution.$winogradLongDepthTiles.withValue(false) { #expect(tile(depth: 40) == .two) }
    }

    @Test("with 1×3×3 and 3×3 kernels, fewer than 16 channels on either side keep the GEMM pass; 3×3×3 any width")
    func channelMinimum() {
        func applies(_ cin: Int, _ cout: Int, kernelDepth: Int = 3) -> Bool {
            Convolution.winogradDataPassApplies(Convolution.Geometry(
                batch: 1, inputChannels: cin, outputChannels: cout, inputSize: [8, 16, 16],
                kernel: [kernelDepth, 3, 3], stride: [1, 1, 1], padding: [kernelDepth / 2, 1, 1]))
        }
        #expect(applies(1, 32) && applies(32, 1) && applies(32, 32))
        #expect(!applies(1, 32, kernelDepth: 1) && !applies(8, 32, kernelDepth: 1) && !applies(32, 15, kernelDepth: 1))
        #expect(applies(16, 32, kernelDepth: 1) && applies(32, 32, kernelDepth: 1))
        Convolution.$winogradChannelMinimum.withValue(false) { #expect(applies(1, 32, kernelDepth: 1)) }
        // A first 2D convolution of one modality takes the GEMM pass: the public op equals it bit for bit.
        let c = ConvCase(batch: 1, cin: 1, cout: 8, size: [1, 12, 10], kernel: [1, 3, 3], stride: [1, 1, 1],
                         padding: [0, 1, 1], is2D: true)
        let g = geometry(c)
        let x = randomTensor(c.inputShape(), seed: 41), w = randomTensor(c.weightShape(), seed: 42, scale: 0.3)
        let parts = Convolution.ChannelParts([x.data], channels: [c.cin], voxels: g.inputVoxels)
        let direct = Convolution.forwardFolded(g, input: parts, weight: w.data, bias: nil, threads: 2,
                                               allowWinograd: false)
        let y = conv(x, weight: w, bias: nil, stride: c.spatial(c.stride), padding: c.spatial(c.padding), threads: 2)
        #expect(y.data == direct)
    }

    @Test("forward equals the reference and the direct (folded GEMM) path, with either tile along z",
          arguments: winogradCases, [true, false])
    func forward(_ c: ConvCase, longDepthTiles: Bool) {
        // The cases have fewer channels than the Winograd pass needs by default: the minimum is turned off.
        Convolution.$winogradChannelMinimum.withValue(false) {
            Convolution.$winogradLongDepthTiles.withValue(longDepthTiles) { checkForward(c) }
        }
    }

    private func checkForward(_ c: ConvCase) {
        let g = geometry(c)
        let x = randomTensor(c.inputShape(), seed: 21)
        let w = randomTensor(c.weightShape(), seed: 22, scale: 0.3)
        let b = randomTensor([c.cout], seed: 23)
        let parts = Convolution.ChannelParts([x.data], channels: [c.cin], voxels: g.inputVoxels)
        let winograd = Convolution.forwardFolded(g, input: parts, weight: w.data, bias: b.data, threads: 2)
        let direct = Convolution.forwardFolded(g, input: parts, weight: w.data, bias: b.data, threads: 2,
                                               allowWinograd: false)
        let reference = ReferenceOps.conv(x.data, n: c.batch, cin: c.cin, size: c.size, w.data, cout: c.cout,
                                          kernel: c.kernel, bias: b.data, stride: c.stride, padding: c.padding)
        #expect(mismatch(winograd, reference.values, relative: 1e-5, absolute: 1e-5) == nil)
        #expect(mismatch(winograd, direct, relative: 1e-5, absolute: 1e-5) == nil)
        // The public op takes the same path.
        let y = conv(x, weight: w, bias: b, stride: c.spatial(c.stride), padding: c.spatial(c.padding), threads: 2)
        #expect(y.data == winograd)
    }

    @Test("input gradient, split into channel parts, equals the direct path, with either tile along z",
          arguments: winogradCases, [true, false])
    func inputGradient(_ c: ConvCase, longDepthTiles: Bool) {
        Convolution.$winogradChannelMinimum.withValue(false) {
            Convolution.$winogradLongDepthTiles.withValue(longDepthTiles) { checkInputGradient(c) }
        }
    }

    private func checkInputGradient(_ c: ConvCase) {
        let g = geometry(c)
        let gout = randomTensor([c.batch, c.cout] + c.size, seed: 24)
        let w = randomTensor(c.weightShape(), seed: 25, scale: 0.3)
        let parts = [1, c.cin - 1]
        let winograd = Convolution.backwardInputFolded(g, outputGradient: gout.data, weight: w.data, parts: parts,
                                                       threads: 3)
        let direct = Convolution.backwardInputFolded(g, outputGradient: gout.data, weight: w.data, parts: parts,
                                                     threads: 3, allowWinograd: false)
        for i in parts.indices { #expect(mismatch(winograd[i], direct[i], relative: 1e-5, absolute: 1e-5) == nil) }
    }

    @Test("weight gradient equals the direct path", arguments: winogradCases)
    func weightGradient(_ c: ConvCase) {
        let g = geometry(c)
        #expect(Convolution.winogradWeightGradientApplies(g))
        let x = randomTensor(c.inputShape(), seed: 31)
        let gout = randomTensor([c.batch, c.cout] + c.size, seed: 32)
        let parts = Convolution.ChannelParts([x.data], channels: [c.cin], voxels: g.inputVoxels)
        let winograd = Convolution.backwardWeightFolded(g, input: parts, outputGradient: gout.data, threads: 3)
        let direct = Convolution.backwardWeightFolded(g, input: parts, outputGradient: gout.data, threads: 3,
                                                      allowWinograd: false)
        let reference = Self.referenceWeightGradient(x.data, gout.data, g)
        #expect(mismatch(winograd, reference, relative: 1e-5, absolute: 1e-4) == nil)
        #expect(mismatch(winograd, direct, relative: 1e-5, absolute: 1e-4) == nil)
    }

    @Test("weight gradient at nnU-Net's widths, over a channel concatenation, stays within 1e-4 of the reference")
    func wideWeightGradient() {
        let size = [6, 9, 11], n = 2
        let voxels = size.reduce(1, *)
        let a = randomTensor([n, 16] + size, seed: 33), b = randomTensor([n, 16] + size, seed: 34)
        let gout = randomTensor([n, 32] + size, seed: 35, scale: 0.1)
        let g = Convolution.Geometry(batch: n, inputChannels: 32, outputChannels: 32, inputSize: size,
                                     kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1])
        #expect(Convolution.winogradWeightGradientApplies(g))
        let parts = Convolution.ChannelParts([a.data, b.data], channels: [16, 16], voxels: voxels)
        let winograd = Convolution.backwardWeightFolded(g, input: parts, outputGradient: gout.data, threads: 2)
        let joined = Convolution.concatenateChannels([a.data, b.data], channels: [16, 16], voxels: voxels, batch: n)
        let reference = Self.referenceWeightGradient(joined, gout.data, g)
        let worst = zip(winograd, reference).map { abs(Double($0) - $1) }.max() ?? .infinity
        let scale = reference.map(abs).max() ?? 0
        #expect(worst <= 1e-4 * max(1, scale), "largest difference \(worst) of values up to \(scale)")
        // The widest layers keep the GEMM pass (their transform-domain accumulator would be too large).
        let deep = Convolution.Geometry(batch: 1, inputChannels: 320, outputChannels: 320, inputSize: [8, 8, 8],
                                        kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1])
        #expect(Convolution.winogradApplies(deep) && !Convolution.winogradWeightGradientApplies(deep))
    }

    /// `gw[co, ci, k] = Σ_{n, o} gout[n, co, o] · x[n, ci, o - p + k]` in float64 (stride 1).
    static func referenceWeightGradient(_ x: [Float], _ gout: [Float], _ g: Convolution.Geometry) -> [Double] {
        let (d, h, w) = (g.inputSize[0], g.inputSize[1], g.inputSize[2])
        let kvol = g.kernelVolume, voxels = g.inputVoxels
        var result = [Double](repeating: 0, count: g.outputChannels * g.inputChannels * kvol)
        for n in 0..<g.batch {
            for co in 0..<g.outputChannels {
                for ci in 0..<g.inputChannels {
                    for kz in 0..<g.kernel[0] {
                        for ky in 0..<3 {
                            for kx in 0..<3 {
                                var sum = 0.0
                                for z in 0..<d {
                                    let iz = z - g.padding[0] + kz
                                    if iz < 0 || iz >= d { continue }
                                    for y in 0..<h {
                                        let iy = y - 1 + ky
                                        if iy < 0 || iy >= h { continue }
                                        for xx in 0..<w {
                                            let ix = xx - 1 + kx
                                            if ix < 0 || ix >= w { continue }
                                            let o = (n * g.outputChannels + co) * voxels + (z * h + y) * w + xx
                                            let i = (n * g.inputChannels + ci) * voxels + (iz * h + iy) * w + ix
                                            sum += Double(gout[o]) * Double(x[i])
                                        }
                                    }
                                }
                                result[((co * g.inputChannels + ci) * g.kernel[0] + kz) * 9 + ky * 3 + kx] += sum
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    @Test("decoder-shaped forward of a channel concatenation at nnU-Net's widths stays within 1e-4 of the reference")
    func wideConcatenation() {
        // 32 + 32 input channels (upsampled + skip) to 32, 3×3×3, on a volume with partial tiles on every axis.
        let size = [7, 10, 13], (n, cout) = (1, 32)
        let voxels = size.reduce(1, *)
        let upsampled = randomTensor([n, 32] + size, seed: 26), skip = randomTensor([n, 32] + size, seed: 27)
        let w = randomTensor([cout, 64, 3, 3, 3], seed: 28, scale: (2.0 / (64 * 27)).squareRoot())
        let g = Convolution.Geometry(batch: n, inputChannels: 64, outputChannels: cout, inputSize: size,
                                     kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1])
        #expect(Convolution.winogradApplies(g))
        let parts = Convolution.ChannelParts([upsampled.data, skip.data], channels: [32, 32], voxels: voxels)
        let winograd = Convolution.forwardFolded(g, input: parts, weight: w.data, bias: nil, threads: 2)
        let joined = Convolution.concatenateChannels([upsampled.data, skip.data], channels: [32, 32], voxels: voxels,
                                                     batch: n)
        let reference = ReferenceOps.conv(joined, n: n, cin: 64, size: size, w.data, cout: cout, kernel: [3, 3, 3],
                                          bias: nil, stride: [1, 1, 1], padding: [1, 1, 1])
        let worst = zip(winograd, reference.values).map { abs(Double($0) - $1) }.max() ?? .infinity
        #expect(worst <= 1e-4, "largest difference \(worst)")
        // 7 deep takes F(4, 3) along z (about 3 times F(2, 3)'s rounding error: 8e-6 against 2.5e-6 here, of values
        // up to 5.8); F(2, 3) alone stays as close as the direct path.
        #expect(Convolution.winogradDepthTile(g) == .four)
        let short = Convolution.$winogradLongDepthTiles.withValue(false) {
            Convolution.forwardFolded(g, input: parts, weight: w.data, bias: nil, threads: 2)
        }
        let worstShort = zip(short, reference.values).map { abs(Double($0) - $1) }.max() ?? .infinity
        #expect(worstShort <= 1e-5, "largest difference \(worstShort)")
    }
}
