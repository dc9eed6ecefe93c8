import Foundation
import Testing
import ZIPFoundation

/// Locations and scratch folders shared by the Training tests.
enum TestSupport {
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

    /// `reference/` of the optional data (tests that read it require it).
    static let reference = sharedDataLocation.appendingPathComponent("reference")

    /// nnU-Net v1's U-Net parity files of `variant`: 2d is in the repository, 3d (5.7 MB) in the optional data.
    static func unetParityFolder(_ variant: String) -> URL {
        variant == "2d" ? fixtures.appendingPathComponent("unet_parity/2d")
            : reference.appendingPathComponent("unet_parity/\(variant)")
    }

    static func withTemporaryFolder<T>(_ body: (URL) throws -> T) throws -> T {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("nnunet-training-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url)
    }

    /// Reads a little-endian C-order `.npy` of float32 or uint8 values as Float (test helper for golden files).
    static func readNPY(_ url: URL) throws -> (shape: [Int], values: [Float]) {
        try parseNPY(try Data(contentsOf: url))
    }

    /// Reads member `name` of an `.npz` (zip of .npy files).
    static func readNPZ(_ url: URL, member name: String) throws -> (shape: [Int], values: [Float]) {
        let archive = try Archive(url: url, accessMode: .read)
        guard let entry = archive[name] else { throw CocoaError(.fileNoSuchFile) }
        var data = Data()
        _ = try archive.extract(entry) { data.append($0) }
        return try parseNPY(data)
    }

    static func parseNPY(_ data: Data) throws -> (shape: [Int], values: [Float]) {
        let data = Data(data)
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        let header = String(decoding: data[10..<(10 + headerLength)], as: UTF8.self)
        let shapeText = header.components(separatedBy: "'shape': (")[1].components(separatedBy: ")")[0]
        let shape = shapeText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let body = data[(10 + headerLength)...]
        let count = shape.reduce(1, *)
        if header.contains("'<f4'") {
            return (shape, body.withUnsafeBytes { raw in
                (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            })
        }
        if header.contains("'|u1'") { return (shape, body.prefix(count).map { Float($0) }) }
        throw CocoaError(.fileReadCorruptFile)
    }
}
