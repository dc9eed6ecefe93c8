import Foundation

/// Writes plain ``PickleValue``s as a protocol-2 pickle that Python (2.7+ and 3.x) loads with `pickle.load`.
///
/// Supported: none, bools, ints, floats, strings, bytes, lists, tuples and dicts (written as plain `dict`s, which
/// nnU-Net reads wherever it wrote an `OrderedDict`), NumPy arrays of numbers (in numpy's own pickled form, through
/// `numpy.core.multiarray._reconstruct`) and references to globals (``PickleValue/reference(_:)``). Object arrays,
/// sets, dtypes and tensors are refused.
public enum PickleWriter {
    /// Encodes a value.
    /// - Throws: ``CoreError/invalidPickle(source:reason:)`` for values that have no plain-pickle form.
    public static func encode(_ value: PickleValue) throws -> [UInt8] {
        var out: [UInt8] = [0x80, 2]
        try write(value, into: &out)
        out.append(0x2E)  // STOP
        return out
    }

    /// Encodes a value and writes it atomically.
    public static func write(_ value: PickleValue, to url: URL) throws {
        try AtomicFile.write(Data(try encode(value)), to: url)
    }

    private static func write(_ value: PickleValue, into out: inout [UInt8]) throws {
        func le<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        switch value {
        case .none: out.append(0x4E)
        case .bool(let b): out.append(b ? 0x88 : 0x89)
        case .int(let v):
            if v >= 0, v < 256 { out.append(0x4B); out.append(UInt8(v)) }
            else if v >= Int(Int32.min), v <= Int(Int32.max) { out.append(0x4A); le(Int32(v)) }
            else { out.append(0x8A); out.append(8); le(Int64(v)) }
        case .float(let v):
            out.append(0x47)
            withUnsafeBytes(of: v.bitPattern.bigEndian) { out.append(contentsOf: $0) }
        case .string(let s):
            let utf8 = Array(s.utf8)
            out.append(0x58); le(UInt32(utf8.count)); out += utf8
        case .bytes(let b):
            // Protocol 2 has no bytes opcode: Python 3 writes _codecs.encode(latin-1 text, 'latin1').
            out += Array("c_codecs\nencode\n".utf8)
            let latin = String(String.UnicodeScalarView(b.map { Unicode.Scalar($0) }))
            try write(.tuple([.string(latin), .string("latin1")]), into: &out)
            out.append(0x52)
        case .list(let items):
            out.append(0x5D)
            if !items.isEmpty {
                out.append(0x28)
                for item in items { try write(item, into: &out) }
                out.append(0x65)
            }
        case .tuple(let items):
            out.append(0x28)
            for item in items { try write(item, into: &out) }
            out.append(0x74)
        case .dict(let entries):
            out.append(0x7D)
            if !entries.isEmpty {
                out.append(0x28)
                for entry in entries { try write(entry.key, into: &out); try write(entry.value, into: &out) }
                out.append(0x75)
            }
        case .reference(let name):
            // GLOBAL: module and name on two lines (the name is the part after the last dot).
            guard let dot = name.lastIndex(of: "."), !name.contains("\n") else {
                throw CoreError.invalidPickle(source: "writer", reason: "'\(name)' is not module.name")
            }
            out += Array("c\(name[..<dot])\n\(name[name.index(after: dot)...])\n".utf8)
        case .array(let array) where array.dtype.kind != "O":
            // numpy's own protocol-2 form: _reconstruct(ndarray, (0,), b'b'), then the state
            // (1, shape, dtype, is_fortran, raw bytes); the dtype is dtype('<kind><size>', False, True) with its state.
            out += Array("cnumpy.core.multiarray\n_reconstruct\n".utf8)
            out.append(0x28)
            out += Array("cnumpy\nndarray\n".utf8)
            try write(.tuple([.int(0)]), into: &out)
            try write(.bytes([0x62]), into: &out)
            out += [0x74, 0x52, 0x28]  // TUPLE, REDUCE, MARK
            try write(.int(1), into: &out)
            try write(.tuple(array.shape.map { .int($0) }), into: &out)
            out += Array("cnumpy\ndtype\n".utf8)
            try write(.tuple([.string(String(array.dtype.kind) + String(array.dtype.itemSize)), .bool(false),
                              .bool(true)]), into: &out)
            out.append(0x52)
            let order = array.dtype.itemSize == 1 ? "|" : array.dtype.isBigEndian ? ">" : "<"
            try write(.tuple([.int(3), .string(order), .none, .none, .none, .int(-1), .int(-1), .int(0)]), into: &out)
            out.append(0x62)  // BUILD the dtype
            try write(.bool(array.isFortranOrder), into: &out)
            try write(.bytes(array.rawBytes), into: &out)
            out += [0x74, 0x62]  // TUPLE, BUILD the array
        case .set, .array, .dtype, .tensor:
            throw CoreError.invalidPickle(source: "writer", reason: "only plain data can be written (got \(value))")
        }
    }
}
