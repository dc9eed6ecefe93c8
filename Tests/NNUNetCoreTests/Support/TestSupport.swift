import Foundation
import NNUNetTestSupport
import Testing
import NNUNetCore

/// Locations and scratch folders shared by the Core tests.
enum TestSupport {
    static let repositoryRoot = OptionalTestData.repositoryRoot
    static let fixtures = OptionalTestData.fixtures
    static let sharedDataLocation = OptionalTestData.sharedDataLocation
    static let sharedData = OptionalTestData.sharedData
    static let reference = OptionalTestData.reference

    static func hasSharedData(_ path: String) -> Bool { OptionalTestData.hasSharedData(path) }

    static func requiresSharedData(_ paths: String..., sourceLocation: SourceLocation = #_sourceLocation)
        -> ConditionTrait {
        OptionalTestData.requiresSharedData(paths, sourceLocation: sourceLocation)
    }

    static let hippocampus = sharedDataLocation.appendingPathComponent("data/msd_hippocampus")

    /// nnU-Net v1's U-Net parity files of `variant`: 2d is in the repository, 3d (5.7 MB) in the optional data.
    static func unetParityFolder(_ variant: String) -> URL {
        variant == "2d" ? fixtures.appendingPathComponent("unet_parity/2d")
            : reference.appendingPathComponent("unet_parity/\(variant)")
    }

    /// A fresh, empty folder that is removed when `body` returns.
    static func withTemporaryFolder<T>(_ body: (URL) throws -> T) throws -> T {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("nnunet-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url)
    }

    /// Every file below `folder` with its size and modification date: used to prove nothing was written.
    static func snapshot(_ folder: URL) -> [String: String] {
        var result: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)
        while let url = enumerator?.nextObject() as? URL {
            let attributes = (try? FileManager.default.attributesOfItem(atPath: url.path)) ?? [:]
            let size = (attributes[.size] as? NSNumber)?.intValue ?? -1
            let date = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            result[url.path] = "\(size)@\(date)"
        }
        return result
    }

    /// A small generated task for tests (fast: 4 training cases, 1 test case, 16x20x18 voxels).
    static func makeSmallTask(in rawData: URL, modalities: [String] = ["MRI"], seed: UInt64 = 7,
                              oblique: Bool = false) throws -> URL {
        var configuration = SyntheticTaskConfiguration()
        configuration.taskID = 600
        configuration.name = "Tiny"
        configuration.trainingCases = 4
        configuration.testCases = 1
        configuration.shape = [16, 20, 18]
        configuration.modalities = modalities
        configuration.seed = seed
        configuration.obliqueGeometry = oblique
        return try SyntheticTaskGenerator.generate(configuration, rawDataFolder: rawData, threads: 2)
    }
}
