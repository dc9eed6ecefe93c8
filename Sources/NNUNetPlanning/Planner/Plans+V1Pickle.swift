import Foundation
import NNUNetCore

extension Plans {
    /// Reads nnU-Net v1's own plans pickle (`plans.pkl` of a trained model folder, or
    /// `nnUNetPlansv2.1_plans_3D.pkl`): NumPy arrays, NumPy scalars, `OrderedDict`s and integer-keyed dicts map onto
    /// the same fields as the JSON plans. Both NumPy 1 (`numpy.core`) and NumPy 2 (`numpy._core`) pickles load; the
    /// restricted `PickleReader` of NNUNetCore never executes anything from the file.
    ///
    /// - Throws: `CoreError` naming the file when it is not a readable pickle or lacks a field the plans need.
    public static func loadV1Pickle(from url: URL) throws -> Plans {
        try Plans(v1Pickle: PickleReader.read(contentsOf: url), source: url.path)
    }

    /// Plans from a decoded v1 plans dict (the `plans` entry of a `.model.pkl` is one).
    public init(v1Pickle value: PickleValue, source: String) throws {
        guard case .dict = value else {
            throw CoreError.invalidPickle(source: source, reason: "the pickle is not a plans dict")
        }
        do {
            self = try JSONDecoder().decode(Plans.self, from: value.jsonData())
        } catch let error as DecodingError {
            throw CoreError.invalidPickle(source: source, reason: "not an nnU-Net v1 plans dict: "
                                          + error.fieldDescription)
        }
    }

    /// Reads `plans.json` (this package's format) or, when only that exists, v1's `plans.pkl` from a trained model
    /// folder, and checks that every modality can be normalised (``Normalization/checkStatistics(of:source:)``).
    public static func loadFromModelFolder(_ folder: URL) throws -> (plans: Plans, file: URL) {
        let json = folder.appendingPathComponent("plans.json")
        let pickle = folder.appendingPathComponent("plans.pkl")
        if FileManager.default.fileExists(atPath: json.path) {
            let plans = try load(from: json)
            try Normalization.checkStatistics(of: plans, source: json.path)
            return (plans, json)
        }
        if FileManager.default.fileExists(atPath: pickle.path) {
            let plans = try loadV1Pickle(from: pickle)
            try Normalization.checkStatistics(of: plans, source: pickle.path)
            return (plans, pickle)
        }
        throw CoreError.missingPath(path: json.path, hint: "a trained model folder holds plans.json (or v1's plans.pkl); "
                                    + "is '\(folder.path)' a trained model folder?")
    }
}
