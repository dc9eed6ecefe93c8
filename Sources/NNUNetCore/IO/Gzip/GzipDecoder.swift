import CDeflate
import Foundation

/// Decodes a whole gzip file (RFC 1952, one or more members) held in memory into a caller's buffer with libdeflate
/// (Debian: libdeflate-dev), which checks every member's CRC-32 and length.
///
/// This is the fast path of ``NIfTIVoxelDecoder``; anything it cannot decode in one pass (a member holding more data
/// than the buffer, a truncated or corrupt file) is left to zlib's streaming `inflate`, which decodes what it can
/// and says exactly what is wrong, with `gzread`'s tolerance of a cut-off trailer.
enum GzipDecoder {
    /// Fills `output` with the first `output.count` bytes of the uncompressed data of `input`.
    ///
    /// Members follow each other; zero padding between them is skipped (as zlib's gz* functions do). Data after
    /// `output.count` bytes is not decoded once a member ends there.
    ///
    /// - Returns: true when `output` was filled from intact members; false otherwise (the contents of `output` are
    ///   then unspecified): the data ends early, is corrupt, or a member decodes to more bytes than remain.
    static func decode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Bool {
        guard let decompressor = libdeflate_alloc_decompressor() else { return false }
        defer { libdeflate_free_decompressor(decompressor) }
        guard let inputBase = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return output.isEmpty }
        var consumed = 0, produced = 0, members = 0
        while produced < output.count || members == 0 {
            if members > 0 { while consumed < input.count && inputBase[consumed] == 0 { consumed += 1 } }
            guard consumed < input.count else { return false }
            var memberIn = 0, memberOut = 0
            // An empty output buffer still needs an address for libdeflate; a member that decodes to nothing writes none.
            var placeholder: UInt8 = 0
            let result = withUnsafeMutablePointer(to: &placeholder) { fallback in
                libdeflate_gzip_decompress_ex(decompressor, inputBase + consumed, input.count - consumed,
                                              output.baseAddress.map { $0 + produced } ?? UnsafeMutableRawPointer(fallback),
                                              output.count - produced, &memberIn, &memberOut)
            }
            guard result == LIBDEFLATE_SUCCESS else { return false }
            consumed += memberIn
            produced += memberOut
            members += 1
        }
        return true
    }
}
