import Foundation

/// Decodes a whole gzip file (RFC 1952, one or more members) held in memory into a caller's buffers with
/// ``DeflateDecoder``, checking every member's CRC-32 and length.
///
/// The first `head.count` bytes of the uncompressed data go to `head`, the next `body.count` to `body`; the data must
/// hold at least that many bytes. Data after them is not decoded (as `gzread` of exactly that many bytes). A trailer
/// cut off by the end of the file is tolerated once all bytes are decoded, as `gzread` does; a wrong CRC is not.
enum GzipDecoder {
    /// Fills `head` and then `body` from the gzip data `input`.
    ///
    /// - Throws: ``GzipDecodingError/truncated(decodedBytes:)`` when the data ends early,
    ///   ``GzipDecodingError/corrupt(_:)`` for invalid headers, codes, CRC or length, and
    ///   ``GzipDecodingError/longerThanExpected`` when a member holds more data than both buffers (decode such files
    ///   with zlib's streaming `inflate` instead).
    static func decode(_ input: UnsafeRawBufferPointer, head: UnsafeMutableRawBufferPointer,
                       body: UnsafeMutableRawBufferPointer) throws(GzipDecodingError) {
        guard let inputBase = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw .truncated(decodedBytes: 0)
        }
        // Empty buffers have no address; the decoder never writes through a zero-length one.
        let placeholder = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        defer { placeholder.deallocate() }
        let headPointer = head.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? placeholder
        let bodyPointer = body.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? placeholder
        let total = head.count + body.count
        var decoder = DeflateDecoder(input: input, startingAt: 0, head: headPointer, headCount: head.count,
                                     body: bodyPointer, bodyCount: body.count)
        var memberCount = 0
        while true {
            // Members follow each other; zero padding between them is skipped (as zlib's gz* functions do).
            var at = decoder.inputPosition
            if memberCount > 0 { while at < input.count && inputBase[at] == 0 { at += 1 } }
            guard at < input.count else {
                if decoder.position == total, memberCount > 0 { return }
                throw .truncated(decodedBytes: decoder.position)
            }
            decoder.inputPosition = try dataStart(of: inputBase, count: input.count, memberAt: at,
                                                  decodedBytes: decoder.position)
            memberCount += 1
            let memberStart = decoder.position
            let crc = try decoder.decodeMember()
            let trailer = decoder.inputPosition
            guard trailer + 8 <= input.count else {
                // The trailer is cut off: accepted only when everything asked for was decoded (gzread's leniency).
                if decoder.position == total { return }
                throw .truncated(decodedBytes: decoder.position)
            }
            func word(_ offset: Int) -> UInt32 {
                (0..<4).reduce(UInt32(0)) { $0 | UInt32(inputBase[trailer + offset + $1]) << (8 * UInt32($1)) }
            }
            guard word(0) == crc else { throw .corrupt("incorrect data check (CRC-32)") }
            guard word(4) == UInt32(truncatingIfNeeded: decoder.position - memberStart) else {
                throw .corrupt("incorrect length check")
            }
            decoder.inputPosition = trailer + 8
            if decoder.position == total { return }
        }
    }

    /// Parses a member header (magic, method 8, optional extra field, name, comment and header CRC) and returns where
    /// its DEFLATE data starts.
    static func dataStart(of bytes: UnsafePointer<UInt8>, count: Int, memberAt start: Int, decodedBytes: Int)
        throws(GzipDecodingError) -> Int {
        guard start + 10 <= count else { throw .truncated(decodedBytes: decodedBytes) }
        guard bytes[start] == 0x1F, bytes[start + 1] == 0x8B else { throw .corrupt("incorrect header check") }
        guard bytes[start + 2] == 8 else { throw .corrupt("unknown compression method") }
        let flags = bytes[start + 3]
        guard flags & 0xE0 == 0 else { throw .corrupt("unknown header flags set") }
        var at = start + 10
        if flags & 0x04 != 0 {  // FEXTRA
            guard at + 2 <= count else { throw .truncated(decodedBytes: decodedBytes) }
            at += 2 + (Int(bytes[at]) | Int(bytes[at + 1]) << 8)
        }
        for flag: UInt8 in [0x08, 0x10] where flags & flag != 0 {  // FNAME, FCOMMENT: zero-terminated
            while at < count && bytes[at] != 0 { at += 1 }
            at += 1
        }
        if flags & 0x02 != 0 { at += 2 }  // FHCRC
        guard at <= count else { throw .truncated(decodedBytes: decodedBytes) }
        return at
    }
}
