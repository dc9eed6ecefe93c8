import Foundation
import NNUNetCore

/// Intensity statistics of one modality's foreground voxels (CT normalisation), as v1's `intensityproperties.pkl`.
///
/// NaN (no foreground) is stored as JSON `null`.
public struct IntensityStatistics: Codable, Sendable, Equatable {
    /// `median` of the sampled foreground intensities; nil without foreground.
    public var median: Double?
    /// `mean` of the sampled foreground intensities.
    public var mean: Double?
    /// `sd`: population standard deviation (numpy `std`, ddof 0) of the sampled foreground intensities.
    public var sd: Double?
    /// `mn`: minimum of the sampled foreground intensities.
    public var mn: Double?
    /// `mx`: maximum of the sampled foreground intensities.
    public var mx: Double?
    /// `percentile_99_5`: 99.5th percentile (numpy, linear); the upper clipping bound of CT normalisation.
    public var percentile99_5: Double?
    /// `percentile_00_5`: 0.5th percentile (numpy, linear); the lower clipping bound of CT normalisation.
    public var percentile00_5: Double?

    enum CodingKeys: String, CodingKey {
        case median, mean, sd, mn, mx, percentile99_5 = "percentile_99_5", percentile00_5 = "percentile_00_5"
    }

    /// v1 `DatasetAnalyzer._compute_stats` on the float32 samples: median, mean, population sd, min, max, 99.5th and
    /// 0.5th percentiles, each computed as numpy does for a float32 array and so a float32 value (stored here as the
    /// Double that equals it): `np.mean` / `np.std` with float32 pairwise summation (`NumPyReduction`), `np.median`
    /// and `np.percentile` (linear) with float32 interpolation (``NumpyStatistics``). The order of `voxels` matters
    /// for the mean and sd (pairwise summation), as in v1. Every value is nil without samples, or when a sample is
    /// NaN (numpy's results would all be NaN).
    public init(voxels: [Float]) {
        self.init()
        guard !voxels.isEmpty, !voxels.contains(where: \.isNaN) else { return }
        let sorted = voxels.sorted()
        self.median = Double(NumpyStatistics.median(sorted: sorted))
        self.mean = Double(NumPyReduction.mean(voxels))
        self.sd = Double(NumPyReduction.standardDeviation(voxels))
        self.mn = Double(sorted[0])
        self.mx = Double(sorted[sorted.count - 1])
        self.percentile99_5 = Double(NumpyStatistics.percentile(sorted: sorted, 99.5))
        self.percentile00_5 = Double(NumpyStatistics.percentile(sorted: sorted, 0.5))
    }

    /// Statistics with every value nil (no foreground).
    public init() {}
}

/// Pooled intensity statistics of one modality plus the per-case ones (`local_props`).
public struct ModalityIntensityProperties: Codable, Sendable, Equatable {
    /// Statistics of all cases' samples together (every 10th foreground voxel of each case); stored at the top level.
    public var pooled: IntensityStatistics
    /// `local_props`: statistics of each case's own samples, by case identifier.
    public var localProps: [String: IntensityStatistics]

    enum CodingKeys: String, CodingKey { case localProps = "local_props" }

    /// Creates the properties from pooled and per-case statistics.
    public init(pooled: IntensityStatistics, localProps: [String: IntensityStatistics]) {
        self.pooled = pooled
        self.localProps = localProps
    }

    /// Decodes v1's layout: the pooled statistics' keys next to `local_props`.
    public init(from decoder: any Decoder) throws {
        pooled = try IntensityStatistics(from: decoder)
        localProps = try decoder.container(keyedBy: CodingKeys.self).decode([String: IntensityStatistics].self,
                                                                              forKey: .localProps)
    }

    /// Encodes v1's layout: the pooled statistics' keys next to `local_props`.
    public func encode(to encoder: any Encoder) throws {
        try pooled.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(localProps, forKey: .localProps)
    }
}

/// The dataset fingerprint (v1 `dataset_properties.pkl`), stored as `dataset_properties.json`.
///
/// Per-case lists follow the sorted case identifiers (``caseIdentifiers``). Sizes and spacings are (z, y, x).
public struct DatasetProperties: Codable, Sendable, Equatable {
    /// Cropped sizes per case.
    public var allSizes: [[Int]]
    /// Original spacings per case.
    public var allSpacings: [[Double]]
    /// Foreground labels from dataset.json (> 0), ascending.
    public var allClasses: [Int]
    /// Modality index → name.
    public var modalities: [Int: String]
    /// Only when a modality is named `CT`/`ct` (then for every modality); nil otherwise.
    public var intensityProperties: [Int: ModalityIntensityProperties]?
    /// Case → cropped voxels / original voxels.
    public var sizeReductions: [String: Double]
    /// Sorted case identifiers (the order of ``allSizes`` and ``allSpacings``).
    public var caseIdentifiers: [String]

    enum CodingKeys: String, CodingKey {
        case allSizes = "all_sizes", allSpacings = "all_spacings", allClasses = "all_classes", modalities
        case intensityProperties = "intensityproperties", sizeReductions = "size_reductions"
        case caseIdentifiers = "case_identifiers"
    }

    /// Creates a fingerprint; per-case lists must follow the order of `caseIdentifiers`.
    public init(allSizes: [[Int]], allSpacings: [[Double]], allClasses: [Int], modalities: [Int: String],
                intensityProperties: [Int: ModalityIntensityProperties]?, sizeReductions: [String: Double],
                caseIdentifiers: [String]) {
        self.allSizes = allSizes
        self.allSpacings = allSpacings
        self.allClasses = allClasses
        self.modalities = modalities
        self.intensityProperties = intensityProperties
        self.sizeReductions = sizeReductions
        self.caseIdentifiers = caseIdentifiers
    }

    /// Decodes this package's `dataset_properties.json` and v1's `dataset_properties` (the fingerprint embedded in
    /// v1's plans pickles), which has no `case_identifiers`: v1's per-case lists follow the sorted case identifiers,
    /// which are then the sorted keys of `size_reductions` (every case has one).
    ///
    /// Every field that is present must decode; a malformed one throws a `DecodingError` whose coding path names it.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        allSizes = try c.decode([[Int]].self, forKey: .allSizes)
        allSpacings = try c.decode([[Double]].self, forKey: .allSpacings)
        allClasses = try c.decode([Int].self, forKey: .allClasses)
        modalities = try c.decode([Int: String].self, forKey: .modalities)
        intensityProperties = try c.decodeIfPresent([Int: ModalityIntensityProperties].self,
                                                    forKey: .intensityProperties)
        sizeReductions = try c.decode([String: Double].self, forKey: .sizeReductions)
        if let identifiers = try c.decodeIfPresent([String].self, forKey: .caseIdentifiers) {
            caseIdentifiers = identifiers
        } else {
            caseIdentifiers = sizeReductions.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        }
        guard caseIdentifiers.count == allSizes.count, caseIdentifiers.count == allSpacings.count else {
            throw DecodingError.dataCorruptedError(
                forKey: .caseIdentifiers, in: c,
                debugDescription: "\(caseIdentifiers.count) case identifiers for \(allSizes.count) sizes and "
                    + "\(allSpacings.count) spacings")
        }
    }

    /// Encodes every key; `intensityproperties` is written as `null` when nil (as v1's `None`).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(allSizes, forKey: .allSizes)
        try c.encode(allSpacings, forKey: .allSpacings)
        try c.encode(allClasses, forKey: .allClasses)
        try c.encode(modalities, forKey: .modalities)
        if let intensityProperties { try c.encode(intensityProperties, forKey: .intensityProperties) } else {
            try c.encodeNil(forKey: .intensityProperties)
        }
        try c.encode(sizeReductions, forKey: .sizeReductions)
        try c.encode(caseIdentifiers, forKey: .caseIdentifiers)
    }

    /// Loads `dataset_properties.json`.
    public static func load(from url: URL) throws -> DatasetProperties {
        try JSONFile.decode(DatasetProperties.self, from: url)
    }
}
