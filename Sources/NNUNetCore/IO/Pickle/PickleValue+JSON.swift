import Foundation

extension PickleValue {
    /// The value as a Foundation JSON object (`JSONSerialization`), converted the way nnU-Net's own JSON dumps of its
    /// pickles are: NumPy arrays become (nested) lists and 0-d arrays plain numbers, tuples and sets become lists,
    /// dict keys become strings (`1` → `"1"`), bytes become latin-1 text, and non-finite floats become `null`.
    ///
    /// This is how v1 pickles (`plans.pkl`, `.model.pkl`, properties) are decoded into this package's `Codable` types.
    /// Tensors have no JSON form and become `null`; a ``reference(_:)`` becomes its `module.name` text.
    public var jsonObject: Any {
        switch self {
        case .none, .tensor: return NSNull()
        case .bool(let b): return b
        case .int(let v): return v
        case .float(let v): return v.isFinite ? v : NSNull()
        case .string(let s), .reference(let s): return s
        case .bytes(let b): return String(String.UnicodeScalarView(b.map { Unicode.Scalar($0) }))
        case .list(let items), .tuple(let items), .set(let items): return items.map(\.jsonObject)
        case .dict(let entries):
            var object: [String: Any] = [:]
            for entry in entries { object[entry.key.jsonKey] = entry.value.jsonObject }
            return object
        case .dtype(let type): return type.description
        case .array(let array):
            let flat = array.elementsAsValues.map(\.jsonObject)
            if array.shape.isEmpty { return flat.first ?? NSNull() }
            // Fortran-ordered storage is reordered into C order first (any rank).
            let values = array.isFortranOrder ? Self.cOrder(fortran: flat, shape: array.shape) : flat
            func nest(_ values: ArraySlice<Any>, _ dims: ArraySlice<Int>) -> Any {
                guard let first = dims.first, dims.count > 1 else { return Array(values) }
                let block = dims.dropFirst().reduce(1, *)
                return (0..<first).map { i in
                    nest(values[(values.startIndex + i * block)..<(values.startIndex + (i + 1) * block)], dims.dropFirst())
                }
            }
            return nest(values[...], array.shape[...])
        }
    }

    /// The value as UTF-8 JSON text with the conversions of ``jsonObject``. Floats are written in their shortest
    /// round-trip form, so every float64 decodes back bit for bit (Foundation's `JSONSerialization` does not
    /// guarantee that).
    public func jsonData() throws -> Data {
        var out = ""
        Self.appendJSON(jsonObject, to: &out)
        return Data(out.utf8)
    }

    private static func appendJSON(_ object: Any, to out: inout String) {
        switch object {
        case is NSNull: out += "null"
        case let b as Bool: out += b ? "true" : "false"
        case let v as Int: out += String(v)
        case let v as Double: out += v.isFinite ? v.description : "null"
        case let s as String:
            out += "\""
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                default:
                    if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) }
                    else { out.unicodeScalars.append(scalar) }
                }
            }
            out += "\""
        case let items as [Any]:
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                appendJSON(item, to: &out)
            }
            out += "]"
        case let object as [String: Any]:
            out += "{"
            for (i, key) in object.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                appendJSON(key, to: &out)
                out += ":"
                appendJSON(object[key]!, to: &out)
            }
            out += "}"
        default: out += "null"
        }
    }

    private var jsonKey: String {
        switch self {
        case .string(let s): return s
        case .int(let v): return String(v)
        case .bool(let b): return b ? "True" : "False"
        case .float(let v): return String(v)
        case .none: return "None"
        default: return String(describing: jsonObject)
        }
    }

    /// Elements stored in Fortran order (first axis fastest), listed in C order (last axis fastest).
    private static func cOrder(fortran values: [Any], shape: [Int]) -> [Any] {
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in shape.indices.dropFirst() { strides[axis] = strides[axis - 1] * shape[axis - 1] }
        var index = [Int](repeating: 0, count: shape.count)
        var out: [Any] = []
        out.reserveCapacity(values.count)
        for _ in 0..<values.count {
            out.append(values[zip(index, strides).reduce(0) { $0 + $1.0 * $1.1 }])
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return out
    }
}
