/// One recorded op of the autograd graph: its inputs and the rule that maps the output's gradient to the inputs'.
///
/// `backward` returns one gradient per input (nil where the input needs none); shapes equal the inputs' shapes.
/// Rules run with gradient recording switched off, so they may use tensor ops freely.
final class GradientNode {
    let name: String
    let inputs: [Tensor]
    let backward: (Tensor) -> [Tensor?]

    init(name: String, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}
