/// Voxel data and its geometry kept together: what reading one NIfTI file gives.
///
/// Layout: `data` is C-ordered (channel, z, y, x), i.e. x varies fastest, exactly as NIfTI stores voxels and as
/// `SimpleITK.GetArrayFromImage` returns them. A 3D file has one channel; a 4D file (MSD multi-modal) has one channel
/// per volume along its fourth axis. Values are Float32 after `scl_slope`/`scl_inter`, like nnU-Net's float32 arrays.
public struct Volume: Sendable, Equatable {
    /// Voxel values, C order (channel, z, y, x).
    public var data: [Float]
    /// Number of channels (volumes along the fourth NIfTI axis).
    public var channels: Int
    /// Spatial shape in array order (z, y, x).
    public var shape: [Int]
    /// Physical placement of the grid.
    public var geometry: ImageGeometry
    /// The datatype stored in the file this volume came from (nil for volumes made in memory).
    public var sourceDataType: NIfTIDataType?

    /// Creates a volume; `data.count` must equal `channels * shape.product`.
    public init(data: [Float], channels: Int = 1, shape: [Int], geometry: ImageGeometry,
                sourceDataType: NIfTIDataType? = nil) {
        precondition(shape.count == 3, "Volume shape must be (z, y, x), got \(shape)")
        precondition(data.count == channels * shape.reduce(1, *),
                     "Volume data has \(data.count) values but channels \(channels) x shape \(shape) needs "
                     + "\(channels * shape.reduce(1, *))")
        self.data = data
        self.channels = channels
        self.shape = shape
        self.geometry = geometry
        self.sourceDataType = sourceDataType
    }

    /// Voxels per channel.
    public var voxelCount: Int { shape.reduce(1, *) }

    /// The values of one channel as a single-channel volume with the same geometry.
    public func channel(_ index: Int) -> Volume {
        precondition(index >= 0 && index < channels, "channel \(index) out of range 0..<\(channels)")
        let n = voxelCount
        return Volume(data: Array(data[(index * n)..<((index + 1) * n)]), channels: 1, shape: shape,
                      geometry: geometry, sourceDataType: sourceDataType)
    }

    /// Value at (z, y, x) of channel `c`.
    public subscript(c: Int, z: Int, y: Int, x: Int) -> Float {
        get { data[((c * shape[0] + z) * shape[1] + y) * shape[2] + x] }
        set { data[((c * shape[0] + z) * shape[1] + y) * shape[2] + x] = newValue }
    }
}
