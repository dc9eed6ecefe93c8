import CNIfTI
import Foundation

extension NIfTI {
    /// Writes a volume as NIfTI-1, gzipped when the name ends in `.nii.gz`, atomically (a temporary file in the same
    /// folder, then a rename), so that an interrupted write never leaves a partial image under the final name.
    ///
    /// The header gets the geometry the way SimpleITK writes it: qform and sform (both code 1, scanner anatomical)
    /// from spacing, origin and direction, millimetre units. Integer types round to nearest and clamp to their range.
    ///
    /// - Parameters:
    ///   - volume: data (channel, z, y, x) and geometry; more than one channel writes a 4D image.
    ///   - url: destination `.nii` or `.nii.gz`.
    ///   - dataType: voxel type on disk (e.g. `.uint8` for label maps, `.float32` for images).
    public static func write(_ volume: Volume, to url: URL, dataType: NIfTIDataType = .float32) throws {
        _ = configured
        let path = url.path
        guard path.hasSuffix(".nii") || path.hasSuffix(".nii.gz") else {
            throw CoreError.unwritableImage(path: path, reason: "the name must end in .nii or .nii.gz")
        }
        let folder = url.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw CoreError.unwritableImage(path: path, reason: "the folder '\(folder.path)' does not exist")
        }
        let suffix = path.hasSuffix(".nii.gz") ? ".nii.gz" : ".nii"
        let temporary = TemporaryFile.url(for: url).path
        try checkGeometry(volume.geometry, path: path)

        let shape = volume.shape
        var dims: [Int64] = [volume.channels > 1 ? 4 : 3, Int64(shape[2]), Int64(shape[1]), Int64(shape[0]),
                             Int64(volume.channels), 1, 1, 1]
        guard let nim = nifti_make_new_nim(&dims, dataType.rawValue, 1) else {
            throw CoreError.unwritableImage(path: path, reason: "libnifti could not allocate the image")
        }
        defer { nifti_image_free(nim) }
        guard let raw = nim.pointee.data, Int(nim.pointee.nvox) == volume.data.count else {
            throw CoreError.unwritableImage(path: path, reason: "libnifti allocated a different voxel count")
        }
        volume.data.withUnsafeBufferPointer { store($0, as: dataType, into: raw) }
        setGeometry(volume.geometry, of: nim)
        nim.pointee.nifti_type = NIFTI_FTYPE_NIFTI1_1
        nim.pointee.scl_slope = 1
        nim.pointee.scl_inter = 0
        guard nifti_set_filenames(nim, temporary, 0, 1) == 0 else {
            throw CoreError.unwritableImage(path: path, reason: "libnifti rejected the file name")
        }
        nifti_image_write(nim)
        // nifti_image_write reports failures only on stderr: check that a complete file appeared.
        let expectedBytes = Int64(max(nim.pointee.iname_offset, 352)) + Int64(volume.data.count * dataType.byteCount)
        guard writtenSize(temporary, gzipped: suffix == ".nii.gz") == expectedBytes else {
            unlink(temporary)
            throw CoreError.unwritableImage(path: path, reason: "writing failed (disk full or no permission?)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CoreError.unwritableImage(path: path, reason: "renaming the temporary file failed: \(reason)")
        }
    }

    /// Refuses a geometry that would put NaN or infinity into the header (a reader would get an unusable image).
    private static func checkGeometry(_ geometry: ImageGeometry, path: String) throws {
        func check(_ values: [Double], _ name: String, positive: Bool = false) throws {
            for (i, v) in values.enumerated() where !v.isFinite || (positive && v <= 0) {
                throw CoreError.unwritableImage(path: path, reason: "the \(name)[\(i)] of the image is \(v); a NIfTI "
                                                + "header needs finite values\(positive ? " above 0" : "")")
            }
        }
        try check(geometry.itkSpacing, "spacing", positive: true)
        try check(geometry.itkOrigin, "origin")
        try check(geometry.itkDirection, "direction")
    }

    /// The uncompressed size of a written file: the file size, or the gzip trailer's ISIZE (exact below 4 GiB).
    private static func writtenSize(_ path: String, gzipped: Bool) -> Int64 {
        let size = nifti_get_filesize(path)
        guard gzipped else { return size }
        guard size >= 18, let handle = FileHandle(forReadingAtPath: path) else { return -1 }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: UInt64(size - 4))) != nil, let tail = try? handle.read(upToCount: 4),
              tail.count == 4 else { return -1 }
        let isize = tail.reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) }
        return isize
    }

    /// Sets pixdim, qform and sform (RAS, as the NIfTI standard wants) from an ITK (LPS) geometry.
    private static func setGeometry(_ geometry: ImageGeometry, of nim: UnsafeMutablePointer<nifti_image>) {
        let spacing = geometry.itkSpacing, origin = geometry.itkOrigin, direction = geometry.itkDirection
        var affine = nifti_dmat44()
        withUnsafeMutableBytes(of: &affine.m) { buffer in
            let m = buffer.bindMemory(to: Double.self)
            for row in 0..<3 {
                let lpsToRas: Double = row < 2 ? -1 : 1
                for column in 0..<3 { m[row * 4 + column] = lpsToRas * direction[row * 3 + column] * spacing[column] }
                m[row * 4 + 3] = lpsToRas * origin[row]
            }
            m[15] = 1
        }
        nim.pointee.dx = spacing[0]; nim.pointee.dy = spacing[1]; nim.pointee.dz = spacing[2]
        nim.pointee.pixdim.1 = spacing[0]; nim.pointee.pixdim.2 = spacing[1]; nim.pointee.pixdim.3 = spacing[2]
        nim.pointee.xyz_units = NIFTI_UNITS_MM
        nim.pointee.time_units = NIFTI_UNITS_SEC
        nim.pointee.sform_code = NIFTI_XFORM_SCANNER_ANAT
        nim.pointee.sto_xyz = affine
        nim.pointee.sto_ijk = nifti_dmat44_inverse(affine)
        nim.pointee.qform_code = NIFTI_XFORM_SCANNER_ANAT
        var qb = 0.0, qc = 0.0, qd = 0.0, qx = 0.0, qy = 0.0, qz = 0.0, dx = 0.0, dy = 0.0, dz = 0.0, qfac = 0.0
        nifti_dmat44_to_quatern(affine, &qb, &qc, &qd, &qx, &qy, &qz, &dx, &dy, &dz, &qfac)
        nim.pointee.quatern_b = qb; nim.pointee.quatern_c = qc; nim.pointee.quatern_d = qd
        nim.pointee.qoffset_x = qx; nim.pointee.qoffset_y = qy; nim.pointee.qoffset_z = qz
        nim.pointee.qfac = qfac
        nim.pointee.qto_xyz = affine
        nim.pointee.qto_ijk = nifti_dmat44_inverse(affine)
    }

    /// Narrows Float32 values to the on-disk type (rounding and clamping integers).
    private static func store(_ values: UnsafeBufferPointer<Float>, as dataType: NIfTIDataType,
                              into raw: UnsafeMutableRawPointer) {
        let count = values.count
        func narrow<T>(_ type: T.Type, _ transform: (Double) -> T) {
            let target = raw.bindMemory(to: T.self, capacity: count)
            let range = dataType.integerRange
            for i in 0..<count {
                var v = Double(values[i])
                if let range {
                    v = v.isNaN ? 0 : min(max(v.rounded(.toNearestOrEven), range.lowerBound), range.upperBound)
                }
                target[i] = transform(v)
            }
        }
        switch dataType {
        case .uint8: narrow(UInt8.self) { UInt8($0) }
        case .int8: narrow(Int8.self) { Int8($0) }
        case .int16: narrow(Int16.self) { Int16($0) }
        case .uint16: narrow(UInt16.self) { UInt16($0) }
        case .int32: narrow(Int32.self) { Int32($0) }
        case .uint32: narrow(UInt32.self) { UInt32($0) }
        case .int64: narrow(Int64.self) { $0 >= 9.2233720368547748e18 ? Int64.max : Int64($0) }
        case .float32: narrow(Float.self) { Float($0) }
        case .float64: narrow(Double.self) { $0 }
        }
    }
}
