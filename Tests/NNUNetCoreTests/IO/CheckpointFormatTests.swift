import Foundation
import Testing
@testable import NNUNetCore

@Suite("Checkpoint formats")
struct CheckpointFormatTests {
    static let modelFolder = TestSupport.reference.appendingPathComponent(
        "v1_model/results/nnUNet/3d_fullres/Task901_Spheres/nnUNetTrainerV2__nnUNetPlansv2.1/fold_0")

    @Test("nnU-Net v1's torch zip checkpoint: every state_dict tensor with the right shape and sum",
          TestSupport.requiresSharedData("reference/v1_model"))
    func torchCheckpoint() throws {
        let checkpoint = try TorchCheckpoint(contentsOf: Self.modelFolder
            .appendingPathComponent("model_final_checkpoint.model"))
        let summaryData = try Data(contentsOf: TestSupport.reference.appendingPathComponent(
            "v1_model/checkpoint_summary.json"))
        let summary = try #require(try JSONSerialization.jsonObject(with: summaryData) as? [String: Any])
        let expected = try #require(summary["state_dict"] as? [String: [String: Any]])
        let stateDict = checkpoint.stateDict
        #expect(stateDict.count == summary["n_state_dict_entries"] as? Int)
        #expect(checkpoint.root["epoch"]?.intValue == summary["epoch"] as? Int)
        var parameters = 0
        for (name, tensor) in stateDict {
            let want = try #require(expected[name], "\(name)")
            #expect(tensor.shape == want["shape"] as? [Int], "\(name)")
            let values = try checkpoint.values(of: tensor)
            parameters += values.count
            let sum = values.reduce(0.0) { $0 + Double($1) }
            let wantSum = try #require(want["sum"] as? Double)
            let scale = values.reduce(0.0) { $0 + abs(Double($1)) }
            #expect(abs(sum - wantSum) <= 1e-9 * max(scale, 1), "\(name): \(sum) vs \(wantSum)")
        }
        #expect(parameters == summary["n_parameters_in_state_dict"] as? Int)
    }

    @Test("a file that is not a checkpoint is an error naming it")
    func notACheckpoint() throws {
        // A genuine v1 pickle (not a torch zip).
        let url = TestSupport.fixtures.appendingPathComponent("Task004_Hippocampus/splits_final.pkl")
        do {
            _ = try TorchCheckpoint(contentsOf: url)
            Issue.record("no error")
        } catch let error as CoreError {
            #expect(error.description.contains(url.path))
        }
    }

    @Test("safetensors round trip, and a file Python's reader would accept")
    func safetensors() throws {
        let tensors: [(name: String, tensor: Safetensors.Tensor)] = [
            ("conv.weight", .init(shape: [2, 1, 3], values: [1, -2, 3.5, 0, .greatestFiniteMagnitude, -0.0])),
            ("norm.bias", .init(shape: [2], values: [0.25, -8])),
            ("empty", .init(shape: [0, 3], values: [])),
        ]
        let data = try Safetensors.encode(tensors, metadata: ["format": "pt", "epoch": "3"])
        let headerLength = Int(data.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        #expect((8 + headerLength) % 8 == 0)
        let header = try #require(try JSONSerialization.jsonObject(with: data[8..<(8 + headerLength)]) as? [String: Any])
        #expect((header["conv.weight"] as? [String: Any])?["dtype"] as? String == "F32")
        let (back, metadata) = try Safetensors.decode(data)
        #expect(back.map(\.name) == tensors.map(\.name))
        #expect(back.map(\.tensor) == tensors.map(\.tensor))
        #expect(metadata == ["format": "pt", "epoch": "3"])
        #expect(throws: CoreError.self) { try Safetensors.decode(data.prefix(40)) }
        #expect(throws: CoreError.self) { try Safetensors.decode(Data([255, 255, 255, 255, 0, 0, 0, 0, 1])) }
    }
}
