import CNIfTI
import Foundation
import Testing
@testable import NNUNetCore

@Suite("gzip/DEFLATE decoder (label-map reader)")
struct GzipDecoderTests {
    /// gzip with zlib's deflate at a level and strategy (what libnifti and SimpleITK write is level 6, default).
    static func gzip(_ bytes: [UInt8], level: Int32 = 6, strategy: Int32 = Z_DEFAULT_STRATEGY) -> [UInt8] {
        var stream = z_stream()
        let status = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, strategy, zlibVersion(),
                                   Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK)
        defer { deflateEnd(&stream) }
        var input = bytes
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 64)
        let produced = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = UInt32(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = UInt32(target.count)
                precondition(deflate(&stream, Z_FINISH) == Z_STREAM_END)
                return Int(stream.total_out)
            }
        }
        return Array(output[0..<produced])
    }

    /// Label-map-like bytes: runs of a few values, scattered single voxels, and some periodic stretches (matches
    /// with distances 2...9 that overlap their source).
    static func labelLikeBytes(count: Int) -> [UInt8] {
        var generator = SplitMix(seed: 7)
        var bytes = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            let run = Int(generator.next() % 700) + 1
            let value = UInt8(generator.next() % 4)
            for k in i..<min(count, i + run) { bytes[k] = value }
            i += run
            if generator.next() % 5 == 0 {
                let period = Int(generator.next() % 8) + 2
                let pattern = (0..<period).map { _ in UInt8(generator.next() % 256) }
                for k in i..<min(count, i + 300) { bytes[k] = pattern[(k - i) % period] }
                i += 300
            }
        }
        for _ in 0..<(count / 500) { bytes[Int(generator.next() % UInt64(count))] = UInt8(generator.next() % 3) }
        return bytes
    }

    /// Decodes `gz` into a buffer of `count` bytes; nil when the decoder leaves it to zlib's streaming path.
    static func decode(_ gz: [UInt8], count: Int) -> [UInt8]? {
        var output = [UInt8](repeating: 0xAA, count: count)
        let decoded = gz.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { GzipDecoder.decode(input, into: $0) }
        }
        return decoded ? output : nil
    }

    /// Inflates `gz` with zlib (the oracle): every member, padding skipped, as `gunzip` does.
    static func zlibInflate(_ gz: [UInt8], count: Int) -> [UInt8]? {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var input = gz
        var output = [UInt8](repeating: 0, count: max(count, 1))
        var produced = 0
        let ok = input.withUnsafeMutableBufferPointer { source -> Bool in
            output.withUnsafeMutableBufferPointer { target -> Bool in
                stream.next_in = source.baseAddress
                stream.avail_in = UInt32(source.count)
                while true {
                    stream.next_out = target.baseAddress! + produced
                    stream.avail_out = UInt32(target.count - produced)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    produced = target.count - Int(stream.avail_out)
                    if status == Z_STREAM_END {
                        while stream.avail_in > 0 && stream.next_in.pointee == 0 { stream.next_in += 1; stream.avail_in -= 1 }
                        if stream.avail_in == 0 || produced == count { return true }
                        guard inflateReset(&stream) == Z_OK else { return false }
                        continue
                    }
                    guard status == Z_OK else { return false }
                    if produced == target.count { return true }
                }
            }
        }
        return ok ? Array(output[0..<min(produced, count)]) : nil
    }

    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test("equals zlib's input for every level and strategy (stored, fixed and dynamic blocks)",
          arguments: [Int32(0), 1, 6, 9], [Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED])
    func levelsAndStrategies(level: Int32, strategy: Int32) throws {
        var generator = SplitMix(seed: 3)
        let random = (0..<70_000).map { _ in UInt8(generator.next() % 256) }
        for data in [Self.labelLikeBytes(count: 300_000), random, [42], []] {
            let gz = Self.gzip(data, level: level, strategy: strategy)
            #expect(Self.decode(gz, count: data.count) == data,
                    "level \(level), strategy \(strategy), \(data.count) bytes")
        }
    }

    @Test("concatenated members, zero padding between them and header fields (name, comment, extra, header CRC)")
    func membersAndHeaderFields() throws {
        let data = Self.labelLikeBytes(count: 100_000)
        let first = Self.gzip(Array(data[0..<30_000]), level: 1), second = Self.gzip(Array(data[30_000...]))
        #expect(Self.decode(first + [0, 0, 0] + second, count: 100_000) == data)
        // FLG = FEXTRA | FNAME | FCOMMENT | FHCRC, fields inserted after the fixed 10-byte header.
        var decorated = Array(first[0..<10])
        decorated[3] = 0x04 | 0x08 | 0x10 | 0x02
        decorated += [3, 0, 1, 2, 3] + Array("case_000.nii\0".utf8) + Array("comment\0".utf8)
        // FHCRC: the low 16 bits of the CRC-32 of the header bytes before it (libdeflate ignores it, as zlib does).
        let headerCRC = decorated.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
        decorated += [UInt8(headerCRC & 0xFF), UInt8((headerCRC >> 8) & 0xFF)]
        decorated += first[10...]
        #expect(Self.decode(decorated + second, count: 100_000) == data)
        #expect(Self.zlibInflate(decorated + second, count: 100_000) == data)
        // Asking for less than the first member holds is left to the streaming path.
        #expect(Self.decode(first + second, count: 20_000) == nil)
        // Asking for exactly the first member stops there: what follows is not read.
        #expect(Self.decode(first + [1, 2, 3], count: 30_000) == Array(data[0..<30_000]))
    }

    @Test("truncation, a wrong CRC, a wrong length, bad headers and more data than the buffer are never accepted")
    func errors() throws {
        let data = Self.labelLikeBytes(count: 200_000)
        let gz = Self.gzip(data)
        for cut in [0, 5, 11, gz.count / 3, gz.count - 20, gz.count - 8, gz.count - 1] {
            #expect(Self.decode(Array(gz[0..<cut]), count: data.count) == nil, "cut at \(cut)")
        }
        var badCRC = gz
        badCRC[gz.count - 8] ^= 0x01
        #expect(Self.decode(badCRC, count: data.count) == nil)
        var badLength = gz
        badLength[gz.count - 1] ^= 0x01
        #expect(Self.decode(badLength, count: data.count) == nil)
        var badMagic = gz
        badMagic[1] = 0
        #expect(Self.decode(badMagic, count: data.count) == nil)
        var badBlockType = gz
        badBlockType[10] |= 0x06  // BTYPE = 3
        #expect(Self.decode(badBlockType, count: data.count) == nil)
        #expect(Self.decode(gz, count: data.count - 1000) == nil)
        #expect(Self.decode(gz, count: data.count + 1) == nil)
        // Flipped bits inside the compressed data never pass unnoticed: whatever libdeflate accepts, zlib decodes
        // to the same bytes (a flip can only pass if it changes neither the data nor the checks).
        for position in stride(from: 10, to: gz.count, by: max(1, gz.count / 60)) {
            var damaged = gz
            damaged[position] ^= 0x10
            if let decoded = Self.decode(damaged, count: data.count) {
                #expect(decoded == data && Self.zlibInflate(damaged, count: data.count) == data, "flip at \(position)")
            }
        }
    }

    @Test("seeded random damage: libdeflate accepts exactly what zlib decodes to the same bytes")
    func randomDamageAgainstZlib() {
        var generator = SplitMix(seed: 99)
        let data = Self.labelLikeBytes(count: 50_000)
        let gz = Self.gzip(data, level: 6)
        for _ in 0..<300 {
            var damaged = gz
            for _ in 0..<(1 + Int(generator.next() % 3)) {
                let position = Int(generator.next() % UInt64(damaged.count))
                damaged[position] = UInt8(generator.next() % 256)
            }
            let ours = Self.decode(damaged, count: data.count)
            let zlib = Self.zlibInflate(damaged, count: data.count)
            if let ours { #expect(zlib == ours, "accepted data zlib decodes differently") }
        }
    }
}
