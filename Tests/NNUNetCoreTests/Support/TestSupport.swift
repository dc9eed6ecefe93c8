import Foundation
import Testing
import NNUNetCore

/// Locations and scratch folders shared by the Core tests.
enum TestSupport {
    /// The repository root (three levels above this file).
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `Tests/Fixtures`: the small golden files of nnU-Net v1 copied into the repository (see its README.md).
    static let fixtures = repositoryRoot.appendingPathComponent("Tests/Fixtures")

    /// Where the optional large test data is looked for: the folder named by `NNUNET_TEST_DATA`, else `../shared`
    /// next to the checkout. It is laid out like the project's `shared/` folder: `reference/` (nnU-Net v1's full golden
    /// outputs) and `data/` (real cases).
    static let sharedDataLocation: URL = {
        if let path = ProcessInfo.processInfo.environment["NNUNET_TEST_DATA"], !path.isEmpty {
            return URL(fileURLWithPath: path, isDirectory: true)
        }
        return repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared", isDirectory: true)
    }()

    /// The optional large test data, or nil when it is absent (tests that need it are then skipped, with the reason).
    static let sharedData: URL? =
        FileManager.default.fileExists(atPath: sharedDataLocation.path) ? sharedDataLocation : nil

    /// Whether `path` of the optional data (e.g. `reference/v1_model`) exists.
    static func hasSharedData(_ path: String) -> Bool {
        guard let root = sharedData else { return false }
        return FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path)
    }

    /// `.enabled(if:)` for a test or suite that reads `paths` of the optional data: skipped, saying what is missing
    /// and how to provide it, when they are absent.
    static func requiresSharedData(_ paths: String...,
                                   sourceLocation: SourceLocation = #_sourceLocation) -> ConditionTrait {
        let missing = paths.filter { !hasSharedData($0) }
        let reason = "needs the optional test data \(missing.joined(separator: ", ")) (nnU-Net v1's large golden "
            + "outputs and real cases, not in the repository); looked for it in \(sharedDataLocation.path). Provide it "
            + "as ../shared next to the checkout, or set NNUNET_TEST_DATA to a folder holding reference/ and data/"
        return .enabled(if: missing.isEmpty, Comment(rawValue: reason), sourceLocation: sourceLocation)
    }

    /// `reference/` and the MSD Hippocampus cases of the optional data (tests that read them require them).
    static let reference = sharedDataLocation.appendingPathComponent("reference")
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
