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

    /// Decodes `gz` with the first `headCount` bytes into a separate buffer; returns head + body.
    static func decode(_ gz: [UInt8], headCount: Int, bodyCount: Int) throws -> [UInt8] {
        var head = [UInt8](repeating: 0xAA, count: headCount), body = [UInt8](repeating: 0xAA, count: bodyCount)
        try gz.withUnsafeBytes { input in
            try head.withUnsafeMutableBytes { h in
                try body.withUnsafeMutableBytes { b in try GzipDecoder.decode(input, head: h, body: b) }
            }
        }
        return head + body
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
            for headCount in [0, 1, 352, 40_000] where headCount <= data.count {
                let decoded = try Self.decode(gz, headCount: headCount, bodyCount: data.count - headCount)
                #expect(decoded == data, "level \(level), strategy \(strategy), \(data.count) bytes, head \(headCount)")
            }
        }
    }

    @Test("a 258-byte run added by table equals zlib's crc32 over the bytes")
    func runCRC() {
        var generator = SplitMix(seed: 11)
        for byte: UInt8 in [0, 1, 2, 127, 255] {
            for start in [UInt32(0), 0xFFFF_FFFF, UInt32(truncatingIfNeeded: generator.next())] {
                let run = [UInt8](repeating: byte, count: CRC32.runLength)
                let expected = run.withUnsafeBufferPointer { CRC32.update(start, $0.baseAddress!, count: run.count) }
                #expect(CRC32.updateWithRun(start, of: byte) == expected, "byte \(byte), start \(start)")
            }
        }
    }

    @Test("concatenated members, zero padding between them and header fields (name, comment, extra, header CRC)")
    func membersAndHeaderFields() throws {
        let data = Self.labelLikeBytes(count: 100_000)
        let first = Self.gzip(Array(data[0..<30_000]), level: 1), second = Self.gzip(Array(data[30_000...]))
        #expect(try Self.decode(first + [0, 0, 0] + second, headCount: 352, bodyCount: 99_648) == data)
        // FLG = FEXTRA | FNAME | FCOMMENT | FHCRC, fields inserted after the fixed 10-byte header.
        var decorated = Array(first[0..<10])
        decorated[3] = 0x04 | 0x08 | 0x10 | 0x02
        decorated += [3, 0, 1, 2, 3] + Array("case_000.nii\0".utf8) + Array("comment\0".utf8) + [0x12, 0x34]
        decorated += first[10...]
        #expect(try Self.decode(decorated + second, headCount: 0, bodyCount: 100_000) == data)
    }

    @Test("truncation, a wrong CRC, a wrong length, bad headers and more data than the buffers are reported")
    func errors() throws {
        let data = Self.labelLikeBytes(count: 200_000)
        let gz = Self.gzip(data)
        for cut in [5, 11, gz.count / 3, gz.count - 20] {
            #expect(throws: GzipDecodingError.self) { try Self.decode(Array(gz[0..<cut]), headCount: 352, bodyCount: 199_648) }
            do {
                _ = try Self.decode(Array(gz[0..<cut]), headCount: 352, bodyCount: 199_648)
            } catch {
                guard case .truncated? = error as? GzipDecodingError else { Issue.record("cut at \(cut): \(error)"); continue }
            }
        }
        // Only the 8-byte trailer cut off after all data: tolerated (gzread reads the same bytes).
        #expect(try Self.decode(Array(gz[0..<(gz.count - 8)]), headCount: 0, bodyCount: data.count) == data)
        var badCRC = gz
        badCRC[gz.count - 8] ^= 0x01
        #expect(throws: GzipDecodingError.corrupt("incorrect data check (CRC-32)")) {
            try Self.decode(badCRC, headCount: 0, bodyCount: data.count)
        }
        var badLength = gz
        badLength[gz.count - 1] ^= 0x01
        #expect(throws: GzipDecodingError.corrupt("incorrect length check")) {
            try Self.decode(badLength, headCount: 0, bodyCount: data.count)
        }
        var badMagic = gz
        badMagic[1] = 0
        #expect(throws: GzipDecodingError.corrupt("incorrect header check")) {
            try Self.decode(badMagic, headCount: 0, bodyCount: data.count)
        }
        var badBlockType = gz
        badBlockType[10] |= 0x06  // BTYPE = 3
        #expect(throws: GzipDecodingError.corrupt("invalid block type")) {
            try Self.decode(badBlockType, headCount: 0, bodyCount: data.count)
        }
        #expect(throws: GzipDecodingError.longerThanExpected) {
            try Self.decode(gz, headCount: 352, bodyCount: data.count - 1000)
        }
        // Flipped bits inside the compressed data never pass unnoticed (bad codes, distances, CRC or length).
        for position in stride(from: 20, to: gz.count - 8, by: max(1, gz.count / 40)) {
            var damaged = gz
            damaged[position] ^= 0x10
            #expect(throws: GzipDecodingError.self) { try Self.decode(damaged, headCount: 0, bodyCount: data.count) }
        }
    }
}
