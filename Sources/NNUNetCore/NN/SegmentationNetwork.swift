/// What a trainer needs of a segmentation network beyond ``Module`` (train/eval mode, ``Module/parameters()``,
/// ``Module/namedParameters()``, `callAsFunction`): the logits of its deep-supervision outputs.
///
/// ``GenericUNet`` conforms. A trainer's `makeNetwork(generator:)` returns any conforming module, and the training and
/// validation steps use it through this protocol (no downcast). A network without deep supervision returns its one
/// output: `[forward(x)]`.
///
/// ```swift
/// final class TinyNet: Module, SegmentationNetwork {
///     func forwardDeepSupervision(_ x: Tensor, outputs: Int?) -> [Tensor] { [forward(x)] }
/// }
/// ```
public protocol SegmentationNetwork: Module {
    /// The logits of the first `outputs` deep-supervision outputs, highest resolution first, each `[N, K, (D,) H, W]`
    /// (K classes); nil asks for all of them. The first is the full-resolution output of ``Module/forward(_:)``.
    func forwardDeepSupervision(_ x: Tensor, outputs: Int?) -> [Tensor]
}

extension GenericUNet: SegmentationNetwork {}
