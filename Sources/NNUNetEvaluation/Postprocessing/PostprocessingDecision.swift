import Foundation

/// The content of `postprocessing.json`: which class sets get "keep the largest component", and the Dice values the
/// decision was based on.
///
/// Port of the file v1 `determine_postprocessing` writes (reference sheet §11), written like v1's `save_json` (sorted
/// keys, indent 4) and read like v1's `load_postprocessing` (`min_valid_object_sizes` is a Python literal string,
/// `"None"` by default).
public struct PostprocessingDecision: Sendable, Equatable {
    /// Mean Dice per foreground class of the raw predictions (`dc_per_class_raw`), keyed `"1"`, `"2"`, ...
    public var dicePerClassRaw: [String: Double]
    /// Mean Dice after keeping the largest foreground region (`dc_per_class_pp_all`).
    public var dicePerClassAllClasses: [String: Double]
    /// Mean Dice after keeping the largest component per class (`dc_per_class_pp_per_class`; empty with one class).
    public var dicePerClassPerClass: [String: Double]
    /// The accepted operations, in the order they are applied (`for_which_classes`).
    public var forWhichClasses: [ClassSet]
    /// Minimum object sizes (advanced postprocessing only; nil = v1's `"None"`).
    public var minValidObjectSizes: [ClassSet: Double]?
    /// Number of cases the decision was made on (`num_samples`).
    public var numberOfSamples: Int
    /// Folder names (`validation_raw`, `validation_final`).
    public var rawFolderName: String
    /// Name of the postprocessed folder (`validation_final`).
    public var finalFolderName: String

    /// Creates a decision; the defaults describe "no postprocessing" with v1's folder names.
    public init(dicePerClassRaw: [String: Double] = [:], dicePerClassAllClasses: [String: Double] = [:],
                dicePerClassPerClass: [String: Double] = [:], forWhichClasses: [ClassSet] = [],
                minValidObjectSizes: [ClassSet: Double]? = nil, numberOfSamples: Int = 0,
                rawFolderName: String = "validation_raw", finalFolderName: String = "validation_final") {
        self.dicePerClassRaw = dicePerClassRaw
        self.dicePerClassAllClasses = dicePerClassAllClasses
        self.dicePerClassPerClass = dicePerClassPerClass
        self.forWhichClasses = forWhichClasses
        self.minValidObjectSizes = minValidObjectSizes
        self.numberOfSamples = numberOfSamples
        self.rawFolderName = rawFolderName
        self.finalFolderName = finalFolderName
    }

    /// Equal when the JSON documents are equal (NaN Dice values compare equal).
    public static func == (lhs: PostprocessingDecision, rhs: PostprocessingDecision) -> Bool {
        lhs.jsonValue() == rhs.jsonValue()
    }

    /// The document (keys in v1's insertion order; the file is written with sorted keys).
    public func jsonValue() -> JSONValue {
        func dice(_ values: [String: Double]) -> JSONValue {
            .object(values.keys.sorted().map { ($0, .double(values[$0] ?? .nan)) })
        }
        return .object([
            ("dc_per_class_raw", dice(dicePerClassRaw)),
            ("dc_per_class_pp_all", dice(dicePerClassAllClasses)),
            ("dc_per_class_pp_per_class", dice(dicePerClassPerClass)),
            ("for_which_classes", .array(forWhichClasses.map(\.jsonValue))),
            ("min_valid_object_sizes", .string(Self.pythonLiteral(minValidObjectSizes))),
            ("num_samples", .int(numberOfSamples)),
            ("validation_raw", .string(rawFolderName)),
            ("validation_final", .string(finalFolderName)),
        ])
    }

    /// Writes `postprocessing.json` atomically (sorted keys, indent 4).
    public func write(to url: URL) throws {
        try AtomicFileWriter.write(jsonValue().serialized(sortKeys: true, indent: 4), to: url)
    }

    /// Reads a `postprocessing.json` written by v1 or by this package.
    ///
    /// - Throws: ``EvaluationError/invalidJSON(path:reason:)`` when `for_which_classes` is missing or malformed.
    public static func read(_ url: URL) throws -> PostprocessingDecision {
        let json = try JSONValue.read(url)
        guard let list = json["for_which_classes"]?.arrayValue else {
            throw EvaluationError.invalidJSON(path: url.path, reason: "it has no for_which_classes list")
        }
        let sets = list.compactMap(ClassSet.init(json:))
        guard sets.count == list.count else {
            throw EvaluationError.invalidJSON(path: url.path,
                                              reason: "for_which_classes must hold integers or lists of integers")
        }
        func dice(_ key: String) -> [String: Double] {
            var values: [String: Double] = [:]
            for (k, v) in json[key]?.objectValue ?? [] { values[k] = v.doubleValue ?? .nan }
            return values
        }
        var sizes: [ClassSet: Double]?
        if let literal = json["min_valid_object_sizes"]?.stringValue {
            guard let parsed = parsePythonSizes(literal) else {
                throw EvaluationError.invalidJSON(path: url.path,
                                                  reason: "min_valid_object_sizes '\(literal)' is not None or a dict")
            }
            sizes = parsed.isNone ? nil : parsed.sizes
        }
        return PostprocessingDecision(
            dicePerClassRaw: dice("dc_per_class_raw"), dicePerClassAllClasses: dice("dc_per_class_pp_all"),
            dicePerClassPerClass: dice("dc_per_class_pp_per_class"), forWhichClasses: sets,
            minValidObjectSizes: sizes, numberOfSamples: json["num_samples"]?.intValue ?? 0,
            rawFolderName: json["validation_raw"]?.stringValue ?? "",
            finalFolderName: json["validation_final"]?.stringValue ?? "")
    }

    /// `str(dict)` as Python writes `min_valid_object_sizes` (`"None"` for nil).
    static func pythonLiteral(_ sizes: [ClassSet: Double]?) -> String {
        guard let sizes else { return "None" }
        let items = sizes.keys.sorted { $0.description < $1.description }
            .map { "\($0.description): \(JSONValue.pythonRepr(sizes[$0] ?? .nan).replacingOccurrences(of: "NaN", with: "nan"))" }
        return "{" + items.joined(separator: ", ") + "}"
    }

    /// Parses `None` or a dict literal `{1: 12.5, (1, 2): 3.0}` (values may be wrapped as `np.float64(...)`).
    static func parsePythonSizes(_ text: String) -> (isNone: Bool, sizes: [ClassSet: Double])? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "None" { return (true, [:]) }
        guard trimmed.hasPrefix("{"), trimmed.hasSuffix("}") else { return nil }
        var body = Substring(trimmed.dropFirst().dropLast())
        var sizes: [ClassSet: Double] = [:]
        while true {
            body = body.drop { $0 == " " || $0 == "," }
            guard !body.isEmpty else { break }
            let key: ClassSet
            if body.hasPrefix("(") {
                guard let close = body.firstIndex(of: ")") else { return nil }
                let labels = body[body.index(after: body.startIndex)..<close].split(separator: ",")
                    .compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                key = .union(labels)
                body = body[body.index(after: close)...]
            } else {
                guard let colon = body.firstIndex(of: ":"),
                      let label = Int(body[..<colon].trimmingCharacters(in: .whitespaces)) else { return nil }
                key = .single(label)
                body = body[colon...]
            }
            body = body.drop { $0 == " " || $0 == ":" }
            let end = body.firstIndex(of: ",") ?? body.endIndex
            var valueText = body[..<end].trimmingCharacters(in: .whitespaces)
            if valueText.hasPrefix("np.float64("), valueText.hasSuffix(")") {
                valueText = String(valueText.dropFirst("np.float64(".count).dropLast())
            }
            guard let value = Double(valueText) else { return nil }
            sizes[key] = value
            body = body[end...]
        }
        return (false, sizes)
    }
}
