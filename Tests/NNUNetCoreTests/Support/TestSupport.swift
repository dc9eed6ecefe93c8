import Foundation
import NNUNetCore

/// Locations and scratch folders shared by the Core tests.
enum TestSupport {
    /// The repository root (three levels above this file).
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared` next to the checkout: real data and nnU-Net v1's golden outputs.
    static let shared = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")

    static let hippocampus = shared.appendingPathComponent("data/msd_hippocampus")
    static let reference = shared.appendingPathComponent("reference")

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
