import Foundation
import NNUNetCore

/// One cross-validation fold: training and validation case identifiers.
public struct CrossValidationFold: Codable, Sendable, Equatable {
    /// Training case identifiers (`train`).
    public var train: [String]
    /// Validation case identifiers (`val`).
    public var val: [String]

    /// Creates a fold from its two lists.
    public init(train: [String], val: [String]) {
        self.train = train
        self.val = val
    }
}

/// nnU-Net v1's data splits (reference sheet §8; FAQ "Creating and managing data splits").
///
/// Files in the preprocessed task folder: `splits_final.pkl` is read when present (the list of `OrderedDict`s of
/// numpy string arrays nnU-Net writes, or plain lists a user writes), else `splits_final.json`; otherwise the default
/// split is created exactly as v1 does (`KFold(n_splits=5, shuffle=True, random_state=12345)` over the sorted case
/// identifiers) and written as both `splits_final.json` and a `splits_final.pkl` that Python loads.
public enum CrossValidationSplits {
    /// `splits_final.pkl`: read first when present; written with the JSON file for Python.
    public static let pickleName = "splits_final.pkl"
    /// `splits_final.json`: read when there is no pickle.
    public static let jsonName = "splits_final.json"

    /// The default split: sklearn's shuffled KFold with NumPy's legacy RandomState(seed), as v1's `do_split`.
    /// Both lists of each fold are sorted, as v1 stores them.
    public static func makeDefault(caseIdentifiers: [String], folds: Int = 5, seed: UInt32 = 12345)
        -> [CrossValidationFold] {
        let keys = sortedLikeNumpy(caseIdentifiers)
        let n = keys.count
        guard n >= folds, folds > 1 else { return [CrossValidationFold(train: keys, val: keys)] }
        var random = MersenneTwister(seed: seed)
        var indices = Array(0..<n)
        random.shuffle(&indices)
        var result: [CrossValidationFold] = []
        var start = 0
        for fold in 0..<folds {
            let size = n / folds + (fold < n % folds ? 1 : 0)
            let test = Set(indices[start..<(start + size)])
            start += size
            result.append(CrossValidationFold(train: (0..<n).filter { !test.contains($0) }.map { keys[$0] },
                                              val: (0..<n).filter { test.contains($0) }.map { keys[$0] }))
        }
        return result
    }

    /// The split used for `fold`: `all` uses every case for both; a fold beyond the file's folds uses v1's seeded
    /// random 80:20 split (`RandomState(12345 + fold).choice(n, int(0.8 n), replace=False)`), and the caller should
    /// warn. Lists are sorted.
    public static func fold(_ fold: Int?, in splits: [CrossValidationFold], caseIdentifiers: [String])
        -> CrossValidationFold {
        let keys = sortedLikeNumpy(caseIdentifiers)
        guard let fold else { return CrossValidationFold(train: keys, val: keys) }
        if fold >= 0, fold < splits.count {
            return CrossValidationFold(train: sortedLikeNumpy(splits[fold].train), val: sortedLikeNumpy(splits[fold].val))
        }
        var random = MersenneTwister(seed: UInt32(truncatingIfNeeded: 12345 + fold))
        let chosen = Set(random.permutation(keys.count).prefix(Int(Double(keys.count) * 0.8)))
        return CrossValidationFold(train: sortedLikeNumpy(chosen.map { keys[$0] }),
                                   val: (0..<keys.count).filter { !chosen.contains($0) }.map { keys[$0] })
    }

    /// Reads `splits_final.pkl` (preferred, as v1) or `splits_final.json` from `folder`; nil if neither exists.
    public static func load(from folder: URL) throws -> [CrossValidationFold]? {
        let pickle = folder.appendingPathComponent(pickleName), json = folder.appendingPathComponent(jsonName)
        if FileManager.default.fileExists(atPath: pickle.path) {
            return try decode(try PickleReader.read(contentsOf: pickle), path: pickle.path)
        }
        if FileManager.default.fileExists(atPath: json.path) {
            do {
                return try JSONDecoder().decode([CrossValidationFold].self, from: Data(contentsOf: json))
            } catch {
                throw TrainingError.invalidSplits(path: json.path, reason: "expected a list of {\"train\": [...], "
                                                  + "\"val\": [...]} objects (\(error.localizedDescription))")
            }
        }
        return nil
    }

    /// Writes `splits_final.json` and `splits_final.pkl` (plain lists and dicts) atomically.
    public static func write(_ splits: [CrossValidationFold], to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(splits), to: folder.appendingPathComponent(jsonName))
        let value = PickleValue.list(splits.map { fold in
            .dict([.init(key: .string("train"), value: .list(fold.train.map { .string($0) })),
                   .init(key: .string("val"), value: .list(fold.val.map { .string($0) }))])
        })
        try PickleWriter.write(value, to: folder.appendingPathComponent(pickleName))
    }

    /// Loads the splits of `folder`, or creates, writes and returns the default split.
    public static func loadOrCreate(in folder: URL, caseIdentifiers: [String]) throws -> [CrossValidationFold] {
        if let existing = try load(from: folder) { return existing }
        let splits = makeDefault(caseIdentifiers: caseIdentifiers)
        try write(splits, to: folder)
        return splits
    }

    static func decode(_ value: PickleValue, path: String) throws -> [CrossValidationFold] {
        guard let folds = value.elements else {
            throw TrainingError.invalidSplits(path: path, reason: "the pickle does not hold a list of folds")
        }
        return try folds.enumerated().map { index, fold in
            func names(_ key: String) throws -> [String] {
                guard let items = fold[key]?.elements else {
                    throw TrainingError.invalidSplits(path: path, reason: "fold \(index) has no '\(key)' list")
                }
                return try items.map {
                    guard let name = $0.stringValue else {
                        throw TrainingError.invalidSplits(path: path, reason: "fold \(index) '\(key)' holds a non-string")
                    }
                    return name
                }
            }
            return CrossValidationFold(train: try names("train"), val: try names("val"))
        }
    }

    /// `np.sort` order for strings: by Unicode code points.
    static func sortedLikeNumpy(_ names: [String]) -> [String] {
        names.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    }
}
