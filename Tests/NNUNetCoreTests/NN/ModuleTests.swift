@testable import NNUNetCore
import Testing

/// nnU-Net's `ConvDropoutNormNonlin`, as a user of ``Module`` writes it.
private final class Block: Module {
    let conv: Conv
    let norm: InstanceNorm
    let nonlinearity = LeakyReLU()

    init(inputChannels: Int, outputChannels: Int, kernel: [Int], stride: [Int], generator: inout SeededGenerator) {
        conv = Conv(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernel, stride: stride,
                    padding: kernel.map { $0 / 2 }, generator: &generator)
        norm = InstanceNorm(channels: outputChannels)
        super.init()
        register("conv", conv)
        register("instnorm", norm)
    }

    override func forward(_ x: Tensor) -> Tensor { nonlinearity(norm(conv(x))) }
}

@Suite("Module: named parameters, gradients, layers")
struct ModuleTests {
    @Test("parameters and gradients are reachable by dotted name, in registration order")
    func names() {
        var generator = SeededGenerator(seed: 1)
        let net = Sequential([
            Block(inputChannels: 1, outputChannels: 4, kernel: [1, 3, 3], stride: [1, 2, 2], generator: &generator),
            ConvTranspose(inputChannels: 4, outputChannels: 2, kernelSize: [1, 2, 2], stride: [1, 2, 2],
                          generator: &generator),
        ])
        #expect(net.namedParameters().map(\.name) == [
            "0.conv.weight", "0.conv.bias", "0.instnorm.weight", "0.instnorm.bias", "1.weight",
        ])
        #expect(net.parameterCount == 4 * 9 + 4 + 4 + 4 + 4 * 2 * 4)
        let x = randomTensor([2, 1, 3, 6, 8], seed: 2)
        let y = net(x)
        #expect(y.shape == [2, 2, 3, 6, 8])
        y.squared().mean().backward()
        #expect(net.namedGradients().map(\.name) == net.namedParameters().map(\.name))
        #expect(net.parameter(named: "0.conv.weight")?.grad?.shape == [4, 1, 1, 3, 3])
        net.zeroGradients()
        #expect(net.namedGradients().isEmpty)
        let inference = withoutGradients { net(x) }
        #expect(inference.data == y.data && !inference.requiresGrad)
        net.eval()
        #expect(!(net.layers[0].isTraining))
    }

    @Test("a layer's gradients pass the finite-difference check end to end")
    func blockGradient() {
        var generator = SeededGenerator(seed: 5)
        let block = Block(inputChannels: 2, outputChannels: 3, kernel: [3, 3], stride: [2, 2], generator: &generator)
        let x = randomTensor([2, 2, 7, 6], seed: 6)
        checkGradients([x, block.conv.weight, block.norm.weight]) { t in block(t[0]) }
    }
}
