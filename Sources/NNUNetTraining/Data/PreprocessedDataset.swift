import Foundation
import NNUNetCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One preprocessed case: `CASE.npy` (float32, (C + 1) × Z × Y × X: modalities, then the segmentation with −1
/// outside the nonzero mask) and `CASE.json` (properties, including `class_locations`).
public struct PreprocessedCase: Sendable {
    /// The case identifier (file name minus `.npy`).
    public let identifier: String
    /// The case's `CASE.npy`.
    public let arrayURL: URL
    /// (C + 1, Z, Y, X).
    public let shape: [Int]
    /// Byte offset of the voxels in the `.npy` file.
    let dataOffset: Int
    /// Stored foreground voxels per label, each (z, y, x) (v1 `class_locations`; a sample, not every voxel).
    public let classLocations: [Int: [[Int]]]

    /// Number of modalities (the array's channels minus the segmentation).
    public var modalityCount: Int { shape[0] - 1 }
    /// The spatial shape (Z, Y, X).
    public var spatialShape: [Int] { Array(shape[1...]) }
}

/// The preprocessed cases of one stage folder, read lazily: headers and properties at open, voxels memory-mapped
/// per access (no case is held in memory, as v1's `np.load(mmap_mode='r')`).
///
/// Headers are parsed by Core's `.npy` reader (versions 1 to 3; float32, C order required here).
public struct PreprocessedDataset: Sendable {
    /// The stage folder (`<data_identifier>_stage<i>`).
    public let folder: URL
    /// The opened cases, in identifier order or in the order of the listed identifiers.
    public let cases: [PreprocessedCase]
    /// The cascade: the 3d_lowres segmentations that ``PatchSampler`` adds as segmentation channel 1 (nil otherwise).
    public var previousStage: PreviousStageSegmentations?

    /// Opens every `CASE.npy` with a `CASE.json` next to it (or only the listed identifiers).
    ///
    /// - Throws: ``TrainingError/unreadableCase(identifier:path:reason:)`` for a malformed header or properties file,
    ///   ``TrainingError/emptyPreprocessedFolder(path:)`` when nothing is found.
    public init(folder: URL, caseIdentifiers: [String]? = nil) throws {
        self.folder = folder
        let identifiers: [String]
        if let caseIdentifiers {
            identifiers = caseIdentifiers
        } else {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            identifiers = names.filter { $0.hasSuffix(".npy") }.map { String($0.dropLast(4)) }
                .filter { names.contains($0 + ".json") }.sorted()
        }
        guard !identifiers.isEmpty else { throw TrainingError.emptyPreprocessedFolder(path: folder.path) }
        cases = try identifiers.map { try Self.openCase($0, in: folder) }
    }

    static func openCase(_ identifier: String, in folder: URL) throws -> PreprocessedCase {
        let arrayURL = folder.appendingPathComponent(identifier + ".npy")
        let jsonURL = folder.appendingPathComponent(identifier + ".json")
        func failure(_ path: URL, _ reason: String) -> TrainingError {
            .unreadableCase(identifier: identifier, path: path.path, reason: reason)
        }
        guard let handle = FileHandle(forReadingAtPath: arrayURL.path) else {
            throw failure(arrayURL, "the file cannot be opened")
        }
        defer { try? handle.close() }
        let prefix = (try? handle.read(upToCount: 65_536)) ?? Data()
        let header: (shape: [Int], dataType: NPYDataType, offset: Int)
        do {
            header = try prefix.withUnsafeBytes { try NPY.parseHeader($0, path: arrayURL.path) }
        } catch let error as CoreError {
            throw failure(arrayURL, "\(error)")
        }
        guard header.dataType == .float32 else {
            throw failure(arrayURL, "expected float32 data ('<f4'), found \(header.dataType.rawValue)")
        }
        guard header.offset % 4 == 0 else { throw failure(arrayURL, "data offset \(header.offset) is not 4-byte aligned") }
        guard header.shape.count == 4, header.shape[0] >= 2 else {
            throw failure(arrayURL, "expected shape (C + 1, Z, Y, X) with C ≥ 1, found \(header.shape)")
        }
        let fileSize = (try? handle.seekToEnd()).map { Int($0) } ?? 0
        guard fileSize >= header.offset + header.shape.reduce(1, *) * 4 else {
            throw failure(arrayURL, "the file holds \(fileSize) bytes, less than its header's shape \(header.shape) needs")
        }
        guard let json = try? Data(contentsOf: jsonURL),
              let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else {
            throw failure(jsonURL, "the properties file is missing or not a JSON object")
        }
        var locations: [Int: [[Int]]] = [:]
        if let stored = object["class_locations"] as? [String: Any] {
            for (key, value) in stored {
                guard let label = Int(key), let voxels = value as? [[Any]] else {
                    throw failure(jsonURL, "class_locations['\(key)'] is not a list of [z, y, x] voxels")
                }
                locations[label] = try voxels.map { voxel in
                    let ints = voxel.compactMap { ($0 as? NSNumber)?.intValue }
                    guard ints.count == 3, zip(ints, header.shape[1...]).allSatisfy({ $0 >= 0 && $0 < $1 }) else {
                        throw failure(jsonURL, "class_locations['\(key)'] holds \(voxel), not a voxel of "
                            + "\(Array(header.shape[1...]))")
                    }
                    return ints
                }
            }
        }
        return PreprocessedCase(identifier: identifier, arrayURL: arrayURL, shape: header.shape,
                                dataOffset: header.offset, classLocations: locations)
    }

    /// Memory-maps a case's voxels and passes them to `body` as (C + 1, Z, Y, X) float32 values.
    ///
    /// - Throws: ``TrainingError/unreadableCase(identifier:path:reason:)`` if the file changed or vanished since the
    ///   dataset was opened.
    public func withVoxels<R>(of item: PreprocessedCase, _ body: (UnsafeBufferPointer<Float>) throws -> R) throws -> R {
        let count = item.shape.reduce(1, *)
        let length = item.dataOffset + count * 4
        let descriptor = open(item.arrayURL.path, O_RDONLY)
        guard descriptor >= 0 else {
            throw TrainingError.unreadableCase(identifier: item.identifier, path: item.arrayURL.path,
                                               reason: "open failed (\(String(cString: strerror(errno))))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, Int(status.st_size) >= length else {
            throw TrainingError.unreadableCase(identifier: item.identifier, path: item.arrayURL.path,
                                               reason: "the file is shorter than its header's shape \(item.shape) needs")
        }
        guard let base = mmap(nil, length, PROT_READ, MAP_PRIVATE, descriptor, 0), base != MAP_FAILED else {
            throw TrainingError.unreadableCase(identifier: item.identifier, path: item.arrayURL.path,
                                               reason: "mmap failed (\(String(cString: strerror(errno))))")
        }
        defer { munmap(base, length) }
        let voxels = UnsafeRawPointer(base).advanced(by: item.dataOffset).assumingMemoryBound(to: Float.self)
        return try body(UnsafeBufferPointer(start: voxels, count: count))
    }

    /// Writes one case as `CASE.npy` (NumPy format 1.0, `<f4`, C order) and `CASE.json` (`class_locations`),
    /// atomically. Used by tests and the synthetic benchmark; numpy reads the array with `np.load(mmap_mode='r')`.
    public static func writeCase(identifier: String, voxels: [Float], shape: [Int], classLocations: [Int: [[Int]]],
                                 to folder: URL) throws {
        precondition(voxels.count == shape.reduce(1, *), "writeCase: \(voxels.count) values for \(shape)")
        var file = NPY.header(shape: shape, dataType: .float32)
        voxels.withUnsafeBytes { file.append(contentsOf: $0) }  // little-endian hosts only (x86-64, arm64)
        try AtomicFile.write(file, to: folder.appendingPathComponent(identifier + ".npy"))
        let locations = Dictionary(uniqueKeysWithValues: classLocations.map { (String($0.key), $0.value) })
        let json = try JSONSerialization.data(withJSONObject: ["class_locations": locations], options: [.sortedKeys])
        try AtomicFile.write(json, to: folder.appendingPathComponent(identifier + ".json"))
    }
}
