import Foundation
@testable import NNUNetCore
import Testing

/// The ops the U-Net needs, against nnU-Net v1's own activations in `unet_parity` (2d: `Tests/Fixtures/unet_parity`;
/// 3d: `reference/unet_parity` of the optional test data, see ``TestSupport/sharedData``).
///
/// Each block is recomputed from the stored activation that feeds it (so an error cannot hide behind another),
/// following the README's forward rules: conv(+bias) → InstanceNorm(eps 1e-5) → LeakyReLU(0.01); encoder stage d
/// uses kernel `conv[d]` and stride `pool[d-1]` in its first block; decoder stage u uses `tu.u` (kernel = stride
/// = `pool[P-1-u]`), concatenates [upsampled, skip] and uses kernel `conv[P-u]`; heads are 1×1 convs without bias.
/// Tolerance: the README's `allclose(rtol=1e-4, atol=1e-4)`.
@Suite("U-Net ops against nnU-Net v1 activations (unet_parity)")
struct UNetParityOpsTests {
    struct Fixture {
        let folder: URL
        let pool: [[Int]]
        let kernels: [[Int]]
        let parameters: [String: Tensor]

        init(variant: String) throws {
            folder = TestSupport.unetParityFolder(variant)
            let index = try JSONSerialization.jsonObject(
                with: Data(contentsOf: folder.appendingPathComponent("index.json"))) as? [String: Any] ?? [:]
            let config = index["config"] as? [String: Any] ?? [:]
            pool = config["pool_op_kernel_sizes"] as? [[Int]] ?? []
            kernels = config["conv_kernel_sizes"] as? [[Int]] ?? []
            let flat = try TestNPY.read(folder.appendingPathComponent("params_init.npy")).values
            var parameters: [String: Tensor] = [:]
            for entry in index["parameters"] as? [[String: Any]] ?? [] {
                guard let name = entry["name"] as? String, let shape = entry["shape"] as? [Int],
                      let offset = entry["offset"] as? Int, let count = entry["numel"] as? Int else { continue }
                parameters[name] = Tensor(shape: shape, data: Array(flat[offset..<(offset + count)]))
            }
            self.parameters = parameters
        }

        func tensor(_ relativePath: String) throws -> Tensor {
            let array = try TestNPY.read(folder.appendingPathComponent(relativePath))
            return Tensor(shape: array.shape, data: array.values)
        }

        func activation(_ name: String) throws -> Tensor { try tensor("activations/\(name).npy") }

        func parameter(_ name: String) throws -> Tensor {
            guard let p = parameters[name] else { throw TestNPY.Failure.malformed("no parameter \(name)") }
            return p
        }

        /// conv → instnorm → lrelu of block `prefix`, with the intermediate results.
        func block(_ prefix: String, input: Tensor, kernel: [Int], stride: [Int]) throws
            -> (conv: Tensor, norm: Tensor, output: Tensor) {
            let padding = kernel.map { $0 == 3 ? 1 : 0 }
            let c = conv(input, weight: try parameter("\(prefix).conv.weight"), bias: try parameter("\(prefix).conv.bias"),
                         stride: stride, padding: padding, threads: 2)
            let n = instanceNorm(c, weight: try parameter("\(prefix).instnorm.weight"),
                                 bias: try parameter("\(prefix).instnorm.bias"))
            return (c, n, leakyReLU(n))
        }

        /// Compares a block with every stored stage of it.
        func check(_ prefix: String, input: Tensor, kernel: [Int], stride: [Int],
                   sourceLocation: SourceLocation = #_sourceLocation) throws {
            let result = try block(prefix, input: input, kernel: kernel, stride: stride)
            let stages: [(String, Tensor)] = [(".conv", result.conv), (".instnorm", result.norm), ("", result.output)]
            for (suffix, value) in stages {
                let path = folder.appendingPathComponent("activations/\(prefix)\(suffix).npy")
                guard FileManager.default.fileExists(atPath: path.path) else { continue }
                let expected = try activation(prefix + suffix)
                #expect(value.shape == expected.shape, "\(prefix)\(suffix)", sourceLocation: sourceLocation)
                let problem = mismatch(value.data, expected.data, relative: 1e-4, absolute: 1e-4)
                #expect(problem == nil, "\(prefix)\(suffix): \(problem ?? "")", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("every encoder, bottleneck and decoder block, transposed conv and head (2d)")
    func blocks2D() throws { try blocks("2d") }

    @Test("every encoder, bottleneck and decoder block, transposed conv and head (3d)",
          TestSupport.requiresSharedData("reference/unet_parity/3d"))
    func blocks3D() throws { try blocks("3d") }

    func blocks(_ variant: String) throws {
        let f = try Fixture(variant: variant)
        let p = f.pool.count
        #expect(p > 0 && f.kernels.count == p + 1)
        let ones = [Int](repeating: 1, count: f.kernels[0].count)
        // Encoder.
        var input = try f.tensor("input.npy")
        for d in 0..<p {
            try f.check("conv_blocks_context.\(d).blocks.0", input: input, kernel: f.kernels[d],
                        stride: d == 0 ? ones : f.pool[d - 1])
            try f.check("conv_blocks_context.\(d).blocks.1", input: try f.activation("conv_blocks_context.\(d).blocks.0"),
                        kernel: f.kernels[d], stride: ones)
            input = try f.activation("conv_blocks_context.\(d).blocks.1")
        }
        // Bottleneck.
        try f.check("conv_blocks_context.\(p).0.blocks.0", input: input, kernel: f.kernels[p], stride: f.pool[p - 1])
        try f.check("conv_blocks_context.\(p).1.blocks.0", input: try f.activation("conv_blocks_context.\(p).0.blocks.0"),
                    kernel: f.kernels[p], stride: ones)
        // Decoder.
        var current = try f.activation("conv_blocks_context.\(p).1.blocks.0")
        for u in 0..<p {
            let s = p - 1 - u
            let up = convTranspose(current, weight: try f.parameter("tu.\(u).weight"), stride: f.pool[s], threads: 2)
            let expectedUp = try f.activation("tu.\(u)")
            #expect(mismatch(up.data, expectedUp.data, relative: 1e-4, absolute: 1e-4) == nil, "tu.\(u)")
            let skip = try f.activation("conv_blocks_context.\(s).blocks.1")
            let joined = concat([expectedUp, skip], axis: 1)
            try f.check("conv_blocks_localization.\(u).0.blocks.0", input: joined, kernel: f.kernels[p - u], stride: ones)
            try f.check("conv_blocks_localization.\(u).1.blocks.0",
                        input: try f.activation("conv_blocks_localization.\(u).0.blocks.0"), kernel: f.kernels[p - u],
                        stride: ones)
            current = try f.activation("conv_blocks_localization.\(u).1.blocks.0")
        }
        // Deep-supervision heads: output_ds k = seg_outputs[P-1-k] of decoder stage P-1-k.
        for k in 0..<p {
            let u = p - 1 - k
            let features = try f.activation("conv_blocks_localization.\(u).1.blocks.0")
            let logits = conv(features, weight: try f.parameter("seg_outputs.\(u).weight"), bias: nil, threads: 2)
            let expected = try f.tensor("output_ds\(k).npy")
            #expect(logits.shape == expected.shape)
            #expect(mismatch(logits.data, expected.data, relative: 1e-4, absolute: 1e-4) == nil, "output_ds\(k)")
        }
    }
}
