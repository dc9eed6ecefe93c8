/// Children applied in order, registered as `0`, `1`, ... (PyTorch's `nn.Sequential` naming).
public final class Sequential: Module {
    /// The layers in application order (also registered as children `0`, `1`, ...).
    public let layers: [Module]

    /// Creates the container and registers each layer under its index.
    public init(_ layers: [Module]) {
        self.layers = layers
        super.init()
        for (index, layer) in layers.enumerated() { register(String(index), layer) }
    }

    override public func forward(_ x: Tensor) -> Tensor { layers.reduce(x) { $1($0) } }
}
