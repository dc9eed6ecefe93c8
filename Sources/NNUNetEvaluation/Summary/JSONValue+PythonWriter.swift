extension JSONValue {
    /// The text Python's `json.dumps(value, sort_keys:, indent:)` produces (with its default `ensure_ascii=True` and
    /// `allow_nan=True`).
    ///
    /// - Without `indent` the separators are `", "` and `": "` (what nnU-Net hashes for the summary `id`); with an
    ///   indent they are `","` + newline and `": "` (what `save_json` writes).
    /// - Floats use Python's `repr`: the shortest digits that round-trip, positional notation for decimal exponents
    ///   -5 < e < 16 (always with a fractional part, `1.0`), scientific otherwise (`1e-05`, `1.5e+16`); non-finite
    ///   values are the bare tokens `NaN`, `Infinity`, `-Infinity`.
    /// - `sortKeys` orders object keys by Unicode code points, as Python's `sorted` does.
    /// - Non-ASCII characters are escaped as `\uXXXX` (UTF-16, surrogate pairs).
    public func serialized(sortKeys: Bool = false, indent: Int? = nil) -> String {
        var out = ""
        write(into: &out, sortKeys: sortKeys, indent: indent, level: 0)
        return out
    }

    private func write(into out: inout String, sortKeys: Bool, indent: Int?, level: Int) {
        switch self {
        case .null: out += "null"
        case let .bool(value): out += value ? "true" : "false"
        case let .int(value): out += String(value)
        case let .double(value): out += Self.pythonRepr(value)
        case let .string(value): Self.writeString(value, into: &out)
        case let .array(elements):
            guard !elements.isEmpty else { out += "[]"; return }
            out += "["
            for (i, element) in elements.enumerated() {
                if i > 0 { out += indent == nil ? ", " : "," }
                if let indent { out += "\n" + String(repeating: " ", count: indent * (level + 1)) }
                element.write(into: &out, sortKeys: sortKeys, indent: indent, level: level + 1)
            }
            if let indent { out += "\n" + String(repeating: " ", count: indent * level) }
            out += "]"
        case let .object(pairs):
            guard !pairs.isEmpty else { out += "{}"; return }
            let ordered = sortKeys
                ? pairs.sorted { Array($0.0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.0.unicodeScalars.map(\.value)) }
                : pairs
            out += "{"
            for (i, (key, value)) in ordered.enumerated() {
                if i > 0 { out += indent == nil ? ", " : "," }
                if let indent { out += "\n" + String(repeating: " ", count: indent * (level + 1)) }
                Self.writeString(key, into: &out)
                out += ": "
                value.write(into: &out, sortKeys: sortKeys, indent: indent, level: level + 1)
            }
            if let indent { out += "\n" + String(repeating: " ", count: indent * level) }
            out += "}"
        }
    }

    /// Python's `repr(float)`.
    public static func pythonRepr(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        // Swift's description has the same shortest round-trip digits; only the layout differs.
        var text = Swift.abs(value).description
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = String(text[..<e])
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let integerPart = String(parts[0]), fraction = parts.count > 1 ? String(parts[1]) : ""
        var digits = integerPart + fraction
        // Decimal point position relative to the start of `digits`.
        var point = integerPart.count + exponent
        while digits.hasPrefix("0") && digits.count > 1 { digits.removeFirst(); point -= 1 }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        let sign = value < 0 ? "-" : ""
        // Python: value = 0.d1d2... x 10^point; scientific when point < -3 or point > 16.
        if point < -3 || point > 16 {
            let mantissa = digits.count > 1
                ? String(digits.prefix(1)) + "." + digits.dropFirst() : String(digits)
            let e = point - 1
            let magnitude = Swift.abs(e)
            return sign + mantissa + "e" + (e < 0 ? "-" : "+") + (magnitude < 10 ? "0" : "") + String(magnitude)
        }
        if point <= 0 {
            return sign + "0." + String(repeating: "0", count: -point) + digits
        }
        if point >= digits.count {
            return sign + digits + String(repeating: "0", count: point - digits.count) + ".0"
        }
        let index = digits.index(digits.startIndex, offsetBy: point)
        return sign + digits[..<index] + "." + digits[index...]
    }

    /// A JSON string literal as Python writes it with `ensure_ascii=True`.
    static func writeString(_ value: String, into out: inout String) {
        out += "\""
        for unit in value.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0x20...0x7E: out.unicodeScalars.append(Unicode.Scalar(UInt8(unit)))
            default:
                let hex = String(unit, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        out += "\""
    }
}
