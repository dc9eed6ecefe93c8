/// A label map (segmentation) read for counting: its voxels as bytes whenever every value is an integer in 0...255,
/// as label maps are, and as Float32 otherwise.
///
/// Layout as ``Volume``: C order (channel, z, y, x), x fastest. The values are exactly those ``NIfTI/read(_:)``
/// returns for the same file (after `scl_slope`/`scl_inter`); only their storage differs, so comparing a voxel with an
/// integer label gives the same answer either way, at a quarter of the memory traffic for bytes.
public struct LabelMap: Sendable, Equatable {
    /// The voxel values in one of two storages.
    public enum Voxels: Sendable, Equatable {
        /// Every value is an integer in 0...255.
        case uint8([UInt8])
        /// Any other values (negative or large labels, fractions, NaN), as ``NIfTI/read(_:)`` returns them.
        case float([Float])
    }

    /// Voxel values, C order (channel, z, y, x).
    public var voxels: Voxels
    /// Number of channels (volumes along the fourth NIfTI axis; 1 for a segmentation).
    public var channels: Int
    /// Spatial shape in array order (z, y, x).
    public var shape: [Int]
    /// Physical placement of the grid.
    public var geometry: ImageGeometry
    /// The datatype stored in the file the map came from (nil for maps made in memory).
    public var sourceDataType: NIfTIDataType?

    /// Creates a label map; the voxel count must equal `channels * shape.product`.
    public init(voxels: Voxels, channels: Int = 1, shape: [Int], geometry: ImageGeometry,
                sourceDataType: NIfTIDataType? = nil) {
        precondition(shape.count == 3, "LabelMap shape must be (z, y, x), got \(shape)")
        let count: Int
        switch voxels {
        case let .uint8(values): count = values.count
        case let .float(values): count = values.count
        }
        precondition(count == channels * shape.reduce(1, *),
                     "LabelMap has \(count) values but channels \(channels) x shape \(shape) needs "
                     + "\(channels * shape.reduce(1, *))")
        self.voxels = voxels
        self.channels = channels
        self.shape = shape
        self.geometry = geometry
        self.sourceDataType = sourceDataType
    }

    /// A label map holding a volume's values: bytes when they all are integers in 0...255.
    public init(_ volume: Volume) {
        self.init(voxels: Self.narrowed(volume.data), channels: volume.channels, shape: volume.shape,
                  geometry: volume.geometry, sourceDataType: volume.sourceDataType)
    }

    /// Voxels per channel.
    public var voxelCount: Int { shape.reduce(1, *) }

    /// The values as Float32, exactly as ``NIfTI/read(_:)`` returns them.
    public var floatValues: [Float] {
        switch voxels {
        case let .uint8(values): return values.map { Float($0) }
        case let .float(values): return values
        }
    }

    /// The same voxels and geometry as a ``Volume``.
    public var volume: Volume {
        Volume(data: floatValues, channels: channels, shape: shape, geometry: geometry, sourceDataType: sourceDataType)
    }

    /// `.uint8` when every value is an integer in 0...255 (NaN is not), else `.float` with the values unchanged.
    static func narrowed(_ values: [Float]) -> Voxels {
        let fitsInBytes = values.withUnsafeBufferPointer { buffer in
            buffer.allSatisfy { $0 >= 0 && $0 <= 255 && $0.rounded(.towardZero) == $0 }
        }
        guard fitsInBytes else { return .float(values) }
        return .uint8(values.map { UInt8($0) })
    }
}
