import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Element types of NumPy `.npy` files this package reads and writes (little-endian only).
public enum NPYDataType: String, Sendable, CaseIterable {
    case float32 = "<f4", float64 = "<f8", uint8 = "|u1", int8 = "|i1", int16 = "<i2", uint16 = "<u2"
    case int32 = "<i4", uint32 = "<u4", int64 = "<i8", bool = "|b1"
    /// IEEE half precision: what v1 stores softmax in (`CASE.npz` of `nnUNet_predict --save_npz`).
    case float16 = "<f2"

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .int16, .uint16, .float16: return 2
        case .float32, .int32, .uint32: return 4
        case .float64, .int64: return 8
        }
    }

    /// Parses a numpy `descr` string (`<f4`, `|u1`, `u1`, `=f4`, ...); nil for big-endian or unsupported types.
    init?(descr: String) {
        var d = descr
        if d.hasPrefix("=") { d = "<" + d.dropFirst() }
        if d.count == 2 { d = (d == "u1" || d == "i1" || d == "b1" ? "|" : "<") + d }
        if d == "<u1" { d = "|u1" } else if d == "<i1" { d = "|i1" } else if d == "<b1" { d = "|b1" }
        self.init(rawValue: d)
    }
}

/// A NumPy `.npy` array held in memory: shape, element type and the raw little-endian C-order bytes.
public struct NPYArray: Sendable, Equatable {
    /// Dimensions in C order (slowest axis first).
    public var shape: [Int]
    /// Element type.
    public var dataType: NPYDataType
    /// Raw element bytes, C order, little-endian.
    public var bytes: Data

    /// Wraps raw bytes; `bytes` must hold `shape.reduce(1, *) * dataType.byteCount` bytes, C order, little-endian.
    public init(shape: [Int], dataType: NPYDataType, bytes: Data) {
        self.shape = shape
        self.dataType = dataType
        self.bytes = bytes
    }

    /// A float32 array.
    public init(float32 values: [Float], shape: [Int]) {
        precondition(values.count == shape.reduce(1, *), "NPYArray: \(values.count) values for shape \(shape)")
        self.init(shape: shape, dataType: .float32, bytes: values.withUnsafeBytes { Data($0) })
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// A float16 array: each value rounded to nearest-even half precision, as NumPy's `astype(np.float16)`.
    public init(float16 values: [Float], shape: [Int]) {
        precondition(values.count == shape.reduce(1, *), "NPYArray: \(values.count) values for shape \(shape)")
        let halves = values.map { Float16($0).bitPattern.littleEndian }
        self.init(shape: shape, dataType: .float16, bytes: halves.withUnsafeBytes { Data($0) })
    }

    /// The values converted to Float (any supported element type).
    public func floats() -> [Float] {
        bytes.withUnsafeBytes { NPY.convertToFloat($0, dataType: dataType, count: count) }
    }
}

/// NumPy `.npy` files (format version 1.0 written; 1.0, 2.0 and 3.0 read): the layout of preprocessed cases.
///
/// Files are little-endian and C order; the header is padded so that the data starts at a multiple of 64 bytes
/// (what numpy writes), which also keeps memory-mapped float data aligned.
public enum NPY {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    /// The header bytes (magic, version 1.0, length, dict, padding) for an array.
    public static func header(shape: [Int], dataType: NPYDataType) -> Data {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var dict = "{'descr': '\(dataType.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data(magic)
        data.append(contentsOf: [1, 0])
        let length = UInt16(dict.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(Data(dict.utf8))
        return data
    }

    /// Writes an array atomically (temporary file, then rename).
    public static func write(_ array: NPYArray, to url: URL) throws {
        let head = header(shape: array.shape, dataType: array.dataType)
        try head.withUnsafeBytes { h in
            try array.bytes.withUnsafeBytes { b in try writeAtomically([h, b], to: url) }
        }
    }

    /// Writes float32 values with the given shape, atomically.
    public static func write(float32 values: [Float], shape: [Int], to url: URL) throws {
        precondition(values.count == shape.reduce(1, *), "NPY.write: \(values.count) values for shape \(shape)")
        let head = header(shape: shape, dataType: .float32)
        try head.withUnsafeBytes { h in
            try values.withUnsafeBytes { b in try writeAtomically([h, b], to: url) }
        }
    }

    /// Writes byte buffers one after the other into a temporary file next to `url` with plain POSIX calls, then
    /// renames it over `url`: readers see the old file or the complete new one. Unlike `Data.write`, no fsync per
    /// file (preprocessing writes thousands of small files; durability against power loss is not needed there,
    /// only that an interrupted run never leaves a partial file under the final name).
    public static func writeAtomically(_ parts: [UnsafeRawBufferPointer], to url: URL) throws {
        let temporary = TemporaryFile.url(for: url)
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            TemporaryFile.remove(temporary)
            throw CoreError.fileSystem(path: url.path, reason: "cannot write (\(String(cString: strerror(errno))))")
        }
        for part in parts {
            var offset = 0
            while offset < part.count {
                let written = systemWrite(fd, part.baseAddress! + offset, part.count - offset)
                if written <= 0 {
                    let reason = String(cString: strerror(errno))
                    close(fd)
                    unlink(temporary.path)
                    throw CoreError.fileSystem(path: url.path, reason: "write failed (\(reason))")
                }
                offset += written
            }
        }
        guard close(fd) == 0 else {
            unlink(temporary.path)
            throw CoreError.fileSystem(path: url.path, reason: "close failed (\(String(cString: strerror(errno))))")
        }
        try AtomicFile.moveIntoPlace(temporary, url)
    }

    /// Writes `data` atomically with ``writeAtomically(_:to:)``.
    public static func writeAtomically(_ data: Data, to url: URL) throws {
        try data.withUnsafeBytes { try writeAtomically([$0], to: url) }
    }

    /// Reads a whole file into memory.
    /// - Throws: ``CoreError/unreadableImage(path:reason:)`` (naming the file) for a missing, truncated or
    ///   unsupported file (big-endian, Fortran order, object arrays).
    public static func read(_ url: URL) throws -> NPYArray {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CoreError.unreadableImage(path: url.path, reason: "cannot read the file (\(error.localizedDescription))")
        }
        let parsed = try data.withUnsafeBytes { try parseHeader($0, path: url.path) }
        let needed = parsed.offset + parsed.shape.reduce(1, *) * parsed.dataType.byteCount
        guard data.count >= needed else {
            throw CoreError.unreadableImage(path: url.path, reason: "truncated: \(data.count) bytes, need \(needed)")
        }
        return NPYArray(shape: parsed.shape, dataType: parsed.dataType,
                        bytes: data.subdata(in: parsed.offset..<needed))
    }

    /// Parses the header of an `.npy` buffer: shape, type and the byte offset of the data.
    package static func parseHeader(_ raw: UnsafeRawBufferPointer, path: String) throws
        -> (shape: [Int], dataType: NPYDataType, offset: Int) {
        func fail(_ reason: String) -> CoreError { .unreadableImage(path: path, reason: reason) }
        guard raw.count >= 10, Array(raw[0..<6]) == magic else { throw fail("not a NumPy .npy file (bad magic)") }
        let major = raw[6]
        let headerLength: Int, start: Int
        if major == 1 {
            headerLength = Int(raw[8]) | Int(raw[9]) << 8
            start = 10
        } else if major == 2 || major == 3, raw.count >= 12 {
            headerLength = Int(raw[8]) | Int(raw[9]) << 8 | Int(raw[10]) << 16 | Int(raw[11]) << 24
            start = 12
        } else {
            throw fail("unsupported .npy version \(major)")
        }
        guard raw.count >= start + headerLength else { throw fail("truncated header") }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: raw[start..<(start + headerLength)]),
                          as: UTF8.self)
        guard let descr = field("descr", in: text), let type = NPYDataType(descr: descr) else {
            throw fail("unsupported dtype in header '\(text.trimmingCharacters(in: .whitespacesAndNewlines))' "
                       + "(little-endian numeric types only)")
        }
        if text.contains("'fortran_order': True") { throw fail("Fortran-ordered arrays are not supported") }
        guard let open = text.range(of: "'shape':"), let lp = text[open.upperBound...].firstIndex(of: "("),
              let rp = text[lp...].firstIndex(of: ")") else { throw fail("no shape in header") }
        let dims = text[text.index(after: lp)..<rp].split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var shape: [Int] = []
        for d in dims {
            guard let v = Int(d), v >= 0 else { throw fail("bad shape entry '\(d)'") }
            shape.append(v)
        }
        return (shape, type, start + headerLength)
    }

    private static func field(_ key: String, in text: String) -> String? {
        guard let r = text.range(of: "'\(key)':") else { return nil }
        let rest = text[r.upperBound...].drop { $0 == " " }
        guard let q = rest.first, q == "'" || q == "\"" else { return nil }
        let body = rest.dropFirst()
        guard let end = body.firstIndex(of: q) else { return nil }
        return String(body[..<end])
    }

    static func convertToFloat(_ raw: UnsafeRawBufferPointer, dataType: NPYDataType, count: Int) -> [Float] {
        func load<T>(_ type: T.Type, _ f: (T) -> Float) -> [Float] {
            (0..<count).map { f(raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
        }
        switch dataType {
        case .float32:
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                if count > 0 { memcpy(buffer.baseAddress!, raw.baseAddress!, count * 4) }
                initialized = count
            }
        case .float64: return load(Double.self) { Float($0) }
        case .uint8, .bool: return load(UInt8.self) { Float($0) }
        case .int8: return load(Int8.self) { Float($0) }
        case .int16: return load(Int16.self) { Float($0) }
        case .uint16: return load(UInt16.self) { Float($0) }
        case .int32: return load(Int32.self) { Float($0) }
        case .uint32: return load(UInt32.self) { Float($0) }
        case .int64: return load(Int64.self) { Float($0) }
        case .float16: return load(UInt16.self) { Float16Bits($0) }
        }
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#else
private let systemWrite = Darwin.write
#endif

/// A read-only memory-mapped `.npy` file: the training data loader reads preprocessed cases through it without
/// loading whole volumes.
///
/// The mapping lives as long as this object; pointers handed to ``withFloat32Buffer(_:)`` must not escape it.
///
/// `@unchecked Sendable`: every stored property is immutable and the mapping is read-only (`PROT_READ`).
public final class MappedNPY: @unchecked Sendable {
    /// Dimensions in C order (slowest axis first), from the file header.
    public let shape: [Int]
    /// Element type, from the file header's `descr`.
    public let dataType: NPYDataType
    /// The mapped file.
    public let url: URL
    private let base: UnsafeMutableRawPointer
    private let length: Int
    private let offset: Int

    /// Maps `url` read-only.
    /// - Throws: ``CoreError/unreadableImage(path:reason:)`` for a missing, truncated or unsupported file.
    public init(_ url: URL) throws {
        self.url = url
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else {
            throw CoreError.unreadableImage(path: url.path, reason: "cannot open (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > 0 else {
            throw CoreError.unreadableImage(path: url.path, reason: "empty or unreadable file")
        }
        let size = Int(info.st_size)
        guard let pointer = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), pointer != MAP_FAILED else {
            throw CoreError.unreadableImage(path: url.path, reason: "mmap failed (\(String(cString: strerror(errno))))")
        }
        do {
            let parsed = try NPY.parseHeader(UnsafeRawBufferPointer(start: pointer, count: size), path: url.path)
            let needed = parsed.offset + parsed.shape.reduce(1, *) * parsed.dataType.byteCount
            guard size >= needed else {
                throw CoreError.unreadableImage(path: url.path, reason: "truncated: \(size) bytes, need \(needed)")
            }
            shape = parsed.shape
            dataType = parsed.dataType
            offset = parsed.offset
        } catch {
            munmap(pointer, size)
            throw error
        }
        base = pointer
        length = size
    }

    deinit { munmap(base, length) }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// The raw element bytes (C order, little-endian).
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base + offset, count: count * dataType.byteCount))
    }

    /// The elements as Float32 (requires a float32 file; the data offset is 64-byte aligned).
    public func withFloat32Buffer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) throws -> R {
        guard dataType == .float32 else {
            throw CoreError.unreadableImage(path: url.path, reason: "expected float32 data, found \(dataType.rawValue)")
        }
        let typed = (base + offset).assumingMemoryBound(to: Float.self)
        return try body(UnsafeBufferPointer(start: typed, count: count))
    }

    /// Copies the elements out as Float.
    public func floats() -> [Float] {
        withUnsafeBytes { NPY.convertToFloat($0, dataType: dataType, count: count) }
    }
}
