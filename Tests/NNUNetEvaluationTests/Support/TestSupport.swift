import Foundation
import NNUNetTestSupport
import Testing
import NNUNetCore

/// Locations and scratch folders shared by the Evaluation tests.
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

    /// A fresh, empty folder that is removed when `body` returns.
    static func withTemporaryFolder<T>(_ body: (URL) throws -> T) throws -> T {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("nnunet-eval-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url)
    }

    /// Copies every file of `source` into a new folder `destination`.
    static func copyFolder(_ source: URL, to destination: URL) throws {
        try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name),
                                             to: destination.appendingPathComponent(name))
        }
    }

    /// Relative closeness with NaN equal to NaN (swift-numerics `isApproximatelyEqual` semantics plus NaN).
    static func isClose(_ a: Double, _ b: Double, relative: Double = 1e-9, absolute: Double = 0) -> Bool {
        if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
        if a == b { return true }
        return abs(a - b) <= max(absolute, relative * max(abs(a), abs(b)))
    }

    /// Writes a label map (uint8) with the given spacing (z, y, x).
    static func writeLabels(_ labels: [Float], shape: [Int], spacing: [Double] = [1, 1, 1], to url: URL,
                            dataType: NIfTIDataType = .uint8) throws {
        try NIfTI.write(Volume(data: labels, shape: shape, geometry: ImageGeometry(spacing: spacing)), to: url,
                        dataType: dataType)
    }
}
