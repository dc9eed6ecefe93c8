/// Base class of network layers and networks: named parameters, named children and a forward pass.
///
/// Subclasses register what they own in their initialiser, in the order PyTorch's `state_dict()` would list it:
/// ```swift
/// final class Block: Module {
///     let conv: Conv
///     let norm: InstanceNorm
///     init(generator: inout SeededGenerator) {
///         conv = Conv(inputChannels: 1, outputChannels: 4, kernelSize: [3, 3, 3], padding: [1, 1, 1],
///                     generator: &generator)
///         norm = InstanceNorm(channels: 4)
///         super.init()
///         register("conv", conv)
///         register("instnorm", norm)
///     }
///     override func forward(_ x: Tensor) -> Tensor { leakyReLU(norm(conv(x))) }
/// }
/// ```
/// ``namedParameters()`` then yields `conv.weight`, `conv.bias`, `instnorm.weight`, `instnorm.bias`: the dotted
/// names of PyTorch, so that weights exported from nnU-Net load by name. Parameters are tensors with
/// `requiresGrad = true`; after `loss.backward()` their ``Tensor/grad`` holds the gradient.
open class Module {
    /// This module's own parameters in registration order.
    public private(set) var ownParameters: [(name: String, parameter: Tensor)] = []
    /// Direct children in registration order.
    public private(set) var children: [(name: String, module: Module)] = []
    /// Training or evaluation mode (set recursively by ``train(_:)``). nnU-Net's layers behave the same in both.
    public private(set) var isTraining = true

    /// Creates a module with no parameters and no children; subclasses register theirs after calling it.
    public init() {}

    /// Registers a parameter under `name` (marks it as requiring gradients) and returns it.
    @discardableResult
    public func register(parameter name: String, _ tensor: Tensor) -> Tensor {
        precondition(!ownParameters.contains { $0.name == name } && !children.contains { $0.name == name },
                     "Module.register: name '\(name)' is already used in \(type(of: self))")
        tensor.requiresGrad = true
        ownParameters.append((name, tensor))
        return tensor
    }

    /// Registers a child module under `name` and returns it.
    @discardableResult
    public func register<M: Module>(_ name: String, _ module: M) -> M {
        precondition(!ownParameters.contains { $0.name == name } && !children.contains { $0.name == name },
                     "Module.register: name '\(name)' is already used in \(type(of: self))")
        children.append((name, module))
        return module
    }

    /// All parameters with dotted names (`child.grandchild.weight`), own parameters first, then children in order.
    public func namedParameters() -> [(name: String, parameter: Tensor)] {
        var result = ownParameters
        for (childName, child) in children {
            result += child.namedParameters().map { ("\(childName).\($0.name)", $0.parameter) }
        }
        return result
    }

    /// All parameters in ``namedParameters()`` order (the order the optimizer and gradient clipping use).
    public func parameters() -> [Tensor] { namedParameters().map(\.parameter) }

    /// The parameter with this dotted name, or nil.
    public func parameter(named name: String) -> Tensor? {
        namedParameters().first { $0.name == name }?.parameter
    }

    /// Gradients by dotted name (parameters without a gradient are left out).
    public func namedGradients() -> [(name: String, gradient: Tensor)] {
        namedParameters().compactMap { entry in entry.parameter.grad.map { (entry.name, $0) } }
    }

    /// Number of scalar parameters.
    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.count } }

    /// Clears every parameter's gradient (PyTorch `zero_grad(set_to_none=True)`).
    public func zeroGradients() { for p in parameters() { p.grad = nil } }

    /// Switches this module and its children to training (`true`) or evaluation (`false`) mode.
    public func train(_ isTraining: Bool = true) {
        self.isTraining = isTraining
        for (_, child) in children { child.train(isTraining) }
    }

    /// Evaluation mode; see ``train(_:)``.
    public func eval() { train(false) }

    /// The forward pass. Subclasses with a single input override it; the base implementation is a caller bug.
    open func forward(_ x: Tensor) -> Tensor {
        preconditionFailure("\(type(of: self)) does not override Module.forward(_:)")
    }

    /// Calls ``forward(_:)``.
    public func callAsFunction(_ x: Tensor) -> Tensor { forward(x) }
}
