import Foundation

extension NIfTI {
    /// Reads a label map for counting: a uint8 file without scaling straight into bytes (one decompression pass
    /// into the array, no Float32 copy), any other file through the same conversion as ``read(_:)`` and then into
    /// bytes when its values allow (see ``LabelMap``).
    ///
    /// The values equal those of ``read(_:)`` for every file; the voxel block is decoded by a direct zlib stream
    /// (``read(_:)`` uses `gzread`), so the two readers check each other in the tests.
    ///
    /// - Parameter url: a `.nii` or `.nii.gz` file (NIfTI-1 or NIfTI-2).
    /// - Throws: ``CoreError/unreadableImage(path:reason:)`` naming the file for a missing, truncated, corrupt or
    ///   non-NIfTI file, ``CoreError/unsupportedDataType(path:code:)`` for complex/RGB data.
    public static func readLabelMap(_ url: URL) throws -> LabelMap {
        let (header, layout) = try readHeaderAndLayout(url.path)
        let count = header.voxelCount
        if header.dataType == .uint8, !layout.appliesScaling {
            let bytes = try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                adviseHugePages(UnsafeMutableRawBufferPointer(buffer))
                try NIfTIVoxelDecoder.read(path: layout.imagePath, reportedPath: layout.path, offset: layout.offset,
                                           dataType: header.dataType, into: UnsafeMutableRawBufferPointer(buffer))
                initialized = count
            }
            return LabelMap(voxels: .uint8(bytes), channels: header.channels, shape: header.shape,
                            geometry: header.geometry, sourceDataType: header.dataType)
        }
        let width = header.dataType.byteCount
        var raw = [UInt8](unsafeUninitializedCapacity: count * width) { _, initialized in initialized = count * width }
        try raw.withUnsafeMutableBytes { buffer in
            try NIfTIVoxelDecoder.read(path: layout.imagePath, reportedPath: layout.path, offset: layout.offset,
                                       dataType: header.dataType, into: buffer)
            if layout.swapsBytes { swapBytes(buffer, width: width) }
        }
        var values = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            raw.withUnsafeMutableBytes { source in
                convert(source.baseAddress!, dataType: header.dataType, count: count, into: out.baseAddress!)
            }
            initialized = count
        }
        layout.applyScaling(to: &values)
        return LabelMap(voxels: LabelMap.narrowed(values), channels: header.channels, shape: header.shape,
                        geometry: header.geometry, sourceDataType: header.dataType)
    }
}

/// Asks Linux to back a large, not yet touched buffer with transparent huge pages where the system allows it
/// (`madvise` mode): a 13 MB label map then costs a handful of page faults instead of about 3200, which were a third
/// of the time to read one. Advice only: nothing changes where huge pages are off, and other systems skip it.
func adviseHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
    #if os(Linux)
    let hugePage = 2 << 20
    guard buffer.count >= 2 * hugePage, let base = buffer.baseAddress else { return }
    let page = 4096
    let start = (Int(bitPattern: base) + page - 1) & ~(page - 1)
    let end = (Int(bitPattern: base) + buffer.count) & ~(page - 1)
    guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
    _ = madvise(pointer, end - start, MADV_HUGEPAGE)
    #endif
}
