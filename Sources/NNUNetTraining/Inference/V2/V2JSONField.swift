import Foundation
import NNUNetEvaluation

/// One field of an nnU-Net v2 JSON file (`plans.json`, `dataset.json`) with its dotted path, read as a typed value;
/// every failure is a ``TrainingError/unusableModel(_:)`` naming the file and the field.
struct V2JSONField {
    /// The value, or nil when the field is absent.
    let value: JSONValue?
    /// The dotted path from the document's root (`configurations.3d_fullres.patch_size`).
    let path: String
    /// The file the document came from.
    let file: String

    init(_ value: JSONValue?, path: String = "", file: String) {
        self.value = value
        self.path = path
        self.file = file
    }

    /// The error naming this field.
    func failure(_ problem: String) -> TrainingError {
        .unusableModel("'\(file)': field '\(path.isEmpty ? "(root)" : path)' \(problem)")
    }

    /// The member `key` of this object (absent when this is not an object or lacks the key).
    subscript(key: String) -> V2JSONField {
        V2JSONField(value?[key], path: path.isEmpty ? key : path + "." + key, file: file)
    }

    /// Whether the field exists and is not `null`.
    var isPresent: Bool {
        guard let value else { return false }
        return value != .null
    }

    /// The value, or an error saying the field is missing.
    func required() throws -> JSONValue {
        guard let value, value != .null else { throw failure("is missing") }
        return value
    }

    func int() throws -> Int {
        let v = try required()
        guard let number = v.intValue else { throw failure("is not an integer (found \(v.shortDescription))") }
        return number
    }

    func double() throws -> Double {
        let v = try required()
        guard let number = v.doubleValue else { throw failure("is not a number (found \(v.shortDescription))") }
        return number
    }

    func string() throws -> String {
        let v = try required()
        guard let text = v.stringValue else { throw failure("is not a string (found \(v.shortDescription))") }
        return text
    }

    func bool() throws -> Bool {
        let v = try required()
        guard case .bool(let flag) = v else { throw failure("is not true or false (found \(v.shortDescription))") }
        return flag
    }

    /// The elements of a list, each as a field `path.i`.
    func elements() throws -> [V2JSONField] {
        let v = try required()
        guard let items = v.arrayValue else { throw failure("is not a list (found \(v.shortDescription))") }
        return items.enumerated().map { V2JSONField($0.element, path: path + ".\($0.offset)", file: file) }
    }

    /// The members of an object in file order, each as a field `path.key`.
    func members() throws -> [(key: String, field: V2JSONField)] {
        let v = try required()
        guard let pairs = v.objectValue else { throw failure("is not an object (found \(v.shortDescription))") }
        return pairs.map { ($0.0, V2JSONField($0.1, path: path.isEmpty ? $0.0 : path + "." + $0.0, file: file)) }
    }

    func ints() throws -> [Int] { try elements().map { try $0.int() } }
    func doubles() throws -> [Double] { try elements().map { try $0.double() } }
    func strings() throws -> [String] { try elements().map { try $0.string() } }
    func bools() throws -> [Bool] { try elements().map { try $0.bool() } }
    func intLists() throws -> [[Int]] { try elements().map { try $0.ints() } }

    /// The value if present (not absent and not `null`), read with `read`.
    func optional<T>(_ read: (V2JSONField) throws -> T) throws -> T? {
        isPresent ? try read(self) : nil
    }
}

extension JSONValue {
    /// A short rendering for error messages.
    var shortDescription: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return "'\(s.count > 40 ? String(s.prefix(40)) + "..." : s)'"
        case .array(let items): return "a list of \(items.count)"
        case .object(let pairs): return "an object of \(pairs.count) fields"
        }
    }
}
