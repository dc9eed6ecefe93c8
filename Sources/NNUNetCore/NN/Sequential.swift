/// Children applied in order, registered as `0`, `1`, ... (PyTorch's `nn.Sequential` naming).
public final class Sequential: Module {
    public let layers: [Module]

    public init(_ layers: [Module]) {
        self.layers = layers
        super.init()
        for (index, layer) in layers.enumerated() { register(String(index), layer) }
    }

    override public func forward(_ x: Tensor) -> Tensor { layers.reduce(x) { $1($0) } }
}
