import Foundation

/// A minimal reader of little-endian, C-order `.npy` files (float32, float64, uint8), for the parity fixtures.
enum TestNPY {
    struct Array {
        let shape: [Int]
        let values: [Float]
    }

    enum Failure: Error { case malformed(String) }

    static func read(_ url: URL) throws -> Array {
        let data = try Data(contentsOf: url)
        guard data.count > 10, data.prefix(6) == Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) else {
            throw Failure.malformed("\(url.path): not an npy file")
        }
        let major = data[6]
        let headerLength: Int, headerStart: Int
        if major == 1 {
            headerLength = Int(data[8]) | Int(data[9]) << 8
            headerStart = 10
        } else {
            headerLength = Int(data[8]) | Int(data[9]) << 8 | Int(data[10]) << 16 | Int(data[11]) << 24
            headerStart = 12
        }
        let header = String(decoding: data[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard !header.contains("'fortran_order': True") else { throw Failure.malformed("\(url.path): Fortran order") }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw Failure.malformed("\(url.path): no shape in header \(header)")
        }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        let count = shape.reduce(1, *)
        let body = data[(headerStart + headerLength)...]
        var values = [Float](repeating: 0, count: count)
        if header.contains("'<f4'") {
            body.withUnsafeBytes { raw in
                for i in 0..<count { values[i] = Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
            }
        } else if header.contains("'<f8'") {
            body.withUnsafeBytes { raw in
                for i in 0..<count {
                    values[i] = Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
                }
            }
        } else if header.contains("'|u1'") {
            let bytes = [UInt8](body)
            for i in 0..<count { values[i] = Float(bytes[i]) }
        } else {
            throw Failure.malformed("\(url.path): unsupported dtype in \(header)")
        }
        return Array(shape: shape, values: values)
    }
}
