import Foundation

/// Why a gzip/DEFLATE stream could not be decoded; ``NIfTIVoxelDecoder`` turns it into a message naming the file.
enum GzipDecodingError: Error, Equatable {
    /// The input ends before the data does; `decodedBytes` of output (header included) were decoded.
    case truncated(decodedBytes: Int)
    /// The data is not valid gzip/DEFLATE; the text says what is wrong.
    case corrupt(String)
    /// The stream decodes to more bytes than the destination holds (the caller may fall back to streaming).
    case longerThanExpected
}

/// A DEFLATE (RFC 1951) decoder that writes into a caller's buffer, made for label maps: long runs of one value are
/// distance-1 matches, which this decoder writes with `memset` (zlib copies them byte by byte), and a match whose
/// source does not overlap its destination is one `memcpy`.
///
/// Output layout: the logical output starts with `headCount` bytes that go to `head` (a NIfTI header before
/// `vox_offset`); everything after them goes to `body`. Matches may reach back across the boundary.
///
/// Huffman codes are decoded with one table per code indexed by the next `maxLength` input bits (at most 2^15
/// entries), each entry holding the symbol and its code length. The member's CRC-32 is kept along the way: the output
/// since the last run through zlib's `crc32`, each 258-byte run by ``CRC32/updateWithRun(_:of:)``.
struct DeflateDecoder {
    // Input: the whole compressed stream, read least significant bit first.
    private let input: UnsafePointer<UInt8>
    private let inputCount: Int
    /// The next input byte not yet in the bit buffer (after ``alignToByte()``: the next unread byte).
    var inputPosition: Int
    private var bitBuffer: UInt64 = 0
    private var bitCount = 0
    /// Zero bytes fed to the bit buffer past the end of the input (to detect truncation).
    private var overrunBytes = 0

    // Output.
    private let head: UnsafeMutablePointer<UInt8>
    private let headCount: Int
    /// `body - headCount`: logical position p >= headCount lives at `bodyBase[p]`.
    private let bodyBase: UnsafeMutablePointer<UInt8>
    private let total: Int
    /// Bytes written so far (logical position).
    private(set) var position: Int
    /// Where the current gzip member's output began (matches may not reach before it).
    var memberStart: Int
    /// CRC-32 of the member's output before `crcPosition` (the rest is added lazily, runs by table).
    private var crc: UInt32 = 0
    private var crcPosition = 0

    // Tables (reused between blocks).
    private var literalTable: [UInt16] = []
    private var distanceTable: [UInt16] = []
    private var literalBits = 0, distanceBits = 0

    init(input: UnsafeRawBufferPointer, startingAt inputPosition: Int, head: UnsafeMutablePointer<UInt8>,
         headCount: Int, body: UnsafeMutablePointer<UInt8>, bodyCount: Int) {
        self.input = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
        self.inputCount = input.count
        self.inputPosition = inputPosition
        self.head = head
        self.headCount = headCount
        self.bodyBase = body - headCount
        self.total = headCount + bodyCount
        self.position = 0
        self.memberStart = 0
    }

    // MARK: - Bits

    /// Tops the bit buffer up to at least 56 bits (zero bytes past the end of the input, counted).
    @inline(__always)
    private mutating func refill() {
        if inputPosition + 8 <= inputCount {
            let word = UInt64(littleEndian: UnsafeRawPointer(input + inputPosition).loadUnaligned(as: UInt64.self))
            bitBuffer |= word << UInt64(bitCount)
            inputPosition += (63 - bitCount) >> 3
            bitCount |= 56
            return
        }
        while bitCount <= 56 {
            if inputPosition < inputCount {
                bitBuffer |= UInt64(input[inputPosition]) << UInt64(bitCount)
                inputPosition += 1
            } else {
                overrunBytes += 1
            }
            bitCount += 8
        }
    }

    /// Removes `count` bits (≤ 32, available after `refill`) and returns them.
    @inline(__always)
    private mutating func take(_ count: Int) -> UInt32 {
        let value = UInt32(truncatingIfNeeded: bitBuffer & ((1 << UInt64(count)) - 1))
        bitBuffer >>= UInt64(count)
        bitCount -= count
        return value
    }

    /// Throws `.truncated` when more bits were consumed than the input holds.
    private func checkNotOverrun() throws(GzipDecodingError) {
        if overrunBytes * 8 > bitCount { throw .truncated(decodedBytes: position) }
    }

    /// Drops the bits up to the next byte boundary and hands the unread whole bytes back to the input.
    mutating func alignToByte() throws(GzipDecodingError) {
        try checkNotOverrun()
        _ = take(bitCount & 7)
        let unreadBytes = bitCount / 8 - overrunBytes
        inputPosition -= unreadBytes
        bitBuffer = 0
        bitCount = 0
        overrunBytes = 0
    }

    // MARK: - Blocks

    /// Decodes blocks up to and including the one marked final; the reader is then byte-aligned at the trailer.
    ///
    /// - Returns: the CRC-32 of the member's output (to compare with the trailer).
    mutating func decodeMember() throws(GzipDecodingError) -> UInt32 {
        memberStart = position
        crc = 0
        crcPosition = position
        var isFinal = false
        do throws(GzipDecodingError) {
            while !isFinal {
                refill()
                isFinal = take(1) == 1
                let type = take(2)
                switch type {
                case 0: try copyStoredBlock()
                case 1:
                    useFixedTables()
                    try decodeCompressedBlock()
                case 2:
                    try readDynamicTables()
                    try decodeCompressedBlock()
                default: throw GzipDecodingError.corrupt("invalid block type")
                }
                try checkNotOverrun()
                updateCRC(upTo: position)
            }
            try alignToByte()
        } catch {
            // Past the end of the input, zero bits decode as garbage: whatever went wrong, the file is truncated.
            throw overrunOr(error)
        }
        return crc
    }

    /// Adds the output from `crcPosition` to `end` to the CRC.
    private mutating func updateCRC(upTo end: Int) {
        guard end > crcPosition else { return }
        if crcPosition < headCount {
            let headEnd = min(end, headCount)
            crc = CRC32.update(crc, head + crcPosition, count: headEnd - crcPosition)
            crcPosition = headEnd
        }
        if end > crcPosition {
            crc = CRC32.update(crc, bodyBase + crcPosition, count: end - crcPosition)
            crcPosition = end
        }
    }

    private mutating func copyStoredBlock() throws(GzipDecodingError) {
        try alignToByte()
        guard inputPosition + 4 <= inputCount else { throw .truncated(decodedBytes: position) }
        let length = Int(input[inputPosition]) | Int(input[inputPosition + 1]) << 8
        let complement = Int(input[inputPosition + 2]) | Int(input[inputPosition + 3]) << 8
        guard length == complement ^ 0xFFFF else { throw .corrupt("invalid stored block lengths") }
        inputPosition += 4
        guard inputPosition + length <= inputCount else { throw .truncated(decodedBytes: position) }
        guard position + length <= total else { throw .longerThanExpected }
        if position >= headCount {
            memcpy(bodyBase + position, input + inputPosition, length)
        } else {
            for k in 0..<length { put(input[inputPosition + k], at: position + k) }
        }
        inputPosition += length
        position += length
    }

    // MARK: - Huffman tables

    private static let lengthBase: [UInt16] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51,
                                               59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtra: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4,
                                               5, 5, 5, 5, 0]
    private static let distanceBase: [UInt16] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385,
                                                 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385,
                                                 24577]
    private static let distanceExtra: [UInt8] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10,
                                                 10, 11, 11, 12, 12, 13, 13]
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    /// A decoding table for canonical Huffman code lengths: entry = symbol << 4 | length, 0 for unused bit patterns.
    /// As zlib: an over-subscribed code is refused; an incomplete one is accepted only for literal/length and
    /// distance codes made of a single one-bit code, and an empty one leaves every entry unused (decoding with it
    /// fails).
    static func makeTable(lengths: ArraySlice<UInt8>, into table: inout [UInt16], name: String,
                          allowsSingleCode: Bool = true) throws(GzipDecodingError) -> Int {
        var counts = [Int](repeating: 0, count: 16)
        for length in lengths { counts[Int(length)] += 1 }
        counts[0] = 0
        let maxLength = (1...15).last { counts[$0] > 0 } ?? 0
        var left = 1
        for length in 1...15 {
            left <<= 1
            left -= counts[length]
            guard left >= 0 else { throw .corrupt("over-subscribed \(name) code") }
        }
        if left > 0, maxLength != 0, !(allowsSingleCode && maxLength == 1) {
            throw .corrupt("incomplete \(name) code")
        }
        let bits = max(maxLength, 1)
        let size = 1 << bits
        if table.count != size { table = [UInt16](repeating: 0, count: size) } else {
            table.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        }
        // Canonical codes (RFC 1951 3.2.2): the first code of length L is (first of L-1 + count of L-1) << 1.
        var nextCode = [Int](repeating: 0, count: 16)
        var code = 0
        for length in 1...15 {
            code = (code + counts[length - 1]) << 1
            nextCode[length] = code
        }
        table.withUnsafeMutableBufferPointer { t in
            for (offset, length) in lengths.enumerated() where length > 0 {
                let l = Int(length)
                let canonical = nextCode[l]
                nextCode[l] += 1
                var reversed = 0
                for bit in 0..<l where canonical & (1 << bit) != 0 { reversed |= 1 << (l - 1 - bit) }
                let entry = UInt16(offset << 4 | l)
                var index = reversed
                while index < size {
                    t[index] = entry
                    index += 1 << l
                }
            }
        }
        return bits
    }

    private static let fixedLengths: [UInt8] = (0..<288).map { $0 < 144 ? 8 : $0 < 256 ? 9 : $0 < 280 ? 7 : 8 }

    /// The fixed code's distance lengths: 32 five-bit codes (30 and 31 are invalid symbols, rejected when decoded).
    private static let fixedDistanceLengths = [UInt8](repeating: 5, count: 32)

    private mutating func useFixedTables() {
        // The fixed codes are complete: building their tables cannot fail.
        literalBits = (try? Self.makeTable(lengths: Self.fixedLengths[...], into: &literalTable, name: "literal")) ?? 0
        distanceBits = (try? Self.makeTable(lengths: Self.fixedDistanceLengths[...], into: &distanceTable,
                                            name: "distance")) ?? 0
    }

    private mutating func readDynamicTables() throws(GzipDecodingError) {
        refill()
        let literalCount = Int(take(5)) + 257, distanceCount = Int(take(5)) + 1, codeLengthCount = Int(take(4)) + 4
        guard literalCount <= 286, distanceCount <= 30 else { throw .corrupt("too many length or distance symbols") }
        var codeLengthLengths = [UInt8](repeating: 0, count: 19)
        for i in 0..<codeLengthCount {
            refill()
            codeLengthLengths[Self.codeLengthOrder[i]] = UInt8(take(3))
        }
        var codeLengthTable: [UInt16] = []
        let codeLengthBits = try Self.makeTable(lengths: codeLengthLengths[...], into: &codeLengthTable,
                                                name: "code length", allowsSingleCode: false)
        var lengths = [UInt8](repeating: 0, count: literalCount + distanceCount)
        var i = 0
        while i < lengths.count {
            refill()
            let entry = codeLengthTable[Int(bitBuffer & ((1 << UInt64(codeLengthBits)) - 1))]
            let length = Int(entry & 15)
            guard length > 0 else { throw .corrupt("invalid code length code") }
            _ = take(length)
            let symbol = Int(entry >> 4)
            switch symbol {
            case 0...15:
                lengths[i] = UInt8(symbol)
                i += 1
            case 16:
                guard i > 0 else { throw .corrupt("repeated code length without a previous one") }
                let repeats = 3 + Int(take(2))
                guard i + repeats <= lengths.count else { throw .corrupt("code lengths repeat past the end") }
                for k in 0..<repeats { lengths[i + k] = lengths[i - 1] }
                i += repeats
            default:
                let repeats = symbol == 17 ? 3 + Int(take(3)) : 11 + Int(take(7))
                guard i + repeats <= lengths.count else { throw .corrupt("code lengths repeat past the end") }
                i += repeats  // already zero
            }
        }
        guard lengths[256] > 0 else { throw .corrupt("the block has no end-of-block code") }
        literalBits = try Self.makeTable(lengths: lengths[0..<literalCount], into: &literalTable, name: "literal/length")
        distanceBits = try Self.makeTable(lengths: lengths[literalCount...], into: &distanceTable, name: "distance")
        try checkNotOverrun()
    }

    // MARK: - Compressed data

    @inline(__always)
    private func put(_ byte: UInt8, at p: Int) {
        if p >= headCount { bodyBase[p] = byte } else { head[p] = byte }
    }

    @inline(__always)
    private func byte(at p: Int) -> UInt8 {
        p >= headCount ? bodyBase[p] : head[p]
    }

    private mutating func decodeCompressedBlock() throws(GzipDecodingError) {
        let lengthBase = Self.lengthBase, lengthExtra = Self.lengthExtra
        let distanceBase = Self.distanceBase, distanceExtra = Self.distanceExtra
        let literalMask = UInt64((1 << literalBits) - 1), distanceMask = UInt64((1 << distanceBits) - 1)
        try literalTable.withUnsafeBufferPointer { (literals) throws(GzipDecodingError) in
            try distanceTable.withUnsafeBufferPointer { (distances) throws(GzipDecodingError) in
                while true {
                    refill()
                    let entry = literals[Int(bitBuffer & literalMask)]
                    let codeLength = Int(entry & 15)
                    guard codeLength > 0 else { throw overrunOr(.corrupt("invalid literal/length code")) }
                    bitBuffer >>= UInt64(codeLength)
                    bitCount -= codeLength
                    let symbol = Int(entry >> 4)
                    if symbol < 256 {
                        guard position < total else { throw overrunOr(.longerThanExpected) }
                        if position >= headCount { bodyBase[position] = UInt8(truncatingIfNeeded: symbol) } else {
                            head[position] = UInt8(truncatingIfNeeded: symbol)
                        }
                        position += 1
                        continue
                    }
                    if symbol == 256 { return }
                    let lengthIndex = symbol - 257
                    guard lengthIndex < 29 else { throw overrunOr(.corrupt("invalid literal/length symbol")) }
                    let length = Int(lengthBase[lengthIndex]) + Int(take(Int(lengthExtra[lengthIndex])))
                    let distanceEntry = distances[Int(bitBuffer & distanceMask)]
                    let distanceLength = Int(distanceEntry & 15)
                    guard distanceLength > 0 else { throw overrunOr(.corrupt("invalid distance code")) }
                    bitBuffer >>= UInt64(distanceLength)
                    bitCount -= distanceLength
                    let distanceIndex = Int(distanceEntry >> 4)
                    guard distanceIndex < 30 else { throw overrunOr(.corrupt("invalid distance symbol")) }
                    let distance = Int(distanceBase[distanceIndex]) + Int(take(Int(distanceExtra[distanceIndex])))
                    guard distance <= position - memberStart else {
                        throw overrunOr(.corrupt("invalid distance too far back"))
                    }
                    guard position + length <= total else { throw overrunOr(.longerThanExpected) }
                    if position - distance >= headCount {
                        if distance == 1, length == CRC32.runLength {
                            // A run of one byte (most of a label map): memset, and the CRC by table.
                            updateCRC(upTo: position)
                            let byte = bodyBase[position - 1]
                            memset(bodyBase + position, Int32(byte), length)
                            crc = CRC32.updateWithRun(crc, of: byte)
                            crcPosition = position + length
                        } else {
                            Self.copyMatch(to: bodyBase + position, distance: distance, length: length)
                        }
                    } else {
                        for k in 0..<length { put(byte(at: position + k - distance), at: position + k) }
                    }
                    position += length
                }
            }
        }
    }

    /// A truncated input shows up as garbage codes: report it as truncation when the input was overrun.
    private func overrunOr(_ error: GzipDecodingError) -> GzipDecodingError {
        overrunBytes * 8 > bitCount ? .truncated(decodedBytes: position) : error
    }

    /// `length` bytes at `destination` copied from `distance` bytes before it (overlapping: the pattern repeats).
    @inline(__always)
    static func copyMatch(to destination: UnsafeMutablePointer<UInt8>, distance: Int, length: Int) {
        let source = destination - distance
        if distance >= length {
            if length <= 16 {
                for k in 0..<length { destination[k] = source[k] }
            } else {
                memcpy(destination, source, length)
            }
        } else if distance == 1 {
            memset(destination, Int32(source.pointee), length)
        } else {
            // source ..< destination + copied repeats with period `distance`; chunks double and never overlap.
            var copied = 0
            while copied < length {
                let count = min(copied + distance, length - copied)
                memcpy(destination + copied, source, count)
                copied += count
            }
        }
    }
}
