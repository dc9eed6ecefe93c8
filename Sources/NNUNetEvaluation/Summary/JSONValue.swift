/// A JSON document as Python's `json` module sees it: objects keep their insertion order, integers and floats stay
/// apart, and the non-finite floats `NaN`, `Infinity` and `-Infinity` are values.
///
/// nnU-Net writes `summary.json` and `postprocessing.json` with Python's `json.dump`, which emits bare `NaN` tokens
/// that strict parsers (Foundation's `JSONSerialization` among them) reject. ``JSONValue/parse(_:source:)`` accepts them and
/// ``JSONValue/serialized(sortKeys:indent:)`` writes byte-for-byte what `json.dumps` writes.
public indirect enum JSONValue: Sendable, Equatable {
    /// JSON `null` (Python `None`).
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number written without fraction or exponent (Python `int`).
    case int(Int)
    /// A float, including `NaN`, `Infinity` and `-Infinity` (Python `float`).
    case double(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// Key-value pairs in insertion order (what `OrderedDict` / `dict` keep in Python).
    case object([(String, JSONValue)])

    /// Structural equality; objects compare in order, and NaN equals NaN.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.double(a), .double(b)): return a == b || (a.isNaN && b.isNaN)
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The value for `key` of an object (the last one if a key repeats, as Python keeps it); nil otherwise.
    public subscript(key: String) -> JSONValue? {
        guard case let .object(pairs) = self else { return nil }
        return pairs.last { $0.0 == key }?.1
    }

    /// The keys of an object in order (empty for other values).
    public var keys: [String] {
        guard case let .object(pairs) = self else { return [] }
        return pairs.map(\.0)
    }

    /// A number as Double (ints widen); nil for other values.
    public var doubleValue: Double? {
        switch self {
        case let .int(value): return Double(value)
        case let .double(value): return value
        default: return nil
        }
    }

    /// An integer (or a float with an integral value); nil otherwise.
    public var intValue: Int? {
        switch self {
        case let .int(value): return value
        case let .double(value): return value.rounded() == value && abs(value) < 9e15 ? Int(value) : nil
        default: return nil
        }
    }

    /// The string of a `.string` value.
    public var stringValue: String? {
        if case let .string(value) = self { return value }
        return nil
    }

    /// The elements of an array.
    public var arrayValue: [JSONValue]? {
        if case let .array(value) = self { return value }
        return nil
    }

    /// The pairs of an object.
    public var objectValue: [(String, JSONValue)]? {
        if case let .object(value) = self { return value }
        return nil
    }

    /// A copy of an object with `key` set (replaced in place if present, appended otherwise).
    public func setting(_ key: String, to value: JSONValue) -> JSONValue {
        guard case var .object(pairs) = self else { return self }
        if let index = pairs.firstIndex(where: { $0.0 == key }) { pairs[index].1 = value } else {
            pairs.append((key, value))
        }
        return .object(pairs)
    }
}
