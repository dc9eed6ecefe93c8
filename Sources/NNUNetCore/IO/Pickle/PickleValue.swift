/// A value decoded from a Python pickle by ``PickleReader``: plain data only, never a live object.
///
/// Containers keep Python's order (`dict` entries in insertion order, as `OrderedDict` and Python 3.7+ dicts do).
/// NumPy arrays, NumPy dtypes and PyTorch tensor references (the torch zip checkpoint's `data.pkl`) have cases of
/// their own; everything else that a pickle could name is refused while reading.
public indirect enum PickleValue: Sendable, Equatable {
    /// Python `None`.
    case none
    /// Python `bool`.
    case bool(Bool)
    /// Python `int` (only values that fit in 64 bits are accepted).
    case int(Int)
    /// Python `float`.
    case float(Double)
    /// Python `str`.
    case string(String)
    /// Python `bytes`.
    case bytes([UInt8])
    /// Python `list`.
    case list([PickleValue])
    /// Python `tuple`.
    case tuple([PickleValue])
    /// Python `dict` or `OrderedDict`, entries in insertion order.
    case dict([Entry])
    /// Python `set` or `frozenset`, elements in pickle order.
    case set([PickleValue])
    /// A NumPy array (`numpy.ndarray`); NumPy scalars decode to plain numbers instead.
    case array(NumpyArray)
    /// A NumPy dtype.
    case dtype(NumpyDType)
    /// A PyTorch tensor in a zip checkpoint: a reference to its storage, not the data.
    case tensor(TorchTensorReference)
    /// A Python global named as data and never called, `module.name` (only for names the reader was given in
    /// ``PickleReader/allowedReferences``), e.g. a function listed in nnU-Net v2's `postprocessing.pkl`.
    case reference(String)

    /// One `dict` entry.
    public struct Entry: Sendable, Equatable {
        /// The entry's key.
        public var key: PickleValue
        /// The entry's value.
        public var value: PickleValue
        /// Creates an entry.
        public init(key: PickleValue, value: PickleValue) {
            self.key = key
            self.value = value
        }
    }

    /// The value of a `dict` entry whose key is the string `key`.
    public subscript(key: String) -> PickleValue? {
        guard case .dict(let entries) = self else { return nil }
        return entries.first { $0.key == .string(key) }?.value
    }

    /// The value of a `dict` entry whose key is the integer `key`.
    public subscript(intKey key: Int) -> PickleValue? {
        guard case .dict(let entries) = self else { return nil }
        return entries.first { $0.key == .int(key) }?.value
    }

    /// Elements of a list, tuple or set, or a 1-D array's elements; nil otherwise.
    public var elements: [PickleValue]? {
        switch self {
        case .list(let items), .tuple(let items), .set(let items): return items
        case .array(let array) where array.shape.count <= 1: return array.elementsAsValues
        default: return nil
        }
    }

    /// The string of a `.string` value; nil for every other case.
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }

    /// An integer (bools count, as in Python).
    public var intValue: Int? {
        switch self {
        case .int(let v): return v
        case .bool(let b): return b ? 1 : 0
        case .array(let a) where a.count == 1: return a.elementsAsValues.first?.intValue
        default: return nil
        }
    }

    /// A number as Double (ints and bools included).
    public var doubleValue: Double? {
        switch self {
        case .float(let v): return v
        case .int(let v): return Double(v)
        case .bool(let b): return b ? 1 : 0
        case .array(let a) where a.count == 1: return a.elementsAsValues.first?.doubleValue
        default: return nil
        }
    }
}

/// A NumPy dtype as pickled (`numpy.dtype('<f4')` plus its state).
public struct NumpyDType: Sendable, Equatable, CustomStringConvertible {
    /// Kind character: `f` float, `i` signed, `u` unsigned, `b` bool, `U` unicode (UCS-4), `S` bytes, `O` object.
    public var kind: Character
    /// Bytes per element (for `U`, 4 per character).
    public var itemSize: Int
    /// True for big-endian data.
    public var isBigEndian: Bool

    /// NumPy's `descr` spelling, e.g. `<f4` (byte order, kind, item size).
    public var description: String { (isBigEndian ? ">" : "<") + String(kind) + String(itemSize) }
}

/// A NumPy array decoded from a pickle: dtype, shape (C order unless `isFortranOrder`) and the raw bytes, or the
/// elements themselves for object arrays.
public struct NumpyArray: Sendable, Equatable {
    /// The element type.
    public var dtype: NumpyDType
    /// Dimensions (C order unless ``isFortranOrder``).
    public var shape: [Int]
    /// True when the elements are stored in Fortran (column-major) order.
    public var isFortranOrder: Bool
    /// Little/big-endian raw element bytes (empty for object arrays).
    public var rawBytes: [UInt8]
    /// Elements of an object (`O`) array.
    public var objects: [PickleValue]

    /// Number of elements (product of ``shape``).
    public var count: Int { shape.reduce(1, *) }

    /// The elements as pickle values (numbers, strings, bools, or the objects), in storage order.
    public var elementsAsValues: [PickleValue] {
        if dtype.kind == "O" { return objects }
        return (0..<count).map { element(at: $0) }
    }

    /// Elements converted to Double (numeric dtypes only), in storage order.
    public var doubles: [Double]? {
        guard "fiub".contains(dtype.kind) else { return nil }
        return (0..<count).map { element(at: $0).doubleValue ?? .nan }
    }

    /// Elements converted to Float (numeric dtypes only).
    public var floats: [Float]? { doubles?.map { Float($0) } }

    func element(at index: Int) -> PickleValue {
        let size = dtype.itemSize
        let start = index * size
        guard start + size <= rawBytes.count else { return .none }
        var bytes = Array(rawBytes[start..<(start + size)])
        if dtype.isBigEndian, dtype.kind != "U", dtype.kind != "S" { bytes.reverse() }
        func load<T>(_: T.Type) -> T { bytes.withUnsafeBytes { $0.loadUnaligned(as: T.self) } }
        switch (dtype.kind, size) {
        case ("f", 2): return .float(Double(Float(Float16Bits(load(UInt16.self)))))
        case ("f", 4): return .float(Double(load(Float.self)))
        case ("f", 8): return .float(load(Double.self))
        case ("i", 1): return .int(Int(load(Int8.self)))
        case ("i", 2): return .int(Int(load(Int16.self)))
        case ("i", 4): return .int(Int(load(Int32.self)))
        case ("i", 8): return .int(Int(load(Int64.self)))
        case ("u", 1): return .int(Int(load(UInt8.self)))
        case ("u", 2): return .int(Int(load(UInt16.self)))
        case ("u", 4): return .int(Int(load(UInt32.self)))
        case ("u", 8): return .int(Int(truncatingIfNeeded: load(UInt64.self)))
        case ("b", 1): return .bool(bytes[0] != 0)
        case ("U", _):
            var scalars: [Unicode.Scalar] = []
            for c in stride(from: 0, to: size, by: 4) {
                var code = UInt32(bytes[c]) | UInt32(bytes[c + 1]) << 8 | UInt32(bytes[c + 2]) << 16
                    | UInt32(bytes[c + 3]) << 24
                if dtype.isBigEndian { code = code.byteSwapped }
                if code == 0 { break }
                scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
            }
            return .string(String(String.UnicodeScalarView(scalars)))
        case ("S", _): return .bytes(Array(bytes.prefix { $0 != 0 }))
        default: return .none
        }
    }
}

/// Decodes IEEE half precision bits (NumPy `float16`) without relying on `Float16` availability.
@inline(__always) func Float16Bits(_ bits: UInt16) -> Float {
    let sign: Float = bits & 0x8000 != 0 ? -1 : 1
    let exponent = Int((bits >> 10) & 0x1F), mantissa = Float(bits & 0x3FF)
    if exponent == 0 { return sign * mantissa * 0x1p-24 }
    if exponent == 31 { return mantissa == 0 ? sign * .infinity : .nan }
    return sign * (1 + mantissa / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
}

/// A tensor inside a PyTorch zip checkpoint: where its storage lives and how to view it (`_rebuild_tensor_v2`).
public struct TorchTensorReference: Sendable, Equatable {
    /// The storage's key: the file `<archive>/data/<key>` holds its bytes.
    public var storageKey: String
    /// Storage class name, e.g. `FloatStorage`, `HalfStorage`, `LongStorage`.
    public var storageType: String
    /// Number of elements in the storage.
    public var storageElementCount: Int
    /// Element offset of the view into the storage.
    public var storageOffset: Int
    /// Dimensions of the view.
    public var shape: [Int]
    /// Strides of the view, in elements, per dimension.
    public var stride: [Int]
}

extension NumpyArray {
    /// An array of numbers from its raw little- or big-endian bytes (C order unless `isFortranOrder`).
    ///
    /// - Precondition: `rawBytes` holds `shape`'s element count times `dtype.itemSize` bytes, and `dtype` is not an
    ///   object type.
    public init(dtype: NumpyDType, shape: [Int], isFortranOrder: Bool = false, rawBytes: [UInt8]) {
        precondition(dtype.kind != "O" && rawBytes.count == shape.reduce(1, *) * dtype.itemSize,
                     "NumpyArray: \(rawBytes.count) bytes for shape \(shape) of \(dtype)")
        self.init(dtype: dtype, shape: shape, isFortranOrder: isFortranOrder, rawBytes: rawBytes, objects: [])
    }

    /// A C-order `int64` (`<i8`) array of `values` with `shape`.
    public static func int64(_ values: [Int], shape: [Int]) -> NumpyArray {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 8)
        for value in values { withUnsafeBytes(of: Int64(value).littleEndian) { bytes += $0 } }
        return NumpyArray(dtype: NumpyDType(kind: "i", itemSize: 8, isBigEndian: false), shape: shape,
                          rawBytes: bytes)
    }
}
