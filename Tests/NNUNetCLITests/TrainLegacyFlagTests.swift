import ArgumentParser
import Testing
@testable import nnunet_cli

@Suite("nnunet train: v1 flags that change nothing say so")
struct TrainLegacyFlagTests {
    @Test("--fp32 and --deterministic are accepted and each gets one line; without them, none")
    func notes() throws {
        let given = try #require(try NNUNetCommand.parseAsRoot([
            "train", "3d_fullres", "nnUNetTrainerV2", "4", "0", "--fp32", "--deterministic",
        ]) as? TrainCommand)
        #expect(given.legacyFlagNotes.count == 2)
        #expect(given.legacyFlagNotes[0] == "--fp32: training is always float32 here; the flag changes nothing.")
        #expect(given.legacyFlagNotes[1].hasPrefix("--deterministic: training is always bit-reproducible here"))
        let plain = try #require(try NNUNetCommand.parseAsRoot(["train", "3d_fullres", "nnUNetTrainerV2", "4", "0"])
            as? TrainCommand)
        #expect(plain.legacyFlagNotes.isEmpty)
    }
}
