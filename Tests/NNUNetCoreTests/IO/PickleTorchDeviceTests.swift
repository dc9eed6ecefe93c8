import Foundation
import NNUNetCore
import Testing

/// nnU-Net v2 checkpoints store `torch.device` objects (`init_args.device`); the restricted reader keeps them as text.
@Suite("torch.device in pickles")
struct PickleTorchDeviceTests {
    /// `torch.device(arguments...)` pickled with protocol 2: GLOBAL, the arguments' tuple, REDUCE, STOP.
    static func pickle(_ arguments: [UInt8], tuple: UInt8) -> [UInt8] {
        [0x80, 0x02] + Array("ctorch\ndevice\n".utf8) + arguments + [tuple, 0x52, 0x2E]
    }

    static func text(_ value: String) -> [UInt8] { [0x58, UInt8(value.utf8.count), 0, 0, 0] + Array(value.utf8) }

    @Test("torch.device('cpu') and torch.device('cuda', 0) decode to 'cpu' and 'cuda:0'")
    func devices() throws {
        #expect(try PickleReader().decode(Self.pickle(Self.text("cpu"), tuple: 0x85)) == .string("cpu"))
        #expect(try PickleReader().decode(Self.pickle(Self.text("cuda") + [0x4B, 0], tuple: 0x86)) == .string("cuda:0"))
        #expect(PickleReader.allowedGlobals.contains("torch.device"))
    }
}
