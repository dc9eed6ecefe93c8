import Foundation

/// The three root folders of an nnU-Net installation (reference sheet §1).
///
/// Only the CLI reads the environment (`nnUNet_raw_data_base`, `nnUNet_preprocessed`, `RESULTS_FOLDER`); library code
/// receives this value. A root that is not set stays `nil`, and the accessors that need it throw an error that names
/// the variable.
public struct NNUNetPaths: Sendable, Equatable {
    /// `nnUNet_raw_data_base`: holds `nnUNet_raw_data/` and `nnUNet_cropped_data/`.
    public var rawDataBase: URL?
    /// `nnUNet_preprocessed`: one folder per task with plans and preprocessed stages.
    public var preprocessed: URL?
    /// `RESULTS_FOLDER`: trained models live under `RESULTS_FOLDER/nnUNet/`.
    public var results: URL?

    /// Creates the value from the three roots; nil leaves a root unset.
    public init(rawDataBase: URL?, preprocessed: URL?, results: URL?) {
        self.rawDataBase = rawDataBase
        self.preprocessed = preprocessed
        self.results = results
    }

    /// The names of the environment variables, as nnU-Net v1 spells them.
    public enum Variable {
        /// `nnUNet_raw_data_base`: the raw and cropped data root.
        public static let rawDataBase = "nnUNet_raw_data_base"
        /// `nnUNet_preprocessed`: the preprocessed data root.
        public static let preprocessed = "nnUNet_preprocessed"
        /// `RESULTS_FOLDER`: the trained models root.
        public static let results = "RESULTS_FOLDER"
    }

    /// Reads the three variables from an environment dictionary (pass `ProcessInfo.processInfo.environment`).
    public static func fromEnvironment(_ environment: [String: String]) -> NNUNetPaths {
        func url(_ name: String) -> URL? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return URL(fileURLWithPath: value, isDirectory: true).standardizedFileURL
        }
        return NNUNetPaths(rawDataBase: url(Variable.rawDataBase), preprocessed: url(Variable.preprocessed),
                           results: url(Variable.results))
    }

    /// All three roots inside one folder (`nnUNet_raw_data_base`, `nnUNet_preprocessed`, `nnUNet_trained_models`), as
    /// the quickstart and the tests lay them out.
    public static func inside(_ folder: URL) -> NNUNetPaths {
        NNUNetPaths(rawDataBase: folder.appendingPathComponent("nnUNet_raw_data_base", isDirectory: true),
                    preprocessed: folder.appendingPathComponent("nnUNet_preprocessed", isDirectory: true),
                    results: folder.appendingPathComponent("nnUNet_trained_models", isDirectory: true))
    }

    /// `<nnUNet_raw_data_base>/nnUNet_raw_data`.
    public func rawData() throws -> URL {
        try require(rawDataBase, Variable.rawDataBase, "the folder that holds nnUNet_raw_data")
            .appendingPathComponent("nnUNet_raw_data", isDirectory: true)
    }

    /// `<nnUNet_raw_data_base>/nnUNet_cropped_data`.
    public func croppedData() throws -> URL {
        try require(rawDataBase, Variable.rawDataBase, "the folder that holds nnUNet_raw_data")
            .appendingPathComponent("nnUNet_cropped_data", isDirectory: true)
    }

    /// `<nnUNet_preprocessed>`.
    public func preprocessedData() throws -> URL {
        try require(preprocessed, Variable.preprocessed, "the folder for preprocessed data")
    }

    /// `<RESULTS_FOLDER>/nnUNet`.
    public func trainedModels() throws -> URL {
        try require(results, Variable.results, "the folder for trained models")
            .appendingPathComponent("nnUNet", isDirectory: true)
    }

    private func require(_ url: URL?, _ name: String, _ purpose: String) throws -> URL {
        guard let url else { throw CoreError.missingEnvironmentVariable(name: name, purpose: purpose) }
        return url
    }
}
