import Foundation
import NNUNetTestSupport
import Testing
import ZIPFoundation

/// Locations and scratch folders shared by the Training tests.
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
