import Foundation

/// The safetensors format: an open, documented weights format that Python (`safetensors`, or ten lines of `json` and
/// `numpy`) reads. Layout: an 8-byte little-endian header length, a JSON header mapping each tensor name to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` (plus an optional `"__metadata__"` string map), then the raw
/// little-endian data. This package stores Float32 (`F32`) tensors; `F16`, `BF16`, `F64`, `I64`, `I32`, `U8` are read.
public enum Safetensors {
    /// One named tensor.
    public struct Tensor: Sendable, Equatable {
        /// Dimensions in C order.
        public var shape: [Int]
        /// The elements in C order, as Float whatever the stored dtype.
        public var values: [Float]
        /// Creates a tensor; `values.count` must equal the product of `shape`.
        public init(shape: [Int], values: [Float]) {
            precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not match \(values.count) values")
            self.shape = shape
            self.values = values
        }
    }

    /// Encodes tensors (written in the given order) and string metadata.
    public static func encode(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]) throws
        -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        for (name, tensor) in tensors {
            let size = tensor.values.count * 4
            header[name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + size]]
            offset += size
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var data = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for (_, tensor) in tensors {
            tensor.values.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: UInt8.self) { data.append(contentsOf: $0) }
            }
        }
        return data
    }

    /// Writes a file atomically.
    public static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:],
                             to url: URL) throws {
        try AtomicFile.write(try encode(tensors, metadata: metadata), to: url)
    }

    /// Decodes a file's tensors (in data order) and metadata.
    /// - Throws: ``CoreError/invalidJSON(path:reason:)`` naming `source` for anything malformed.
    public static func decode(_ data: Data, source: String = "safetensors") throws
        -> (tensors: [(name: String, tensor: Tensor)], metadata: [String: String]) {
        func fail(_ reason: String) -> CoreError { .invalidJSON(path: source, reason: "not a valid safetensors file: \(reason)") }
        guard data.count >= 8 else { throw fail("too short") }
        let length = data.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length <= UInt64(data.count - 8) else { throw fail("header length \(length) exceeds the file") }
        let start = data.startIndex + 8
        let headerData = data[start..<(start + Int(length))]
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw fail("the header is not a JSON object")
        }
        let body = data[(start + Int(length))...]
        var metadata: [String: String] = [:]
        var result: [(name: String, tensor: Tensor, begin: Int)] = []
        for (name, entry) in header {
            if name == "__metadata__" {
                metadata = entry as? [String: String] ?? [:]
                continue
            }
            guard let entry = entry as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2,
                  offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= body.count, shape.allSatisfy({ $0 >= 0 })
            else { throw fail("bad entry for '\(name)'") }
            let width: Int
            switch dtype {
            case "F32", "I32": width = 4
            case "F16", "BF16": width = 2
            case "F64", "I64": width = 8
            case "U8": width = 1
            default: throw fail("unsupported dtype \(dtype) for '\(name)'")
            }
            let count = shape.reduce(1, *)
            guard count * width == offsets[1] - offsets[0] else { throw fail("'\(name)' has the wrong byte count") }
            let bytes = body[(body.startIndex + offsets[0])..<(body.startIndex + offsets[1])]
            let values: [Float] = bytes.withUnsafeBytes { raw in
                (0..<count).map { i in
                    switch dtype {
                    case "F32": return Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    case "I32": return Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                    case "F64": return Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                    case "I64": return Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
                    case "U8": return Float(raw[i])
                    case "BF16": return Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
                    default: return Float16Bits(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    }
                }
            }
            result.append((name, Tensor(shape: shape, values: values), offsets[0]))
        }
        return (result.sorted { $0.begin < $1.begin }.map { ($0.name, $0.tensor) }, metadata)
    }

    /// Reads a file.
    public static func read(contentsOf url: URL) throws
        -> (tensors: [(name: String, tensor: Tensor)], metadata: [String: String]) {
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw CoreError.missingPath(path: url.path, hint: "The weights file cannot be read.")
        }
        return try decode(data, source: url.path)
    }
}
