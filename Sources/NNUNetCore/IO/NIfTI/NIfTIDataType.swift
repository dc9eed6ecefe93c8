import CNIfTI

/// The NIfTI voxel datatypes this package reads and writes.
///
/// Raw values are the `DT_*` codes of the NIfTI-1 standard. Complex, RGB and 128-bit types are not supported
/// (nnU-Net cannot use them either).
public enum NIfTIDataType: Int32, Sendable, CaseIterable, Codable, CustomStringConvertible {
    case uint8 = 2
    case int16 = 4
    case int32 = 8
    case float32 = 16
    case float64 = 64
    case int8 = 256
    case uint16 = 512
    case uint32 = 768
    case int64 = 1024

    /// Bytes per voxel.
    public var byteCount: Int {
        switch self {
        case .uint8, .int8: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32, .float32: return 4
        case .float64, .int64: return 8
        }
    }

    /// Whether values are stored as integers (so writing rounds and clamps).
    public var isInteger: Bool { self != .float32 && self != .float64 }

    /// The numpy spelling, used in messages and in files users inspect.
    public var description: String {
        switch self {
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .int16: return "int16"
        case .uint16: return "uint16"
        case .int32: return "int32"
        case .uint32: return "uint32"
        case .int64: return "int64"
        case .float32: return "float32"
        case .float64: return "float64"
        }
    }

    /// The representable range of an integer type (as Double), used to clamp when writing.
    var integerRange: ClosedRange<Double>? {
        switch self {
        case .uint8: return 0...255
        case .int8: return -128...127
        case .int16: return -32768...32767
        case .uint16: return 0...65535
        case .int32: return -2_147_483_648...2_147_483_647
        case .uint32: return 0...4_294_967_295
        case .int64: return -9.2233720368547748e18...9.2233720368547748e18
        case .float32, .float64: return nil
        }
    }
}
