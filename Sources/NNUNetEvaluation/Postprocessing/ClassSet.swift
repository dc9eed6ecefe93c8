/// One entry of `for_which_classes`: a single class, or several classes treated as one foreground region.
///
/// In `postprocessing.json` a single class is an integer (`2`) and a region is a list (`[1, 2]`), e.g.
/// `"for_which_classes": [[1, 2], 2]`.
public enum ClassSet: Hashable, Sendable, CustomStringConvertible {
    /// One class: its largest component is kept (`2` in JSON).
    case single(Int)
    /// Several classes merged into one foreground region whose largest component is kept (`[1, 2]` in JSON).
    case union([Int])

    /// The labels the mask is made of.
    public var labels: [Int] {
        switch self {
        case let .single(label): return [label]
        case let .union(labels): return labels
        }
    }

    /// The JSON form (`2` or `[1, 2]`).
    public var jsonValue: JSONValue {
        switch self {
        case let .single(label): return .int(label)
        case let .union(labels): return .array(labels.map { .int($0) })
        }
    }

    /// Reads `2` or `[1, 2]`; nil for anything else.
    public init?(json: JSONValue) {
        if let label = json.intValue { self = .single(label); return }
        guard let items = json.arrayValue else { return nil }
        let labels = items.compactMap(\.intValue)
        guard labels.count == items.count else { return nil }
        self = .union(labels)
    }

    /// Python's spelling as a dict key (`2` or `(1, 2)`), as in `min_valid_object_sizes`.
    public var description: String {
        switch self {
        case let .single(label): return String(label)
        case let .union(labels):
            return "(" + labels.map(String.init).joined(separator: ", ") + (labels.count == 1 ? ",)" : ")")
        }
    }
}
