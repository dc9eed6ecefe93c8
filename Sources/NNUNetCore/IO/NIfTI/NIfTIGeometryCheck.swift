import Foundation

extension NIfTI {
    /// The geometry fields of a NIfTI-1 or NIfTI-2 header exactly as stored, read from the raw bytes: libnifti
    /// replaces a non-finite quaternion or `qoffset` by 0 and a non-positive spacing by 1 before anyone sees them.
    struct RawGeometryFields {
        /// `dim[0]`, the number of dimensions (clamped to 1...7).
        var dimensionCount: Int
        /// `pixdim[0...7]`.
        var pixdim: [Double]
        var qformCode: Int, sformCode: Int
        /// `quatern_b`, `quatern_c`, `quatern_d`.
        var quaternion: [Double]
        /// `qoffset_x`, `qoffset_y`, `qoffset_z`.
        var qoffset: [Double]
        /// `srow_x`, `srow_y`, `srow_z`, four values each.
        var srow: [[Double]]

        /// Largest |cos| between two normalised sform axes accepted as orthogonal. The sform is stored in float32
        /// (about 1e-7 relative), so exact axes give far less; a real shear (gantry tilt) gives far more.
        static let orthogonalityTolerance = 1e-3

        /// Parses the fields; `bytes` holds at least the 348 bytes of a NIfTI-1 header (540 for NIfTI-2), whose
        /// magic ``NIfTI`` already checked.
        init(_ bytes: [UInt8]) {
            let sizeLE = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
            let little = sizeLE == 348 || sizeLE == 540
            let isNIfTI2 = sizeLE == 540 || sizeLE.byteSwapped == 540
            func integer(_ offset: Int, _ width: Int) -> Int {
                var value: UInt64 = 0
                for i in 0..<width {
                    let byte = UInt64(bytes[little ? offset + width - 1 - i : offset + i])
                    value = value << 8 | byte
                }
                switch width {
                case 2: return Int(Int16(truncatingIfNeeded: value))
                case 4: return Int(Int32(truncatingIfNeeded: value))
                default: return Int(truncatingIfNeeded: Int64(bitPattern: value))
                }
            }
            func real(_ offset: Int) -> Double {
                if isNIfTI2 { return Double(bitPattern: UInt64(bitPattern: Int64(integer(offset, 8)))) }
                return Double(Float(bitPattern: UInt32(truncatingIfNeeded: integer(offset, 4))))
            }
            if isNIfTI2 {
                dimensionCount = min(max(integer(16, 8), 1), 7)
                pixdim = (0..<8).map { real(104 + 8 * $0) }
                qformCode = integer(344, 4)
                sformCode = integer(348, 4)
                quaternion = (0..<3).map { real(352 + 8 * $0) }
                qoffset = (0..<3).map { real(376 + 8 * $0) }
                srow = (0..<3).map { row in (0..<4).map { real(400 + 32 * row + 8 * $0) } }
            } else {
                dimensionCount = min(max(integer(40, 2), 1), 7)
                pixdim = (0..<8).map { real(76 + 4 * $0) }
                qformCode = integer(252, 2)
                sformCode = integer(254, 2)
                quaternion = (0..<3).map { real(256 + 4 * $0) }
                qoffset = (0..<3).map { real(268 + 4 * $0) }
                srow = (0..<3).map { row in (0..<4).map { real(280 + 16 * row + 4 * $0) } }
            }
        }

        /// Checks the fields and says which transform gives the geometry.
        /// - Returns: whether the sform is used (`sform_code > 0` and its axes orthogonal, or no qform to fall back
        ///   to); otherwise the qform (or pixdim alone when both codes are 0).
        /// - Throws: ``CoreError/invalidGeometry(path:field:reason:)`` naming the first bad field.
        func validate(path: String) throws -> Bool {
            func fail(_ field: String, _ reason: String) -> CoreError {
                .invalidGeometry(path: path, field: field, reason: reason)
            }
            for axis in 1...min(dimensionCount, 3) where !(pixdim[axis].isFinite && pixdim[axis] > 0) {
                throw fail("pixdim[\(axis)]", "is \(pixdim[axis]): the spacing along axis \(axis) must be a finite "
                           + "number above 0")
            }
            if qformCode > 0 {
                for (name, value) in zip(["quatern_b", "quatern_c", "quatern_d"], quaternion) where !value.isFinite {
                    throw fail(name, "is \(value) (qform_code \(qformCode)): the direction must be finite")
                }
                for (name, value) in zip(["qoffset_x", "qoffset_y", "qoffset_z"], qoffset) where !value.isFinite {
                    throw fail(name, "is \(value) (qform_code \(qformCode)): the origin must be finite")
                }
            }
            guard sformCode > 0 else { return false }
            for (row, name) in ["srow_x", "srow_y", "srow_z"].enumerated() {
                for column in 0..<4 where !srow[row][column].isFinite {
                    throw fail("\(name)[\(column)]", "is \(srow[row][column]) (sform_code \(sformCode)): the "
                               + (column == 3 ? "origin" : "direction") + " must be finite")
                }
            }
            let columns = (0..<3).map { column in (0..<3).map { srow[$0][column] } }
            let norms = columns.map { $0.map { $0 * $0 }.reduce(0, +).squareRoot() }
            var problem: String?
            if let axis = norms.firstIndex(where: { !($0 > 0) }) {
                problem = "has a zero column \(axis) (a degenerate affine)"
            } else {
                for (a, b) in [(0, 1), (0, 2), (1, 2)] {
                    let cosine = (0..<3).map { columns[a][$0] * columns[b][$0] }.reduce(0, +) / (norms[a] * norms[b])
                    if abs(cosine) > Self.orthogonalityTolerance {
                        problem = "has axes \(a) and \(b) at cos = \(String(format: "%.4f", cosine)), not orthogonal "
                            + "(a sheared affine): the direction is not orthonormal"
                        break
                    }
                }
            }
            guard let problem else { return true }
            // As ITK: a valid qform is used instead of a non-orthonormal sform.
            if qformCode > 0 { return false }
            throw fail("srow_x/srow_y/srow_z", problem + " and there is no qform (qform_code 0) to use instead")
        }
    }
}
