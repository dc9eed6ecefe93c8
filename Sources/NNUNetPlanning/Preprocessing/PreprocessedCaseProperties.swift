import Foundation

/// What v1 keeps in a preprocessed case's `CASE.pkl`, stored as `CASE.json` next to `CASE.npy`.
///
/// The cropping properties plus `size_after_resampling`, `spacing_after_resampling` (transposed order) and
/// `class_locations`: foreground class → up to 10 000 sampled voxel coordinates (z, y, x in transposed order), an
/// empty list when the class is absent.
public struct PreprocessedCaseProperties: Codable, Sendable, Equatable {
    /// The cropped case's properties, stored as top-level keys of the same JSON object.
    public var cropping: CroppedCaseProperties
    /// `size_after_resampling`: shape of the preprocessed case, voxels, transposed order.
    public var sizeAfterResampling: [Int]
    /// `spacing_after_resampling`: spacing of the preprocessed case, mm, transposed order.
    public var spacingAfterResampling: [Double]
    /// `class_locations`: foreground class to sampled voxel coordinates, transposed order (empty: class absent).
    public var classLocations: [Int: [[Int]]]

    enum CodingKeys: String, CodingKey {
        case sizeAfterResampling = "size_after_resampling", spacingAfterResampling = "spacing_after_resampling"
        case classLocations = "class_locations"
    }

    /// Creates the properties from the cropping properties and what preprocessing added.
    public init(cropping: CroppedCaseProperties, sizeAfterResampling: [Int], spacingAfterResampling: [Double],
                classLocations: [Int: [[Int]]]) {
        self.cropping = cropping
        self.sizeAfterResampling = sizeAfterResampling
        self.spacingAfterResampling = spacingAfterResampling
        self.classLocations = classLocations
    }

    /// Decodes the flat v1 layout: the cropping keys next to the three preprocessing keys.
    public init(from decoder: any Decoder) throws {
        cropping = try CroppedCaseProperties(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sizeAfterResampling = try c.decode([Int].self, forKey: .sizeAfterResampling)
        spacingAfterResampling = try c.decode([Double].self, forKey: .spacingAfterResampling)
        classLocations = try c.decode([Int: [[Int]]].self, forKey: .classLocations)
    }

    /// Encodes the flat v1 layout: the cropping keys next to the three preprocessing keys.
    public func encode(to encoder: any Encoder) throws {
        try cropping.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sizeAfterResampling, forKey: .sizeAfterResampling)
        try c.encode(spacingAfterResampling, forKey: .spacingAfterResampling)
        try c.encode(classLocations, forKey: .classLocations)
    }

    /// Compact JSON of these properties. `class_locations` (up to 10 000 × 3 integers per class) is serialised by
    /// hand: Foundation's JSONEncoder spends ~20 ms per case on it, more than the whole preprocessing of a small case.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var head = [UInt8](try encoder.encode(Head(cropping: cropping, sizeAfterResampling: sizeAfterResampling,
                                                   spacingAfterResampling: spacingAfterResampling)))
        guard head.last == UInt8(ascii: "}") else { return Data(head) }
        head.removeLast()
        var out = head
        out.reserveCapacity(head.count + classLocations.values.reduce(0) { $0 + $1.count * 20 } + 64)
        out.append(contentsOf: Array(",\"class_locations\":{".utf8))
        func appendInt(_ value: Int) {
            if value < 0 { out.append(UInt8(ascii: "-")) }
            var v = abs(value)
            var digits: [UInt8] = []
            repeat { digits.append(UInt8(ascii: "0") + UInt8(v % 10)); v /= 10 } while v > 0
            out.append(contentsOf: digits.reversed())
        }
        for (n, key) in classLocations.keys.sorted().enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            appendInt(key)
            out.append(contentsOf: Array("\":[".utf8))
            for (i, location) in (classLocations[key] ?? []).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out.append(UInt8(ascii: "["))
                for (j, coordinate) in location.enumerated() {
                    if j > 0 { out.append(UInt8(ascii: ",")) }
                    appendInt(coordinate)
                }
                out.append(UInt8(ascii: "]"))
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(contentsOf: Array("}}".utf8))
        return Data(out)
    }

    /// Everything but `class_locations`, for ``jsonData()``.
    private struct Head: Encodable {
        var cropping: CroppedCaseProperties
        var sizeAfterResampling: [Int]
        var spacingAfterResampling: [Double]
        func encode(to encoder: any Encoder) throws {
            try cropping.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(sizeAfterResampling, forKey: .sizeAfterResampling)
            try c.encode(spacingAfterResampling, forKey: .spacingAfterResampling)
        }
    }

    /// Loads `CASE.json` of a stage folder.
    public static func load(from url: URL) throws -> PreprocessedCaseProperties {
        try JSONFile.decode(PreprocessedCaseProperties.self, from: url)
    }
}
