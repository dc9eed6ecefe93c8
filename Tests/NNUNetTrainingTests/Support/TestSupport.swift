import Foundation
import ZIPFoundation

/// Locations and scratch folders shared by the Training tests.
enum TestSupport {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let shared = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
    static let reference = shared.appendingPathComponent("reference")

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
