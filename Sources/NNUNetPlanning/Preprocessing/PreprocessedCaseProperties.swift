import Foundation

/// What v1 keeps in a preprocessed case's `CASE.pkl`, stored as `CASE.json` next to `CASE.npy`.
///
/// The cropping properties plus `size_after_resampling`, `spacing_after_resampling` (transposed order) and
/// `class_locations`: foreground class → up to 10 000 sampled voxel coordinates (z, y, x in transposed order), an
/// empty list when the class is absent.
public struct PreprocessedCaseProperties: Codable, Sendable, Equatable {
    public var cropping: CroppedCaseProperties
    public var sizeAfterResampling: [Int]
    public var spacingAfterResampling: [Double]
    public var classLocations: [Int: [[Int]]]

    enum CodingKeys: String, CodingKey {
        case sizeAfterResampling = "size_after_resampling", spacingAfterResampling = "spacing_after_resampling"
        case classLocations = "class_locations"
    }

    public init(cropping: CroppedCaseProperties, sizeAfterResampling: [Int], spacingAfterResampling: [Double],
                classLocations: [Int: [[Int]]]) {
        self.cropping = cropping
        self.sizeAfterResampling = sizeAfterResampling
        self.spacingAfterResampling = spacingAfterResampling
        self.classLocations = classLocations
    }

    public init(from decoder: any Decoder) throws {
        cropping = try CroppedCaseProperties(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sizeAfterResampling = try c.decode([Int].self, forKey: .sizeAfterResampling)
        spacingAfterResampling = try c.decode([Double].self, forKey: .spacingAfterResampling)
        classLocations = try c.decode([Int: [[Int]]].self, forKey: .classLocations)
    }

    public func encode(to encoder: any Encoder) throws {
        try cropping.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sizeAfterResampling, forKey: .sizeAfterResampling)
        try c.encode(spacingAfterResampling, forKey: .spacingAfterResampling)
        try c.encode(classLocations, forKey: .classLocations)
    }

    /// Loads `CASE.json` of a stage folder.
    public static func load(from url: URL) throws -> PreprocessedCaseProperties {
        try JSONFile.decode(PreprocessedCaseProperties.self, from: url)
    }
}
