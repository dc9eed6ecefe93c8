import Foundation

extension DecodingError {
    /// The dotted path of the field the error is about (`dataset_properties.intensityproperties.0.mean`), or the
    /// empty string for the document's root.
    public var fieldPath: String {
        func path(_ context: Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch self {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return parent.isEmpty ? key.stringValue : parent + "." + key.stringValue
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return path(context)
        @unknown default:
            return ""
        }
    }

    /// One sentence naming the field and what is wrong with it, for error messages that also name the file.
    public var fieldDescription: String {
        switch self {
        case .keyNotFound:
            return "field '\(fieldPath)' is missing"
        case .typeMismatch(let type, let context):
            return "field '\(fieldPath)' is not a valid \(type) (\(context.debugDescription))"
        case .valueNotFound(let type, let context):
            return "field '\(fieldPath)' is null where a \(type) is needed (\(context.debugDescription))"
        case .dataCorrupted(let context):
            let field = fieldPath
            return (field.isEmpty ? "the document" : "field '\(field)'") + " is malformed (\(context.debugDescription))"
        @unknown default:
            return "\(self)"
        }
    }
}
