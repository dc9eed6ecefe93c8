import CNIfTI
import Foundation

/// Reading and writing NIfTI images (`.nii`, `.nii.gz`) through libnifti.
///
/// Geometry follows SimpleITK, which is what nnU-Net v1 uses: the array is (z, y, x) (last NIfTI axis first), and
/// spacing, origin and direction are ITK's (LPS, (x, y, z) order). The affine comes from the sform when
/// `sform_code > 0`, otherwise from the qform (or the pixdim-only "method 1" matrix when both codes are 0). An sform
/// whose axes are not orthogonal gives way to a valid qform, as in ITK.
///
/// The geometry is always checked (``CoreError/invalidGeometry(path:field:reason:)`` names the file and the header
/// field): the spacing (`pixdim`) of each spatial axis must be finite and above 0, and the quaternion, `qoffset` and
/// `srow` fields of a transform in use must be finite, with orthogonal axes. libnifti itself would silently replace a
/// non-finite quaternion or a non-positive spacing (so an image would silently flip or stretch) and pass a NaN sform
/// on into outputs.
public enum NIfTI {
    /// libnifti keeps one global option block; silence its own stderr messages once, before first use.
    /// Our errors carry the file name and the reason instead.
    static let configured: Void = { nifti_set_debug_level(0) }()

    /// Reads an image: all channels, values as Float32 with `scl_slope`/`scl_inter` applied.
    ///
    /// - Parameter url: a `.nii` or `.nii.gz` file (NIfTI-1 or NIfTI-2).
    /// - Returns: the voxels (channels from a 4D file's fourth axis) and the geometry.
    /// - Throws: ``CoreError/unreadableImage(path:reason:)`` naming the file for a missing, truncated or non-NIfTI
    ///   file, ``CoreError/unsupportedDataType(path:code:)`` for complex/RGB data.
    public static func read(_ url: URL) throws -> Volume {
        let (header, layout) = try readHeaderAndLayout(url.path)
        let count = header.voxelCount
        var values = [Float](repeating: 0, count: count)
        try readVoxels(header: header, layout: layout, into: &values)
        layout.applyScaling(to: &values)
        return Volume(data: values, channels: header.channels, shape: header.shape, geometry: header.geometry,
                      sourceDataType: header.dataType)
    }

    /// Reads only the header: shape, channels, datatype and geometry, without loading voxels.
    public static func readHeader(_ url: URL) throws -> Header {
        try readHeaderAndLayout(url.path).header
    }

    /// Where and how a file stores its voxels, besides what ``Header`` says.
    struct VoxelLayout {
        /// The file holding the voxels (the `.nii` itself for single-file NIfTI).
        var imagePath: String
        /// `vox_offset`: uncompressed bytes before the first voxel.
        var offset: Int
        /// Whether multi-byte voxels are in the other byte order than this machine's.
        var swapsBytes: Bool
        /// `scl_slope` and `scl_inter`.
        var slope: Double, intercept: Double
        /// The path named in errors.
        var path: String

        /// Whether `scl_slope`/`scl_inter` change the values (a zero, non-finite or identity scaling is ignored).
        var appliesScaling: Bool {
            slope.isFinite && intercept.isFinite && slope != 0 && !(slope == 1 && intercept == 0)
        }

        /// value × slope + intercept in double precision, rounded to Float32, when the scaling applies.
        func applyScaling(to values: inout [Float]) {
            guard appliesScaling else { return }
            for i in values.indices { values[i] = Float(Double(values[i]) * slope + intercept) }
        }
    }

    /// Checks and parses the header of `path` (libnifti), without loading voxels.
    static func readHeaderAndLayout(_ path: String) throws -> (header: Header, layout: VoxelLayout) {
        _ = configured
        let bytes = try checkHeader(path)
        let usesSform = try RawGeometryFields(bytes).validate(path: path)
        guard let nim = nifti_image_read(path, 0) else {
            throw CoreError.unreadableImage(path: path, reason: "libnifti could not parse the header")
        }
        defer { nifti_image_free(nim) }
        let header = try Header(nim.pointee, path: path, usesSform: usesSform)
        let layout = VoxelLayout(imagePath: nim.pointee.iname.map { String(cString: $0) } ?? path,
                                 offset: Int(nim.pointee.iname_offset),
                                 swapsBytes: header.dataType.byteCount > 1 && nim.pointee.byteorder != nifti_short_order(),
                                 slope: nim.pointee.scl_slope, intercept: nim.pointee.scl_inter, path: path)
        return (header, layout)
    }

    /// What a NIfTI header says about an image.
    public struct Header: Sendable, Equatable {
        /// Spatial shape (z, y, x).
        public var shape: [Int]
        /// Volumes along the fourth axis (1 for a 3D image).
        public var channels: Int
        /// The voxel type stored in the file (`datatype`).
        public var dataType: NIfTIDataType
        /// Spacing, origin and direction of the voxel grid.
        public var geometry: ImageGeometry

        var voxelCount: Int { channels * shape.reduce(1, *) }

        init(_ nim: nifti_image, path: String, usesSform: Bool) throws {
            guard let type = NIfTIDataType(rawValue: nim.datatype) else {
                throw CoreError.unsupportedDataType(path: path, code: nim.datatype)
            }
            dataType = type
            let dims = [nim.nx, nim.ny, nim.nz, nim.nt, nim.nu, nim.nv, nim.nw].map { max(Int($0), 1) }
            guard dims[4] == 1, dims[5] == 1, dims[6] == 1 else {
                throw CoreError.unreadableImage(
                    path: path, reason: "it has \(nim.ndim) dimensions \(dims); only 3D images and 4D "
                        + "multi-channel images are supported")
            }
            guard dims[0...3].allSatisfy({ $0 < 1 << 20 }), dims[0...3].reduce(1, *) < 1 << 34 else {
                throw CoreError.unreadableImage(path: path, reason: "implausible dimensions \(dims[0...3])")
            }
            shape = [dims[2], dims[1], dims[0]]
            channels = dims[3]

            let unitScale: Double
            switch nim.xyz_units & 0x07 {
            case NIFTI_UNITS_METER: unitScale = 1000
            case NIFTI_UNITS_MICRON: unitScale = 0.001
            default: unitScale = 1
            }
            let spacing = [nim.dx, nim.dy, nim.dz].map { $0 > 0 && $0.isFinite ? $0 * unitScale : 1.0 }
            let m = usesSform ? nim.sto_xyz.m : nim.qto_xyz.m
            let rows = [[m.0.0, m.0.1, m.0.2, m.0.3], [m.1.0, m.1.1, m.1.2, m.1.3], [m.2.0, m.2.1, m.2.2, m.2.3]]
            var direction = [Double](repeating: 0, count: 9)
            for column in 0..<3 {
                let norm = (0..<3).map { rows[$0][column] * rows[$0][column] }.reduce(0, +).squareRoot()
                for row in 0..<3 {
                    let lpsSign: Double = row < 2 ? -1 : 1
                    direction[row * 3 + column] = norm > 0 ? lpsSign * rows[row][column] / norm
                        : (row == column ? lpsSign : 0)
                }
            }
            let origin = [-rows[0][3] * unitScale, -rows[1][3] * unitScale, rows[2][3] * unitScale]
            geometry = ImageGeometry(itkSpacing: spacing, itkOrigin: origin, itkDirection: direction)
            let transform = usesSform ? "srow_x/srow_y/srow_z" : nim.qform_code > 0 ? "quatern_b/c/d, qoffset_x/y/z"
                : "pixdim"
            for (name, values) in [("spacing", spacing), ("origin", origin), ("direction", direction)]
            where !values.allSatisfy(\.isFinite) {
                throw CoreError.invalidGeometry(path: path, field: transform, reason: "gives a non-finite \(name) "
                                                + "\(values) (values too large for the units?)")
            }
        }
    }

    /// Checks the first bytes (through zlib, so plain and gzipped files alike) for a NIfTI-1 or NIfTI-2 header, so
    /// that a non-NIfTI or badly truncated file gets a precise message instead of libnifti's generic failure.
    /// - Returns: the first 544 bytes (fewer for a short NIfTI-1 file).
    private static func checkHeader(_ path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CoreError.unreadableImage(path: path, reason: "the file does not exist")
        }
        guard !isDirectory.boolValue else {
            throw CoreError.unreadableImage(path: path, reason: "it is a folder, not a file")
        }
        guard path.hasSuffix(".nii") || path.hasSuffix(".nii.gz") else {
            throw CoreError.unreadableImage(path: path, reason: "only .nii and .nii.gz files are supported")
        }
        guard let file = gzopen(path, "rb") else {
            throw CoreError.unreadableImage(path: path, reason: "the file cannot be opened (permissions?)")
        }
        defer { gzclose(file) }
        var bytes = [UInt8](repeating: 0, count: 544)
        let got = bytes.withUnsafeMutableBytes { gzread(file, $0.baseAddress, 544) }
        guard got >= 348 else {
            throw CoreError.unreadableImage(
                path: path, reason: got < 0 ? "the gzip stream is corrupt" : "the file is too short for a NIfTI header "
                    + "(\(max(got, 0)) bytes; truncated?)")
        }
        let sizeLE = Int32(bytes[0]) | Int32(bytes[1]) << 8 | Int32(bytes[2]) << 16 | Int32(bytes[3]) << 24
        let sizeBE = sizeLE.byteSwapped
        let isNIfTI1 = (sizeLE == 348 || sizeBE == 348) && (bytes[344] == 0x6E /* n */)
            && (bytes[345] == 0x2B || bytes[345] == 0x69) && bytes[346] == 0x31
        let isNIfTI2 = (sizeLE == 540 || sizeBE == 540) && got >= 540 && bytes[4] == 0x6E
            && (bytes[5] == 0x2B || bytes[5] == 0x69) && bytes[6] == 0x32
        guard isNIfTI1 || isNIfTI2 else {
            throw CoreError.unreadableImage(path: path, reason: "it is not a NIfTI-1 or NIfTI-2 file (no NIfTI magic)")
        }
        return Array(bytes.prefix(Int(got)))
    }

    /// Reads the voxel block with zlib (plain and gzipped files alike) instead of `nifti_image_load`, which silently
    /// replaces NaN and infinite floats by 0: SimpleITK keeps them, and the integrity check must see them.
    private static func readVoxels(header: Header, layout: VoxelLayout, into values: inout [Float]) throws {
        let path = layout.path
        let byteCount = header.voxelCount * header.dataType.byteCount
        guard let file = gzopen(layout.imagePath, "rb") else {
            throw CoreError.unreadableImage(path: path, reason: "the voxel data file cannot be opened")
        }
        defer { gzclose(file) }
        _ = gzbuffer(file, 1 << 17)
        guard gzseek(file, layout.offset, SEEK_SET) == layout.offset else {
            throw CoreError.unreadableImage(path: path, reason: "the file ends before its voxel data (truncated?)")
        }
        var raw = [UInt8](repeating: 0, count: byteCount)
        var done = 0
        try raw.withUnsafeMutableBytes { buffer in
            while done < byteCount {
                let chunk = UInt32(min(byteCount - done, 1 << 30))
                let got = gzread(file, buffer.baseAddress! + done, chunk)
                guard got > 0 else {
                    throw CoreError.unreadableImage(
                        path: path, reason: got < 0 ? "the compressed data is corrupt"
                            : "the file is truncated: \(done) of \(byteCount) bytes of \(header.dataType) voxel data")
                }
                done += Int(got)
            }
        }
        raw.withUnsafeMutableBytes { source in
            if layout.swapsBytes { swapBytes(source, width: header.dataType.byteCount) }
            values.withUnsafeMutableBufferPointer { out in
                convert(source.baseAddress!, dataType: header.dataType, count: header.voxelCount,
                        into: out.baseAddress!)
            }
        }
    }

    /// Reverses the bytes of every `width`-byte value in place.
    static func swapBytes(_ raw: UnsafeMutableRawBufferPointer, width: Int) {
        guard width > 1, let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        for start in stride(from: 0, to: raw.count - width + 1, by: width) {
            var low = start, high = start + width - 1
            while low < high {
                let t = base[low]; base[low] = base[high]; base[high] = t
                low += 1; high -= 1
            }
        }
    }

    /// Widens raw voxels of `dataType` to Float32.
    static func convert(_ raw: UnsafeMutableRawPointer, dataType: NIfTIDataType, count: Int,
                        into out: UnsafeMutablePointer<Float>) {
        func widen<T>(_ type: T.Type, _ transform: (T) -> Float) {
            let source = raw.bindMemory(to: T.self, capacity: count)
            for i in 0..<count { out[i] = transform(source[i]) }
        }
        switch dataType {
        case .uint8: widen(UInt8.self) { Float($0) }
        case .int8: widen(Int8.self) { Float($0) }
        case .int16: widen(Int16.self) { Float($0) }
        case .uint16: widen(UInt16.self) { Float($0) }
        case .int32: widen(Int32.self) { Float($0) }
        case .uint32: widen(UInt32.self) { Float($0) }
        case .int64: widen(Int64.self) { Float($0) }
        case .float32: widen(Float.self) { $0 }
        case .float64: widen(Double.self) { Float($0) }
        }
    }
}
