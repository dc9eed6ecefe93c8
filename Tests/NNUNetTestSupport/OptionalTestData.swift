import Foundation
import Testing

/// Where every test target finds its data: the small golden files in the repository (`Tests/Fixtures`) and the
/// optional large data (nnU-Net v1's full reference outputs and real cases), which suites that need it look for and,
/// when it is absent, are skipped with a reason saying how to provide it.
public enum OptionalTestData {
    /// The repository root (two levels above this file's folder).
    public static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `Tests/Fixtures`: the small golden files of nnU-Net v1 copied into the repository (see its README.md).
    public static let fixtures = repositoryRoot.appendingPathComponent("Tests/Fixtures")

    /// Where the optional large test data is looked for: the folder named by `NNUNET_TEST_DATA`, else `../shared`
    /// next to the checkout. It is laid out like the project's `shared/` folder: `reference/` (nnU-Net's full golden
    /// outputs) and `data/` (real cases).
    public static let sharedDataLocation: URL = {
        if let path = ProcessInfo.processInfo.environment["NNUNET_TEST_DATA"], !path.isEmpty {
            return URL(fileURLWithPath: path, isDirectory: true)
        }
        return repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared", isDirectory: true)
    }()

    /// The optional large test data, or nil when it is absent (tests that need it are then skipped, with the reason).
    public static let sharedData: URL? =
        FileManager.default.fileExists(atPath: sharedDataLocation.path) ? sharedDataLocation : nil

    /// `reference/` of the optional data (tests that read it require it).
    public static let reference = sharedDataLocation.appendingPathComponent("reference")

    /// Whether `path` of the optional data (e.g. `reference/v1_model`) exists.
    public static func hasSharedData(_ path: String) -> Bool {
        guard let root = sharedData else { return false }
        return FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path)
    }

    /// `.enabled(if:)` for a test or suite that reads `paths` of the optional data: skipped, saying what is missing
    /// and how to provide it, when they are absent.
    public static func requiresSharedData(_ paths: [String], sourceLocation: SourceLocation) -> ConditionTrait {
        let missing = paths.filter { !hasSharedData($0) }
        let reason = "needs the optional test data \(missing.joined(separator: ", ")) (nnU-Net's large golden "
            + "outputs and real cases, not in the repository); looked for it in \(sharedDataLocation.path). Provide it "
            + "as ../shared next to the checkout, or set NNUNET_TEST_DATA to a folder holding reference/ and data/"
        return .enabled(if: missing.isEmpty, Comment(rawValue: reason), sourceLocation: sourceLocation)
    }
}
