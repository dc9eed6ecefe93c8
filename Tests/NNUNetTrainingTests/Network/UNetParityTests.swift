import Foundation
import NNUNetCore
import Testing
@testable import NNUNetTraining

/// unet_parity: nnU-Net v1's Generic_UNet, loss, gradients and SGD steps on fixed weights (2d in `Tests/Fixtures`;
/// 3d in `reference/` of the optional test data, see ``TestSupport/sharedData``).
@Suite("Generic U-Net parity with nnU-Net v1")
struct UNetParityTests {
    struct Variant: Sendable, CustomStringConvertible {
        var name: String
        var description: String { name }
    }

    static func folder(_ variant: String) -> URL {
        TestSupport.unetParityFolder(variant)
    }

    static func index(_ variant: String) throws -> [String: Any] {
        let data = try Data(contentsOf: folder(variant).appendingPathComponent("index.json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    static func npy(_ variant: String, _ name: String) throws -> (shape: [Int], values: [Float]) {
        try TestSupport.readNPY(folder(variant).appendingPathComponent(name))
    }

    /// Builds the network of a variant and loads v1's initial parameters by name.
    static func makeNetwork(_ variant: String) throws -> (GenericUNet, [String: Any]) {
        let index = try index(variant)
        let config = try #require(index["config"] as? [String: Any])
        var generator = SeededGenerator(seed: 0)
        let network = GenericUNet(
            inputChannels: (config["input_shape"] as? [Int])?[1] ?? 1,
            baseFeatures: config["base_num_features"] as? Int ?? 0,
            classCount: config["num_classes"] as? Int ?? 0,
            poolKernels: config["pool_op_kernel_sizes"] as? [[Int]] ?? [],
            convKernels: config["conv_kernel_sizes"] as? [[Int]] ?? [],
            maxFeatures: config["max_num_features"] as? Int, generator: &generator)
        let table = try #require(index["parameters"] as? [[String: Any]])
        let flat = try npy(variant, "params_init.npy").values
        let named = network.namedParameters()
        #expect(named.map(\.name) == table.compactMap { $0["name"] as? String }, "parameter names and order")
        for (entry, (_, parameter)) in zip(table, named) {
            #expect(parameter.shape == entry["shape"] as? [Int])
            let offset = entry["offset"] as? Int ?? 0, count = entry["numel"] as? Int ?? 0
            parameter.assign(Array(flat[offset..<(offset + count)]))
        }
        return (network, index)
    }

    static func close(_ a: [Float], _ b: [Float], rtol: Float, atol: Float) -> (Bool, Float) {
        var worst: Float = 0
        var ok = a.count == b.count
        for (x, y) in zip(a, b) {
            let excess = abs(x - y) - (atol + rtol * abs(y))
            if excess > 0 { ok = false }
            worst = max(worst, abs(x - y))
        }
        return (ok, worst)
    }

    @Test("forward outputs, targets, loss, gradients and two SGD steps match (2d)")
    func parity2D() throws { try parity(variant: "2d") }

    @Test("forward outputs, targets, loss, gradients and two SGD steps match (3d)",
          TestSupport.requiresSharedData("reference/unet_parity/3d"))
    func parity3D() throws { try parity(variant: "3d") }

    func parity(variant: String) throws {
        let (network, index) = try Self.makeNetwork(variant)
        let config = try #require(index["config"] as? [String: Any])
        let pools = try #require(config["pool_op_kernel_sizes"] as? [[Int]])
        let input = try Self.npy(variant, "input.npy")
        let target = try Self.npy(variant, "target.npy")
        let x = Tensor(shape: input.shape, data: input.values)
        let y = Tensor(shape: target.shape, data: target.values)

        // Targets per output: exact.
        let targets = DeepSupervisionTargets.make(y, poolKernels: pools)
        let ds = try #require(index["deep_supervision"] as? [String: Any])
        let outputs = try #require(ds["outputs"] as? [[String: Any]])
        #expect(targets.count == outputs.count)
        for (k, t) in targets.enumerated() {
            let golden = try Self.npy(variant, "target_ds\(k).npy")
            #expect(t.shape == golden.shape && t.data == golden.values, "target \(k)")
        }
        let weights = DeepSupervisionLoss.weights(outputCount: outputs.count)
        let goldenWeights = try #require(ds["loss_weights"] as? [Double])
        #expect(zip(weights, goldenWeights).allSatisfy { abs(Double($0) - $1) < 1e-7 })

        let loss = DeepSupervisionLoss(DiceCrossEntropyLoss(batchDice: false), weights: weights)
        let optimizer = SGD(parameters: network.parameters(), learningRate: 0.01, momentum: 0.99, weightDecay: 3e-5,
                            nesterov: true)
        let lossValues = try #require(index["loss"] as? [String: Any])
        let zeroGradientBiases = Set(index["conv_biases_have_zero_true_gradient"] as? [String] ?? [])
        let table = try #require(index["parameters"] as? [[String: Any]])

        for step in 1...2 {
            network.zeroGradients()
            let logits = network.forwardDeepSupervision(x)
            if step == 1 {
                // All heads are computed in the forward pass, even the one whose loss weight is 0.
                #expect(logits.count == outputs.count)
                for (k, output) in logits.enumerated() {
                    let golden = try Self.npy(variant, "output_ds\(k).npy")
                    #expect(output.shape == golden.shape)
                    let (ok, worst) = Self.close(output.data, golden.values, rtol: 1e-4, atol: 1e-4)
                    #expect(ok, "output \(k): max abs difference \(worst)")
                }
            }
            let value = loss(outputs: logits, targets: targets)
            let expectedLoss = try #require(lossValues["step\(step)"] as? Double)
            #expect(abs(Double(value.item) - expectedLoss) <= 1e-5, "loss step \(step): \(value.item) vs \(expectedLoss)")
            value.backward()

            let goldenGradients = try Self.npy(variant, step == 1 ? "grads.npy" : "grads_step2.npy").values
            for (entry, (name, parameter)) in zip(table, network.namedParameters()) {
                let offset = entry["offset"] as? Int ?? 0, count = entry["numel"] as? Int ?? 0
                if entry["grad_is_none"] as? Bool == true {
                    #expect(parameter.grad == nil, "\(name) should get no gradient")
                    continue
                }
                guard let gradient = parameter.grad else {
                    Issue.record("\(name) has no gradient")
                    continue
                }
                let golden = Array(goldenGradients[offset..<(offset + count)])
                let (ok, worst) = zeroGradientBiases.contains(name)
                    ? Self.close(gradient.data, golden, rtol: 0, atol: 1e-6)
                    : Self.close(gradient.data, golden, rtol: 1e-3, atol: 1e-5)
                #expect(ok, "gradient of \(name), step \(step): max abs difference \(worst)")
            }
            let norm = clipGradientNorm(network.parameters().filter { $0.grad != nil }, maxNorm: 12)
            let clipping = try #require(index["gradient_clipping"] as? [String: Any])
            let expectedNorm = try #require(clipping["total_norm_step\(step)"] as? Double)
            #expect(abs(Double(norm) - expectedNorm) <= 1e-5 * expectedNorm)
            optimizer.step()

            let goldenParameters = try Self.npy(variant, "params_after_step\(step).npy").values
            let current = network.parameters().flatMap(\.data)
            let (ok, worst) = Self.close(current, goldenParameters, rtol: 0, atol: 1e-6)
            #expect(ok, "parameters after step \(step): max abs difference \(worst)")
        }
    }

    @Test("the clipping branch scales gradients as clip_grad_norm_ (max norm 0.1) (2d)")
    func clipping2D() throws { try clipping(variant: "2d") }

    @Test("the clipping branch scales gradients as clip_grad_norm_ (max norm 0.1) (3d)",
          TestSupport.requiresSharedData("reference/unet_parity/3d"))
    func clipping3D() throws { try clipping(variant: "3d") }

    func clipping(variant: String) throws {
        let (network, index) = try Self.makeNetwork(variant)
        let config = try #require(index["config"] as? [String: Any])
        let pools = try #require(config["pool_op_kernel_sizes"] as? [[Int]])
        let input = try Self.npy(variant, "input.npy"), target = try Self.npy(variant, "target.npy")
        let targets = DeepSupervisionTargets.make(Tensor(shape: target.shape, data: target.values), poolKernels: pools)
        let loss = DeepSupervisionLoss(DiceCrossEntropyLoss(batchDice: false),
                                       weights: DeepSupervisionLoss.weights(outputCount: targets.count))
        loss(outputs: network.forwardDeepSupervision(Tensor(shape: input.shape, data: input.values)),
             targets: targets).backward()
        _ = clipGradientNorm(network.parameters().filter { $0.grad != nil }, maxNorm: 0.1)
        SGD(parameters: network.parameters(), learningRate: 0.01).step()
        let golden = try Self.npy(variant, "params_after_step1_clip_check.npy").values
        let (ok, worst) = Self.close(network.parameters().flatMap(\.data), golden, rtol: 0, atol: 1e-6)
        #expect(ok, "max abs difference \(worst)")
    }
}
