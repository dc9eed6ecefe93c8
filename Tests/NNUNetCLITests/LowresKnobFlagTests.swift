import ArgumentParser
import Foundation
import Testing
@testable import nnunet_cli

@Suite struct LowresKnobFlagTests {
    @Test("--how-much-of-a-patient-must-the-network-see-at-stage0: default 4, parsed, positive only")
    func flag() throws {
        let plain = try #require(try NNUNetCommand.parseAsRoot(["plan-and-preprocess", "-t", "4"])
            as? PlanAndPreprocessCommand)
        #expect(plain.howMuchOfAPatientMustTheNetworkSeeAtStage0 == 4)
        let lowered = try #require(try NNUNetCommand.parseAsRoot([
            "plan-and-preprocess", "-t", "4", "--how-much-of-a-patient-must-the-network-see-at-stage0", "0.5",
        ]) as? PlanAndPreprocessCommand)
        #expect(lowered.howMuchOfAPatientMustTheNetworkSeeAtStage0 == 0.5)
        #expect(throws: (any Error).self) {
            _ = try NNUNetCommand.parseAsRoot([
                "plan-and-preprocess", "-t", "4", "--how-much-of-a-patient-must-the-network-see-at-stage0", "0",
            ])
        }
    }
}
