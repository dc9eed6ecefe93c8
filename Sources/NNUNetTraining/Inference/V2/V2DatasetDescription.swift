import Foundation
import NNUNetEvaluation

/// nnU-Net v2's `dataset.json` as prediction needs it: the input channels, the labels (or regions), and the file
/// ending; plus what v2's `LabelManager` derives from the labels (segmentation heads, regions).
///
/// Port of the behaviour of v2 `utilities/label_handling/label_handling.py` `LabelManager`: a label maps to one value,
/// or to a list of values (a region); the dataset is region-based when some label lists more than one value, and then
/// `regions_class_order` says which label each region's sigmoid writes (later regions overwrite earlier ones). The
/// `ignore` label is no output of the network.
public struct V2DatasetDescription: Sendable, Equatable {
    /// Where it came from (named in errors).
    public var source: String
    /// `channel_names` (or v1's `modality`) by channel index, in index order.
    public var channelNames: [String]
    /// `labels` in file order: name and value(s).
    public var labels: [Label]
    /// `regions_class_order` (region-based datasets), nil otherwise.
    public var regionsClassOrder: [Int]?
    /// `file_ending`, e.g. `.nii.gz`.
    public var fileEnding: String
    /// `numTraining` (nil if absent).
    public var trainingCaseCount: Int?

    /// One entry of `labels`.
    public struct Label: Sendable, Equatable {
        /// The label's name (`background`, `ignore`, ...).
        public var name: String
        /// Its value, or the values of a region.
        public var values: [Int]
        /// Whether it was written as a list (a region, even of one value).
        public var isList: Bool
    }

    /// Reads and decodes a `dataset.json`.
    /// - Throws: ``TrainingError/unusableModel(_:)`` naming the file, or the field that is missing or malformed.
    public init(contentsOf url: URL) throws {
        let json: JSONValue
        do { json = try JSONValue.read(url) } catch {
            throw TrainingError.unusableModel("'\(url.path)' is not a readable dataset.json (\(error))")
        }
        try self.init(json: json, source: url.path)
    }

    /// Decodes a parsed `dataset.json`; `source` names it in errors.
    public init(json: JSONValue, source: String) throws {
        let root = V2JSONField(json, file: source)
        _ = try root.members()
        self.source = source
        let channels = root["channel_names"].isPresent ? root["channel_names"] : root["modality"]
        guard channels.isPresent else {
            throw root["channel_names"].failure("is missing (nor is there v1's 'modality')")
        }
        var named: [(Int, String)] = []
        for (key, field) in try channels.members() {
            guard let index = Int(key) else { throw field.failure("is not named by a channel number") }
            named.append((index, try field.string()))
        }
        named.sort { $0.0 < $1.0 }
        guard named.map(\.0) == Array(0..<named.count), !named.isEmpty else {
            throw channels.failure("must name channels 0, 1, ... without gaps (found \(named.map(\.0)))")
        }
        channelNames = named.map(\.1)
        var labels: [Label] = []
        for (name, field) in try root["labels"].members() {
            if case .array = field.value {
                labels.append(Label(name: name, values: try field.ints(), isList: true))
            } else {
                labels.append(Label(name: name, values: [try field.int()], isList: false))
            }
        }
        self.labels = labels
        guard let background = labels.first(where: { $0.name == "background" }) else {
            throw root["labels"].failure("declares no 'background' (it must be label 0)")
        }
        guard !background.isList, background.values == [0] else {
            throw root["labels"]["background"].failure("is \(background.values); the background must be the single "
                                                    + "value 0")
        }
        if let ignore = labels.first(where: { $0.name == "ignore" }), ignore.isList {
            throw root["labels"]["ignore"].failure("is a list; the ignore label must be one integer")
        }
        regionsClassOrder = try root["regions_class_order"].optional { try $0.ints() }
        fileEnding = try root["file_ending"].string()
        trainingCaseCount = try root["numTraining"].optional { try $0.int() }
        if hasRegions {
            guard let order = regionsClassOrder else {
                throw root["regions_class_order"].failure("is missing; region-based labels need it")
            }
            guard order.count == foregroundRegions.count else {
                throw root["regions_class_order"].failure("has \(order.count) entries for "
                                                          + "\(foregroundRegions.count) regions")
            }
        }
    }

    /// Whether the labels define regions (some label lists more than one value).
    public var hasRegions: Bool { labels.contains { $0.isList && $0.values.count > 1 } }

    /// The ignore label's value, if declared.
    public var ignoreLabel: Int? { labels.first { $0.name == "ignore" }?.values.first }

    /// All label values except the ignore label, ascending and unique (v2's `all_labels`).
    public var allLabels: [Int] {
        Array(Set(labels.filter { $0.name != "ignore" }.flatMap(\.values))).sorted()
    }

    /// All labels but background (0), ascending (v2's `foreground_labels`): the one-hot channels a cascade's previous
    /// stage adds to the input.
    public var foregroundLabels: [Int] { allLabels.filter { $0 != 0 } }

    /// The regions that are not background, in file order (v2's `foreground_regions`); empty unless ``hasRegions``.
    public var foregroundRegions: [[Int]] {
        guard hasRegions else { return [] }
        return labels.filter { $0.name != "ignore" && Set($0.values) != [0] }.map(\.values)
    }

    /// The network's output channels (v2's `num_segmentation_heads`): the foreground regions, or all labels.
    public var segmentationHeadCount: Int { hasRegions ? foregroundRegions.count : allLabels.count }

    /// The number of input channels (images per case).
    public var channelCount: Int { channelNames.count }
}
