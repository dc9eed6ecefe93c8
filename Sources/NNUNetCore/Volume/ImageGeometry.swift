/// Where a voxel grid sits in physical space, as SimpleITK (and therefore nnU-Net) reports it.
///
/// All three members use ITK's conventions: physical (x, y, z) order, LPS coordinates, and a row-major 3x3 direction
/// matrix whose column `j` is the unit direction of index axis `j`. These are the values nnU-Net stores as
/// `itk_spacing`, `itk_origin` and `itk_direction`. Array shapes and ``spacing`` are in nnU-Net's array order (z, y, x).
public struct ImageGeometry: Sendable, Equatable, Codable {
    /// Voxel size along the index axes (x, y, z), in millimetres.
    public var itkSpacing: [Double]
    /// Physical position of voxel (0, 0, 0) in LPS millimetres, (x, y, z).
    public var itkOrigin: [Double]
    /// Row-major 3x3 direction cosines (LPS).
    public var itkDirection: [Double]

    /// Creates a geometry from ITK-ordered values.
    public init(itkSpacing: [Double], itkOrigin: [Double], itkDirection: [Double]) {
        precondition(itkSpacing.count == 3 && itkOrigin.count == 3 && itkDirection.count == 9,
                     "ImageGeometry needs 3 spacings, 3 origin values and 9 direction values")
        self.itkSpacing = itkSpacing
        self.itkOrigin = itkOrigin
        self.itkDirection = itkDirection
    }

    /// Identity direction, zero origin and the given spacing in array order (z, y, x).
    public init(spacing: [Double]) {
        precondition(spacing.count == 3, "spacing must have 3 values (z, y, x)")
        self.init(itkSpacing: spacing.reversed(), itkOrigin: [0, 0, 0], itkDirection: [1, 0, 0, 0, 1, 0, 0, 0, 1])
    }

    /// Spacing in array order (z, y, x), as nnU-Net's `original_spacing`.
    public var spacing: [Double] { itkSpacing.reversed() }

    /// Whether two geometries agree within numpy's `isclose` (rtol 1e-5, atol 1e-8) in spacing, origin and
    /// direction, as nnU-Net's `verify_same_geometry` checks.
    public func isClose(to other: ImageGeometry) -> Bool {
        func close(_ a: [Double], _ b: [Double]) -> Bool {
            zip(a, b).allSatisfy { abs($0 - $1) <= 1e-8 + 1e-5 * abs($1) }
        }
        return close(itkSpacing, other.itkSpacing) && close(itkOrigin, other.itkOrigin)
            && close(itkDirection, other.itkDirection)
    }

    /// The three-letter orientation code (nibabel's `aff2axcodes`, RAS letters) of the index axes x, y, z.
    public var orientationCode: String {
        // Direction columns are LPS; convert to RAS by flipping the first two physical axes.
        var letters = ""
        for column in 0..<3 {
            let ras = [-itkDirection[column], -itkDirection[3 + column], itkDirection[6 + column]]
            let axis = (0..<3).max { abs(ras[$0]) < abs(ras[$1]) } ?? 0
            let positive = ["R", "A", "S"], negative = ["L", "P", "I"]
            letters += ras[axis] >= 0 ? positive[axis] : negative[axis]
        }
        return letters
    }
}
