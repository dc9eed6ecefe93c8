import Foundation

/// `dataset.json` in the MSD / nnU-Net v1 schema (reference sheet §1).
///
/// Only `modality`, `labels`, `training` and `test` are used by the pipeline; the descriptive keys are kept so that
/// a file written by ``write(to:)`` looks like the ones users know. Unknown keys are ignored when decoding.
public struct DatasetDescription: Codable, Sendable, Equatable {
    /// One training entry: paths relative to the task folder, e.g. `./imagesTr/CASE.nii.gz` (no modality suffix).
    public struct TrainingEntry: Codable, Sendable, Equatable {
        /// The first modality's image path without the modality suffix, e.g. `./imagesTr/CASE.nii.gz`.
        public var image: String
        /// The label map's path, e.g. `./labelsTr/CASE.nii.gz`.
        public var label: String
        /// Creates an entry from the two relative paths.
        public init(image: String, label: String) {
            self.image = image
            self.label = label
        }
    }

    /// Descriptive key `name` (the task name); not used by the pipeline.
    public var name: String?
    /// Descriptive key `description`; not used by the pipeline.
    public var description: String?
    /// Descriptive key `reference`; not used by the pipeline.
    public var reference: String?
    /// Descriptive key `licence`; not used by the pipeline.
    public var licence: String?
    /// Descriptive key `release`; not used by the pipeline.
    public var release: String?
    /// Descriptive key `tensorImageSize` ("3D" or "4D"); not used by the pipeline.
    public var tensorImageSize: String?
    /// Modality index ("0", "1", ...) to name ("CT", "MRI", "T2", ...).
    public var modality: [String: String]
    /// Label value ("0", "1", ...) to name; "0" is background.
    public var labels: [String: String]
    /// Declared number of training cases (`numTraining`); the pipeline uses ``training`` instead.
    public var numTraining: Int?
    /// Declared number of test cases (`numTest`); the pipeline uses ``test`` instead.
    public var numTest: Int?
    /// Training cases with their image and label paths (`training`); empty when the key is missing.
    public var training: [TrainingEntry]
    /// Test images, e.g. `./imagesTs/CASE.nii.gz`.
    public var test: [String]

    /// Creates a description; `numTraining` and `numTest` are set from `training` and `test`.
    public init(name: String, description: String = "", reference: String = "", licence: String = "",
                release: String = "", tensorImageSize: String = "4D", modality: [String: String],
                labels: [String: String], training: [TrainingEntry], test: [String]) {
        self.name = name
        self.description = description
        self.reference = reference
        self.licence = licence
        self.release = release
        self.tensorImageSize = tensorImageSize
        self.modality = modality
        self.labels = labels
        self.numTraining = training.count
        self.numTest = test.count
        self.training = training
        self.test = test
    }

    /// Decodes the file; `modality` and `labels` are required, the other keys are optional.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        reference = try c.decodeIfPresent(String.self, forKey: .reference)
        licence = try c.decodeIfPresent(String.self, forKey: .licence)
        release = try c.decodeIfPresent(String.self, forKey: .release)
        tensorImageSize = try c.decodeIfPresent(String.self, forKey: .tensorImageSize)
        modality = try c.decode([String: String].self, forKey: .modality)
        labels = try c.decode([String: String].self, forKey: .labels)
        numTraining = try c.decodeIfPresent(Int.self, forKey: .numTraining)
        numTest = try c.decodeIfPresent(Int.self, forKey: .numTest)
        training = try c.decodeIfPresent([TrainingEntry].self, forKey: .training) ?? []
        test = try c.decodeIfPresent([String].self, forKey: .test) ?? []
    }

    /// Number of input modalities (channels).
    public var modalityCount: Int { modality.count }

    /// Modality names in index order.
    public var modalityNames: [String] {
        (0..<modality.count).map { modality[String($0)] ?? "" }
    }

    /// Label values declared by the file, sorted (background 0 included).
    public var labelValues: [Int] { labels.keys.compactMap { Int($0) }.sorted() }

    /// Case identifiers of the training set: the image entry's file name minus `.nii.gz`.
    public var trainingIdentifiers: [String] { training.map { Self.identifier(ofEntry: $0.image) } }

    /// Case identifiers of the test set.
    public var testIdentifiers: [String] { test.map { Self.identifier(ofEntry: $0) } }

    static func identifier(ofEntry entry: String) -> String {
        let base = (entry as NSString).lastPathComponent
        return base.hasSuffix(".nii.gz") ? String(base.dropLast(7)) : base
    }

    /// Loads and decodes `dataset.json`.
    /// - Throws: ``CoreError/invalidJSON(path:reason:)`` naming the file and the first problem.
    public static func load(from url: URL) throws -> DatasetDescription {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CoreError.missingPath(path: url.path, hint: "Every task folder needs a dataset.json (MSD format).")
        }
        do {
            return try JSONDecoder().decode(DatasetDescription.self, from: data)
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty {
                throw CoreError.invalidJSON(path: url.path, reason: "not valid JSON (\(context.debugDescription))")
            }
            throw CoreError.invalidJSON(path: url.path, reason: error.fieldDescription)
        } catch {
            throw CoreError.invalidJSON(path: url.path, reason: "not valid JSON (\(error.localizedDescription))")
        }
    }

    /// Writes the file (sorted keys, indented), atomically.
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(self), to: url)
    }
}
