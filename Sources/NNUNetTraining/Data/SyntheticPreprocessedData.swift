import Foundation
import NNUNetCore

/// Writes a seeded, synthetic preprocessed stage folder (for tests and the augmentation benchmark).
///
/// Each case is a (modalities + 1) × Z × Y × X float32 array: smooth intensities plus noise (z-scored-like values),
/// and a segmentation with nested ellipsoids labelled 1...classes − 1 around a random centre, −1 in a thin border
/// (as the nonzero mask leaves outside the body). `class_locations` stores up to 10,000 voxels per label, evenly
/// spaced through the label's voxels (v1 draws them at random; only their membership matters to the sampler).
public enum SyntheticPreprocessedData {
    /// Writes `caseCount` cases named `case_000`, ... into `folder` (created if needed) and returns their identifiers.
    public static func write(to folder: URL, caseCount: Int, shape: [Int], modalities: Int = 1, classes: Int = 3,
                             seed: UInt64 = 1) throws -> [String] {
        precondition(shape.count == 3 && classes >= 2, "SyntheticPreprocessedData: 3D shape and ≥ 2 classes")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var random = SeededGenerator(seed: seed)
        let (nz, ny, nx) = (shape[0], shape[1], shape[2])
        let voxels = nz * ny * nx
        var identifiers: [String] = []
        for index in 0..<caseCount {
            let identifier = String(format: "case_%03d", index)
            var values = [Float](repeating: 0, count: (modalities + 1) * voxels)
            let centre = shape.map { Double($0) * random.nextUniform(in: 0.35...0.65) }
            let radius = shape.map { Double($0) * random.nextUniform(in: 0.15...0.3) }
            var locations: [Int: [[Int]]] = [:]
            for z in 0..<nz {
                for y in 0..<ny {
                    for x in 0..<nx {
                        let i = (z * ny + y) * nx + x
                        let p = [Double(z), Double(y), Double(x)]
                        let r = (0..<3).reduce(0.0) { $0 + pow((p[$1] - centre[$1]) / radius[$1], 2) }.squareRoot()
                        var label = 0
                        for c in 1..<classes where r < 1 - Double(c - 1) / Double(classes) { label = c }
                        let border = z == 0 || y == 0 || x == 0
                        values[modalities * voxels + i] = border ? -1 : Float(label)
                        if label > 0 && !border { locations[label, default: []].append([z, y, x]) }
                        for m in 0..<modalities {
                            values[m * voxels + i] = Float(Double(label) * 0.8 - 0.5 + 0.3 * sin(Double(x + m) * 0.3)
                                + 0.2 * random.nextGaussian())
                        }
                    }
                }
            }
            for (label, all) in locations where all.count > 10_000 {
                let step = Double(all.count) / 10_000
                locations[label] = (0..<10_000).map { all[Int(Double($0) * step)] }
            }
            try PreprocessedDataset.writeCase(identifier: identifier, voxels: values, shape: [modalities + 1] + shape,
                                              classLocations: locations, to: folder)
            identifiers.append(identifier)
        }
        return identifiers
    }
}
