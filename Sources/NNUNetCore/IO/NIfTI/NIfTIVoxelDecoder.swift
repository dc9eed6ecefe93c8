import CNIfTI
import Foundation

/// Copies a NIfTI file's voxel block straight into a caller's buffer: `pread` for a plain `.nii`; for a gzipped one
/// the compressed file is read whole and decoded by ``GzipDecoder`` (libdeflate), with zlib's streaming `inflate` as
/// the fallback for files whose compressed data does not end with the voxels, is damaged, or is too large to hold in
/// memory.
///
/// ``NIfTI/read(_:)`` uses `gzread` after `gzseek` instead; the tests compare the two. Whether a file is gzipped is
/// decided by its first two bytes (`1f 8b`), as zlib's `gzopen` does, not by its name.
enum NIfTIVoxelDecoder {
    /// Compressed files up to this size are read whole and decoded by ``GzipDecoder`` (libdeflate).
    static let wholeFileLimit = 1 << 30

    /// Compressed bytes read from disk per `read` call.
    static let inputChunk = 1 << 20

    /// Fills `destination` with the bytes at `offset ..< offset + destination.count` of the uncompressed file.
    ///
    /// - Parameters:
    ///   - path: the file holding the voxels (`iname`; the `.nii` itself for single-file NIfTI).
    ///   - reportedPath: the file named in errors (the image the caller asked for).
    ///   - offset: `vox_offset`, in uncompressed bytes.
    ///   - dataType: only used in messages.
    /// - Throws: ``CoreError/unreadableImage(path:reason:)`` for a file that cannot be opened, is truncated or whose
    ///   compressed data is corrupt (including a CRC mismatch).
    static func read(path: String, reportedPath: String, offset: Int, dataType: NIfTIDataType,
                     into destination: UnsafeMutableRawBufferPointer) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw CoreError.unreadableImage(path: reportedPath, reason: "the voxel data file cannot be opened")
        }
        defer { close(descriptor) }
        var magic: (UInt8, UInt8) = (0, 0)
        let magicBytes = withUnsafeMutableBytes(of: &magic) { pread(descriptor, $0.baseAddress, 2, 0) }
        let isGzip = magicBytes == 2 && magic.0 == 0x1F && magic.1 == 0x8B
        if isGzip {
            var status = stat()
            let size = fstat(descriptor, &status) == 0 ? Int(status.st_size) : -1
            if size >= 0, size <= wholeFileLimit,
               try decodeWhole(descriptor, size: size, reportedPath: reportedPath, offset: offset, dataType: dataType,
                               into: destination) {
                return
            }
            guard lseek(descriptor, 0, SEEK_SET) == 0 else {
                throw CoreError.unreadableImage(path: reportedPath, reason: "the file cannot be re-read from its start")
            }
            try inflate(descriptor, reportedPath: reportedPath, offset: offset, dataType: dataType, into: destination)
        } else {
            try readPlain(descriptor, reportedPath: reportedPath, offset: offset, dataType: dataType, into: destination)
        }
    }

    private static func truncated(_ path: String, done: Int, of total: Int, _ dataType: NIfTIDataType) -> CoreError {
        .unreadableImage(path: path, reason: "the file is truncated: \(done) of \(total) bytes of \(dataType) voxel data")
    }

    /// Reads the whole compressed file and decodes it with ``GzipDecoder`` (libdeflate); false when libdeflate cannot
    /// decode it in one pass (more data than the header and voxels, a truncated or corrupt file): the caller then
    /// streams it through zlib, which reports what is wrong.
    ///
    /// libdeflate writes one contiguous buffer, so the header and voxels are decoded together and the voxels copied
    /// into `destination` (a copy costs far less than the decompression).
    private static func decodeWhole(_ descriptor: Int32, size: Int, reportedPath: String, offset: Int,
                                    dataType: NIfTIDataType, into destination: UnsafeMutableRawBufferPointer) throws
        -> Bool {
        let compressed = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 16)
        defer { compressed.deallocate() }
        let readable = UnsafeMutableRawBufferPointer(rebasing: compressed[0..<size])
        try readPlain(descriptor, reportedPath: reportedPath, offset: 0, dataType: dataType, into: readable,
                      describesCompressedFile: true)
        if offset == 0 { return GzipDecoder.decode(UnsafeRawBufferPointer(readable), into: destination) }
        let whole = UnsafeMutableRawBufferPointer.allocate(byteCount: offset + destination.count, alignment: 16)
        defer { whole.deallocate() }
        guard GzipDecoder.decode(UnsafeRawBufferPointer(readable), into: whole) else { return false }
        if let target = destination.baseAddress, let source = whole.baseAddress {
            target.copyMemory(from: source + offset, byteCount: destination.count)
        }
        return true
    }

    private static func readPlain(_ descriptor: Int32, reportedPath: String, offset: Int, dataType: NIfTIDataType,
                                  into destination: UnsafeMutableRawBufferPointer,
                                  describesCompressedFile: Bool = false) throws {
        var done = 0
        while done < destination.count {
            let got = pread(descriptor, destination.baseAddress! + done, min(destination.count - done, 1 << 30),
                            off_t(offset + done))
            if got < 0, errno == EINTR { continue }
            guard got > 0 else {
                if got < 0 {
                    throw CoreError.unreadableImage(path: reportedPath, reason: "reading failed: \(String(cString: strerror(errno)))")
                }
                if describesCompressedFile {
                    throw CoreError.unreadableImage(path: reportedPath, reason: "the file shrank while it was read")
                }
                throw truncated(reportedPath, done: done, of: destination.count, dataType)
            }
            done += got
        }
    }

    /// Inflates the gzip stream (one or more members): the first `offset` bytes into a small scratch buffer, the
    /// voxels into `destination`, then the rest of the member so that zlib checks the CRC and length in the trailer.
    private static func inflate(_ descriptor: Int32, reportedPath: String, offset: Int, dataType: NIfTIDataType,
                                into destination: UnsafeMutableRawBufferPointer) throws {
        var stream = z_stream()
        // windowBits 15 + 16: gzip wrapper only (the magic was checked), so zlib verifies CRC-32 and ISIZE.
        guard inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw CoreError.unreadableImage(path: reportedPath, reason: "zlib could not be initialised (out of memory?)")
        }
        defer { inflateEnd(&stream) }
        let input = UnsafeMutablePointer<UInt8>.allocate(capacity: inputChunk)
        defer { input.deallocate() }
        var endOfFile = false
        var streamEnded = false

        /// Refills the input when zlib has consumed it; returns false at the end of the file.
        func refill() throws -> Bool {
            guard stream.avail_in == 0 else { return true }
            guard !endOfFile else { return false }
            var got: Int
            repeat { got = Foundation.read(descriptor, input, inputChunk) } while got < 0 && errno == EINTR
            guard got >= 0 else {
                throw CoreError.unreadableImage(path: reportedPath, reason: "reading failed: \(String(cString: strerror(errno)))")
            }
            if got == 0 { endOfFile = true; return false }
            stream.next_in = input
            stream.avail_in = UInt32(got)
            return true
        }

        /// Inflates into `target` until it is full; returns the bytes written. Stops early at the end of the file, and
        /// at the end of a gzip member unless `acrossMembers`.
        func fill(_ target: UnsafeMutableRawPointer, count: Int, acrossMembers: Bool = true) throws -> Int {
            var written = 0
            while written < count {
                if streamEnded {
                    guard acrossMembers else { return written }
                    // Another gzip member may follow (concatenated members are one gzip file); skip padding zeros.
                    guard try refill() else { return written }
                    while stream.avail_in > 0 && stream.next_in.pointee == 0 { stream.next_in += 1; stream.avail_in -= 1 }
                    if stream.avail_in == 0 { continue }
                    guard inflateReset(&stream) == Z_OK else { return written }
                    streamEnded = false
                }
                if stream.avail_in == 0, !(try refill()) { return written }
                let space = UInt32(min(count - written, Int(UInt32.max)))
                stream.next_out = (target + written).assumingMemoryBound(to: UInt8.self)
                stream.avail_out = space
                let status = CNIfTI.inflate(&stream, Z_NO_FLUSH)
                written += Int(space - stream.avail_out)
                switch status {
                case Z_OK, Z_BUF_ERROR:
                    // Z_BUF_ERROR: no progress possible with the input at hand; refill decides whether more comes.
                    if status == Z_BUF_ERROR, stream.avail_in > 0, stream.avail_out > 0 {
                        throw CoreError.unreadableImage(path: reportedPath, reason: "the compressed data is corrupt")
                    }
                case Z_STREAM_END:
                    streamEnded = true
                case Z_DATA_ERROR:
                    let detail = stream.msg.map { String(cString: $0) } ?? "invalid deflate data"
                    throw CoreError.unreadableImage(path: reportedPath, reason: "the compressed data is corrupt (\(detail))")
                case Z_MEM_ERROR:
                    throw CoreError.unreadableImage(path: reportedPath, reason: "out of memory while decompressing")
                default:
                    throw CoreError.unreadableImage(path: reportedPath, reason: "the compressed data is corrupt (zlib status \(status))")
                }
            }
            return written
        }

        // The header (and extensions) before vox_offset: inflated into scratch space and dropped.
        var skipped = 0
        if offset > 0 {
            let scratchSize = min(offset, 1 << 16)
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchSize, alignment: 16)
            defer { scratch.deallocate() }
            while skipped < offset {
                let got = try fill(scratch, count: min(scratchSize, offset - skipped))
                skipped += got
                if got == 0 { break }
            }
            guard skipped == offset else {
                throw CoreError.unreadableImage(path: reportedPath, reason: "the file ends before its voxel data (truncated?)")
            }
        }
        guard let base = destination.baseAddress, destination.count > 0 else { return }
        let done = try fill(base, count: destination.count)
        guard done == destination.count else { throw truncated(reportedPath, done: done, of: destination.count, dataType) }
        // Finish the member: zlib checks the trailer's CRC-32 and length only when it reaches the end of the stream.
        // Voxel data normally ends the file, so this inflates nothing but the last block's end and the trailer.
        if !streamEnded {
            var tail = [UInt8](repeating: 0, count: 4096)
            var extra = 0
            while !streamEnded, extra < 1 << 24 {
                let got = try tail.withUnsafeMutableBytes {
                    try fill($0.baseAddress!, count: $0.count, acrossMembers: false)
                }
                if got < tail.count && !streamEnded { break }  // the file ends without a trailer: tolerated, as gzread
                extra += got
            }
        }
    }
}
