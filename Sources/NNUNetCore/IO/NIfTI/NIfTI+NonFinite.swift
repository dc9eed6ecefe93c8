import CNIfTI
import Foundation

extension NIfTI {
    /// Counts NaN and infinite voxels of a float32/float64 NIfTI file by reading its raw voxels.
    ///
    /// libnifti replaces non-finite floats with 0 while loading (``read(_:)`` therefore never returns NaN), whereas
    /// SimpleITK, and hence nnU-Net v1, keeps them. Planning uses this to reject such images with a clear error
    /// instead of silently zeroing them. Integer files cannot hold NaN and return 0 without reading voxels.
    ///
    /// - Throws: ``CoreError/unreadableImage(path:reason:)`` for unreadable files.
    public static func countNonFiniteVoxels(_ url: URL) throws -> Int {
        let header = try readHeader(url)
        guard header.dataType == .float32 || header.dataType == .float64 else { return 0 }
        guard let file = gzopen(url.path, "rb") else {
            throw CoreError.unreadableImage(path: url.path, reason: "the file cannot be opened")
        }
        defer { gzclose(file) }
        var head = [UInt8](repeating: 0, count: 544)
        let got = head.withUnsafeMutableBytes { gzread(file, $0.baseAddress, 544) }
        guard got >= 348 else { throw CoreError.unreadableImage(path: url.path, reason: "truncated header") }
        func load<T: FixedWidthInteger>(_ type: T.Type, _ offset: Int, swapped: Bool) -> T {
            let v = head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
            return swapped ? v.byteSwapped : v
        }
        let size = load(Int32.self, 0, swapped: false)
        let swapped = size != 348 && size != 540
        let isTwo = (swapped ? size.byteSwapped : size) == 540
        let offset: Int
        if isTwo {
            offset = Int(load(Int64.self, 168, swapped: swapped))
        } else {
            let bits = load(UInt32.self, 108, swapped: swapped)
            offset = Int(Float(bitPattern: bits))
        }
        let count = header.shape.reduce(1, *) * header.channels
        let width = header.dataType == .float32 ? 4 : 8
        guard gzseek(file, offset, SEEK_SET) >= 0 else {
            throw CoreError.unreadableImage(path: url.path, reason: "cannot seek to the voxel data")
        }
        var remaining = count, bad = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while remaining > 0 {
            let chunk = min(remaining, buffer.count / width)
            let read = buffer.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32(chunk * width)) }
            guard read == chunk * width else {
                throw CoreError.unreadableImage(path: url.path, reason: "the voxel data is truncated")
            }
            buffer.withUnsafeBytes { raw in
                for i in 0..<chunk {
                    if width == 4 {
                        var bits = raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
                        if swapped { bits = bits.byteSwapped }
                        if !Float(bitPattern: bits).isFinite { bad += 1 }
                    } else {
                        var bits = raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
                        if swapped { bits = bits.byteSwapped }
                        if !Double(bitPattern: bits).isFinite { bad += 1 }
                    }
                }
            }
            remaining -= chunk
        }
        return bad
    }
}
