import Foundation

extension PickleValue {
    /// The value as a Foundation JSON object (`JSONSerialization`), converted the way nnU-Net's own JSON dumps of its
    /// pickles are: NumPy arrays become (nested) lists and 0-d arrays plain numbers, tuples and sets become lists,
    /// dict keys become strings (`1` → `"1"`), bytes become latin-1 text, and non-finite floats become `null`.
    ///
    /// This is how v1 pickles (`plans.pkl`, `.model.pkl`, properties) are decoded into this package's `Codable` types.
    /// Tensors have no JSON form and become `null`.
    public var jsonObject: Any {
        switch self {
        case .none, .tensor: return NSNull()
        case .bool(let b): return b
        case .int(let v): return v
        case .float(let v): return v.isFinite ? v : NSNull()
        case .string(let s): return s
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
            // Fortran-ordered arrays are listed in C order by walking the reversed shape and transposing the result.
            let shape = array.isFortranOrder ? Array(array.shape.reversed()) : array.shape
            func nest(_ values: ArraySlice<Any>, _ dims: ArraySlice<Int>) -> Any {
                guard let first = dims.first, dims.count > 1 else { return Array(values) }
                let block = dims.dropFirst().reduce(1, *)
                return (0..<first).map { i in
                    nest(values[(values.startIndex + i * block)..<(values.startIndex + (i + 1) * block)], dims.dropFirst())
                }
            }
            let nested = nest(flat[...], shape[...])
            return array.isFortranOrder && shape.count == 2 ? Self.transposed(nested, rows: shape[0], columns: shape[1])
                : nested
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

    private static func transposed(_ nested: Any, rows: Int, columns: Int) -> Any {
        guard let matrix = nested as? [[Any]] else { return nested }
        return (0..<columns).map { c in (0..<rows).map { r in matrix[r][c] } }
    }
}
