import Foundation
import NNUNetCore
import Testing
@testable import NNUNetTraining

/// `reference/v1_model` of the optional test data (22 MB): a genuine nnU-Net v1 model, its preprocessed input of
/// spheres_ts002 and the float32 softmax v1 predicted from it, with and without mirroring.
@Suite("Sliding-window prediction with a v1 model", TestSupport.requiresSharedData("reference/v1_model"))
struct V1ModelInferenceTests {
    static let root = TestSupport.reference.appendingPathComponent("v1_model")

    /// The v1 network with its trained weights, loaded by state_dict name.
    static func loadNetwork() throws -> GenericUNet {
        let checkpoint = try TorchCheckpoint(contentsOf: root.appendingPathComponent(
            "results/nnUNet/3d_fullres/Task901_Spheres/nnUNetTrainerV2__nnUNetPlansv2.1/fold_0/model_final_checkpoint.model"))
        var generator = SeededGenerator(seed: 0)
        let network = GenericUNet(inputChannels: 1, baseFeatures: 8, classCount: 3,
                                  poolKernels: Array(repeating: [2, 2, 2], count: 4),
                                  convKernels: Array(repeating: [3, 3, 3], count: 5), generator: &generator)
        let weights = Dictionary(uniqueKeysWithValues: checkpoint.stateDict.map { ($0.name, $0.tensor) })
        for (name, parameter) in network.namedParameters() {
            let tensor = try #require(weights[name], "\(name) missing from the checkpoint")
            #expect(tensor.shape == parameter.shape, "\(name)")
            parameter.assign(try checkpoint.values(of: tensor))
        }
        return network
    }

    @Test("softmax equals v1's within 1e-4", arguments: [false, true])
    func softmax(mirroring: Bool) throws {
        try compareSoftmax(mirroring: mirroring, slabDepth: nil)
    }

    @Test("low-memory forward (full-resolution stage in slabs): softmax equals v1's within 1e-4", arguments: [5, 8])
    func softmaxInSlabs(slabDepth: Int) throws {
        try compareSoftmax(mirroring: false, slabDepth: slabDepth)
    }

    func compareSoftmax(mirroring: Bool, slabDepth: Int?) throws {
        let network = try Self.loadNetwork()
        let input = try TestSupport.readNPZ(Self.root.appendingPathComponent("stages/spheres_ts002_preprocessed.npz"),
                                            member: "data.npy")
        let expected = try TestSupport.readNPZ(Self.root.appendingPathComponent(
            "stages/spheres_ts002_softmax_\(mirroring ? "tta" : "notta").npz"), member: "softmax.npy")
        var predictor = SlidingWindowPredictor(network: network, patchSize: [64, 64, 64], classCount: 3)
        predictor.usesMirroring = mirroring
        predictor.slabDepth = slabDepth
        let shape = Array(input.shape.dropFirst())
        let probabilities = predictor.predictProbabilities(input.values, channels: input.shape[0], shape: shape)
        #expect(expected.shape == [3] + shape)
        var worst: Float = 0
        for (a, b) in zip(probabilities, expected.values) { worst = max(worst, abs(a - b)) }
        #expect(worst <= 1e-4, "max abs difference \(worst)")
        // Segmentation in preprocessed space: argmax agrees except at near-ties.
        let volume = shape.reduce(1, *)
        var disagreements = 0
        for i in 0..<volume {
            func argmax(_ p: [Float]) -> Int { (0..<3).max { p[$0 * volume + i] < p[$1 * volume + i] } ?? 0 }
            if argmax(probabilities) != argmax(expected.values) { disagreements += 1 }
        }
        #expect(disagreements <= 2, "\(disagreements) voxels disagree")
    }
}
