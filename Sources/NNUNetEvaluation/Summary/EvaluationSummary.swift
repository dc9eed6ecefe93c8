import Foundation
import NNUNetCore

/// The content of an nnU-Net `summary.json`: per-case scores, their nanmean per label, and the header fields.
///
/// Port of v1 `evaluation/evaluator.py` `aggregate_scores` (the JSON part). On disk (``write(to:)``) the layout is
/// exactly v1's `save_json`: keys sorted, indent 4, NaN as the bare token `NaN`, per-case totals as integers:
///
/// ```
/// { "author": "Fabian", "description": "", "id": "<12 hex>", "name": "",
///   "results": { "all": [ { "1": {metric: value, ...}, ..., "reference": path, "test": path }, ... ],
///                "mean": { "1": {metric: nanmean}, ... } },
///   "task": "", "timestamp": "2026-11-28 18:29:08.123456" }
/// ```
///
/// `id` is the first 12 hex digits of the MD5 of `json.dumps` of the dictionary before `id` is added (insertion order
/// name, description, timestamp, task, author, results; Python's default separators), as v1 computes it.
public struct EvaluationSummary: Sendable {
    /// `name` (v1 `json_name`), empty by default.
    public var name: String
    /// `description` (v1 `json_description`), empty by default.
    public var description: String
    /// `author` (v1 `json_author`, default "Fabian").
    public var author: String
    /// `task` (v1 `json_task`), empty by default.
    public var task: String
    /// `str(datetime.today())` at creation, local time.
    public var timestamp: String
    /// First 12 hex digits of the MD5 of the dump (see the type's discussion).
    public var id: String
    /// `results.all`, one entry per case, in the order evaluated.
    public var cases: [CaseScores]
    /// `results.mean`: per label (in order of first appearance), metric → nanmean over cases.
    public var mean: [LabelScores]
    /// `results.mean.mean` as `foreground_mean` adds it (find_best_configuration); nil when absent.
    public var foregroundMean: [String: Double]?

    /// Builds a summary from per-case scores: computes the nanmean per label and metric, the timestamp and the id.
    public init(cases: [CaseScores], name: String = "", description: String = "", author: String = "Fabian",
                task: String = "", date: Date = Date()) {
        self.name = name
        self.description = description
        self.author = author
        self.task = task
        self.cases = cases
        self.timestamp = Self.pythonTimestamp(date)
        self.foregroundMean = nil
        var order: [String] = []
        var collected: [String: [String: [Double]]] = [:]
        var metricOrder: [String: [String]] = [:]
        for scores in cases {
            for label in scores.labels {
                if collected[label.label] == nil { order.append(label.label); collected[label.label] = [:] }
                for metric in label.values.keys.sorted() {
                    if collected[label.label]?[metric] == nil {
                        metricOrder[label.label, default: []].append(metric)
                        collected[label.label]?[metric] = []
                    }
                    collected[label.label]?[metric]?.append(label.values[metric] ?? .nan)
                }
            }
        }
        mean = order.map { label in
            var values: [String: Double] = [:]
            for (metric, list) in collected[label] ?? [:] { values[metric] = NumPyMean.nanmean(list) }
            return LabelScores(label: label, values: values)
        }
        id = ""
        id = computedID()
    }

    /// v1's id for this content: the first 12 hex digits of the MD5 of `json.dumps` (default separators, insertion
    /// order) of the summary without `id`.
    public func computedID() -> String {
        String(MD5.hexDigest(Array(jsonValue(includingID: false).serialized().utf8)).prefix(12))
    }

    /// Creates a summary from its parts as they are (no recomputation), e.g. after reading a file.
    public init(name: String, description: String, author: String, task: String, timestamp: String, id: String,
                cases: [CaseScores], mean: [LabelScores], foregroundMean: [String: Double]? = nil) {
        self.name = name
        self.description = description
        self.author = author
        self.task = task
        self.timestamp = timestamp
        self.id = id
        self.cases = cases
        self.mean = mean
        self.foregroundMean = foregroundMean
    }

    /// The mean scores of `label` (e.g. `"1"`).
    public func mean(of label: String) -> LabelScores? { mean.first { $0.label == label } }

    /// The mean Dice of `label` (NaN when absent).
    public func meanDice(of label: Int) -> Double {
        mean(of: String(label))?.values[SegmentationMetric.dice.rawValue] ?? .nan
    }

    /// The JSON document in v1's insertion order (the order that v1 hashes for the id).
    public func jsonValue(includingID: Bool = true) -> JSONValue {
        func number(_ value: Double, asCount: Bool) -> JSONValue {
            if asCount, value.isFinite, value == value.rounded(), abs(value) < 9e15 { return .int(Int(value)) }
            return .double(value)
        }
        func labelObject(_ scores: LabelScores, perCase: Bool) -> JSONValue {
            .object(scores.values.keys.sorted().map { metric in
                let isCount = perCase && SegmentationMetric(rawValue: metric)?.isCount == true
                return (metric, number(scores.values[metric] ?? .nan, asCount: isCount))
            })
        }
        let all: [JSONValue] = cases.map { scores in
            var pairs = scores.labels.map { ($0.label, labelObject($0, perCase: true)) }
            if let test = scores.test { pairs.append(("test", .string(test))) }
            if let reference = scores.reference { pairs.append(("reference", .string(reference))) }
            return .object(pairs)
        }
        var meanPairs = mean.map { ($0.label, labelObject($0, perCase: false)) }
        if let foregroundMean {
            meanPairs.append(("mean", .object(foregroundMean.keys.sorted().map { ($0, .double(foregroundMean[$0] ?? .nan)) })))
        }
        var pairs: [(String, JSONValue)] = [
            ("name", .string(name)), ("description", .string(description)), ("timestamp", .string(timestamp)),
            ("task", .string(task)), ("author", .string(author)),
            ("results", .object([("all", .array(all)), ("mean", .object(meanPairs))])),
        ]
        if includingID { pairs.append(("id", .string(id))) }
        return .object(pairs)
    }

    /// The file text as v1's `save_json` writes it (sorted keys, indent 4, `NaN` tokens).
    public func serialized() -> String { jsonValue().serialized(sortKeys: true, indent: 4) }

    /// Writes `summary.json` atomically.
    public func write(to url: URL) throws {
        try AtomicFileWriter.write(serialized(), to: url)
    }

    /// Reads a `summary.json` (v1's or ours; `NaN` tokens accepted).
    ///
    /// - Throws: ``EvaluationError/invalidJSON(path:reason:)`` when the file is missing or lacks `results`.
    public static func read(_ url: URL) throws -> EvaluationSummary {
        try make(from: JSONValue.read(url), source: url.path)
    }

    /// Interprets a parsed `summary.json` document.
    public static func make(from json: JSONValue, source: String = "<summary>") throws -> EvaluationSummary {
        guard let results = json["results"], let all = results["all"]?.arrayValue,
              let meanObject = results["mean"]?.objectValue else {
            throw EvaluationError.invalidJSON(path: source, reason: "it has no results.all / results.mean")
        }
        func scores(_ value: JSONValue, label: String) -> LabelScores {
            var values: [String: Double] = [:]
            for (metric, number) in value.objectValue ?? [] { values[metric] = number.doubleValue ?? .nan }
            return LabelScores(label: label, values: values)
        }
        let cases = all.map { entry in
            CaseScores(labels: (entry.objectValue ?? []).filter { $0.0 != "test" && $0.0 != "reference" }
                .map { scores($0.1, label: $0.0) },
                test: entry["test"]?.stringValue, reference: entry["reference"]?.stringValue)
        }
        let mean = meanObject.filter { $0.0 != "mean" }.map { scores($0.1, label: $0.0) }
        let foreground = meanObject.first { $0.0 == "mean" }.map { scores($0.1, label: "mean").values }
        return EvaluationSummary(name: json["name"]?.stringValue ?? "", description: json["description"]?.stringValue ?? "",
                                 author: json["author"]?.stringValue ?? "", task: json["task"]?.stringValue ?? "",
                                 timestamp: json["timestamp"]?.stringValue ?? "", id: json["id"]?.stringValue ?? "",
                                 cases: cases, mean: mean, foregroundMean: foreground)
    }

    /// A copy with `results.mean.mean` added: per metric, the nanmean over the labels other than 0, -1 and 99 (label
    /// 99 is dropped from the mean), with the metric names of label 1 (or the first such label).
    ///
    /// Port of v1 `evaluation/add_mean_dice_to_json.py` `foreground_mean`, which find_best_configuration applies to
    /// `cv_niftis_raw/summary.json`.
    public func addingForegroundMean() -> EvaluationSummary {
        var copy = self
        copy.mean.removeAll { $0.label == "99" }
        let foreground = copy.mean.filter { Int($0.label).map { ![0, -1, 99].contains($0) } ?? false }
        let metricSource = copy.mean.first { $0.label == "1" } ?? foreground.first
        var values: [String: Double] = [:]
        for metric in metricSource?.values.keys.sorted() ?? [] {
            values[metric] = NumPyMean.nanmean(foreground.map { $0.values[metric] ?? .nan })
        }
        copy.foregroundMean = values
        return copy
    }

    /// Adds `results.mean.mean` to a `summary.json` file and rewrites it (v1 `foreground_mean(filename)`).
    public static func addForegroundMean(toFileAt url: URL) throws {
        try read(url).addingForegroundMean().write(to: url)
    }

    /// `str(datetime.today())`: `YYYY-MM-DD HH:MM:SS.ffffff` in local time (no fraction when it is exactly zero).
    static func pythonTimestamp(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        var whole = time_t(seconds.rounded(.down))
        let microseconds = Int(((seconds - seconds.rounded(.down)) * 1_000_000).rounded(.down))
        var parts = tm()
        localtime_r(&whole, &parts)
        let text = String(format: "%04d-%02d-%02d %02d:%02d:%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                          Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
        return microseconds == 0 ? text : text + String(format: ".%06d", microseconds)
    }
}
