import Foundation
import NNUNetCore

/// Computes the dataset fingerprint from the cropped cases and writes `dataset_properties.json` (and, for CT,
/// `intensityproperties.json`) into the cropped folder.
///
/// Port of v1 `experiment_planning/DatasetAnalyzer.py` `analyze_dataset`: cases in sorted identifier order, classes
/// from dataset.json (labels > 0), size reduction = cropped voxels / original voxels. Intensity properties (only when
/// a modality is named exactly `CT` or `ct`): every 10th foreground voxel (label > 0, C order) of each modality,
/// pooled over cases in sorted identifier order, plus per-case statistics. The samples stay float32 and every
/// statistic is computed with numpy's float32 arithmetic (``IntensityStatistics/init(voxels:)``), so the values equal
/// v1's `np.float32` ones bit for bit.
public enum DatasetAnalyzer {
    /// Whether v1 collects intensity properties for these modality names.
    public static func needsIntensityProperties(_ modalityNames: [String]) -> Bool {
        modalityNames.contains("CT") || modalityNames.contains("ct")
    }

    /// Analyses `croppedFolder` (which must hold the cropped cases and dataset.json) and writes the fingerprint.
    public static func analyze(croppedFolder: URL, threads: Int = ThreadSettings.defaultThreads) throws
        -> DatasetProperties {
        let description = try DatasetDescription.load(from: croppedFolder.appendingPathComponent("dataset.json"))
        let identifiers = try croppedCaseIdentifiers(in: croppedFolder)
        guard !identifiers.isEmpty else {
            throw PlanningError.missingIntermediate(path: croppedFolder.path,
                                                    hint: "No cropped cases found; run the cropping step first.")
        }
        let properties = try identifiers.map {
            try CroppedCaseProperties.load(from: croppedFolder.appendingPathComponent($0 + ".json"))
        }
        var modalities: [Int: String] = [:]
        for (key, name) in description.modality { if let index = Int(key) { modalities[index] = name } }
        let classes = description.labels.keys.compactMap { Int($0) }.filter { $0 > 0 }.sorted()
        var reductions: [String: Double] = [:]
        for (id, p) in zip(identifiers, properties) {
            reductions[id] = Double(p.sizeAfterCropping.reduce(1, *)) / Double(p.originalSizeOfRawData.reduce(1, *))
        }
        var intensity: [Int: ModalityIntensityProperties]?
        if needsIntensityProperties(description.modalityNames) {
            intensity = try intensityProperties(croppedFolder: croppedFolder, identifiers: identifiers,
                                                modalities: modalities.count, threads: threads)
            try JSONFile.write(IntensityFile(intensity ?? [:]),
                               to: croppedFolder.appendingPathComponent("intensityproperties.json"))
        }
        let result = DatasetProperties(
            allSizes: properties.map(\.sizeAfterCropping), allSpacings: properties.map(\.originalSpacing),
            allClasses: classes, modalities: modalities, intensityProperties: intensity,
            sizeReductions: reductions, caseIdentifiers: identifiers)
        try JSONFile.write(result, to: croppedFolder.appendingPathComponent("dataset_properties.json"))
        return result
    }

    /// Identifiers of the complete cropped cases (`.npy` and `.json` present), sorted.
    public static func croppedCaseIdentifiers(in folder: URL) throws -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let npys = Set(names.filter { $0.hasSuffix(".npy") && !$0.hasPrefix(".") }.map { String($0.dropLast(4)) })
        let jsons = Set(names.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) })
        return npys.intersection(jsons).sorted()
    }

    static func intensityProperties(croppedFolder: URL, identifiers: [String], modalities: Int, threads: Int) throws
        -> [Int: ModalityIntensityProperties] {
        // Foreground samples per case and modality.
        let samples = LockedValue([[[Float]]](repeating: [], count: identifiers.count))
        let errors = LockedValue<[(any Error)?]>(errorSlots: identifiers.count)
        parallelFor(identifiers.count, threads: max(1, threads)) { range in
            for i in range {
                do {
                    let mapped = try MappedNPY(croppedFolder.appendingPathComponent(identifiers[i] + ".npy"))
                    let perChannel = mapped.shape.dropFirst().reduce(1, *)
                    let values = try mapped.withFloat32Buffer { buffer -> [[Float]] in
                        let seg = buffer.baseAddress! + modalities * perChannel
                        var out = [[Float]](repeating: [], count: modalities)
                        var k = 0
                        for v in 0..<perChannel where seg[v] > 0 {
                            if k % 10 == 0 {
                                for m in 0..<modalities { out[m].append(buffer[m * perChannel + v]) }
                            }
                            k += 1
                        }
                        return out
                    }
                    samples.withLock { $0[i] = values }
                } catch { errors.set(i, error) }
            }
        }
        if let error = errors.first { throw error }
        let perCase = samples.withLock { $0 }
        var result: [Int: ModalityIntensityProperties] = [:]
        for m in 0..<modalities {
            var pooled: [Float] = []
            var local: [String: IntensityStatistics] = [:]
            for (i, id) in identifiers.enumerated() {
                let v = perCase[i][m]
                pooled += v
                local[id] = IntensityStatistics(voxels: v)
            }
            result[m] = ModalityIntensityProperties(pooled: IntensityStatistics(voxels: pooled), localProps: local)
        }
        return result
    }

    /// `intensityproperties.json`: modality index → properties.
    struct IntensityFile: Encodable {
        var value: [Int: ModalityIntensityProperties]
        init(_ value: [Int: ModalityIntensityProperties]) { self.value = value }
        func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
    }
}
