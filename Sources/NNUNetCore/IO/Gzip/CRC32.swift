import CNIfTI

/// gzip's CRC-32 (zlib's `crc32`, reflected polynomial 0xEDB88320), with a shortcut for runs of one byte.
///
/// Label maps decode mostly as 258-byte runs (DEFLATE's longest match at distance 1). Appending such a run to a CRC
/// is a linear map of the CRC register plus a constant that depends only on the byte, so it is four table lookups
/// instead of 258 bytes through `crc32`. The tables are built once, from the byte-wise definition.
enum CRC32 {
    /// The run length with a table: DEFLATE's longest match.
    static let runLength = 258

    /// `crc` extended by `count` bytes at `bytes` (zlib's `crc32_z`; start with 0).
    @inline(__always)
    static func update(_ crc: UInt32, _ bytes: UnsafePointer<UInt8>, count: Int) -> UInt32 {
        guard count > 0 else { return crc }
        return UInt32(truncatingIfNeeded: crc32_z(UInt(crc), bytes, count))
    }

    /// `crc` extended by ``runLength`` copies of `byte`.
    @inline(__always)
    static func updateWithRun(_ crc: UInt32, of byte: UInt8) -> UInt32 {
        let tables = RunTables.shared
        let register = ~crc
        let shifted = tables.shift[Int(register & 0xFF)] ^ tables.shift[256 + Int((register >> 8) & 0xFF)]
            ^ tables.shift[512 + Int((register >> 16) & 0xFF)] ^ tables.shift[768 + Int(register >> 24)]
        return ~(shifted ^ tables.runOfByte[Int(byte)])
    }

    /// The register arithmetic behind ``updateWithRun(_:of:)``.
    final class RunTables: Sendable {
        static let shared = RunTables()
        /// shift[256 k + v]: the register (v << 8k) after ``runLength`` zero bytes (a linear map, split by byte).
        let shift: [UInt32]
        /// runOfByte[b]: the register after ``runLength`` copies of b, starting from 0.
        let runOfByte: [UInt32]

        private init() {
            var table = [UInt32](repeating: 0, count: 256)
            for i in 0..<256 {
                var c = UInt32(i)
                for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
                table[i] = c
            }
            func step(_ register: UInt32, _ byte: UInt8) -> UInt32 {
                table[Int((register ^ UInt32(byte)) & 0xFF)] ^ (register >> 8)
            }
            let basis = (0..<32).map { bit -> UInt32 in
                var register = UInt32(1) << UInt32(bit)
                for _ in 0..<CRC32.runLength { register = step(register, 0) }
                return register
            }
            var shift = [UInt32](repeating: 0, count: 1024)
            for k in 0..<4 {
                for v in 0..<256 {
                    var value: UInt32 = 0
                    for bit in 0..<8 where v & (1 << bit) != 0 { value ^= basis[8 * k + bit] }
                    shift[256 * k + v] = value
                }
            }
            self.shift = shift
            runOfByte = (0..<256).map { b in
                var register: UInt32 = 0
                for _ in 0..<CRC32.runLength { register = step(register, UInt8(b)) }
                return register
            }
        }
    }
}
