import Foundation
import NNUNetCore

/// "Keep the largest connected component" for class sets: v1's postprocessing operation.
///
/// Port of v1 `postprocessing/connected_components.py` `remove_all_but_the_largest_connected_component` and
/// `load_remove_save`. For each class set S in order: mask = voxels whose label ∈ S; components with face
/// connectivity (scipy's default structure: 6 in 3D, 4 in 2D); size = voxel count × volume per voxel (the product of
/// the spacing, mm³); every component whose size differs from the maximum is set to background (0), so ties keep all
/// largest components. With `minimumSizes`, a non-largest component is removed only when it is smaller than the
/// threshold of its class set. Class sets are processed one after the other on the updated map.
///
/// Speed: the components are found as runs (NNUNetCore's `ConnectedComponents`), and removal clears runs directly, without a
/// label volume or one pass per component as v1 does.
public enum LargestComponentFilter {
    /// What one class set saw: the largest removed and the kept (maximum) component size, in mm³ (nil: none).
    public struct Report: Sendable, Equatable {
        /// Size of the largest component that was removed, mm³; nil when none was removed.
        public var largestRemoved: Double?
        /// Size of the largest (kept) component, mm³; nil when the class set has no voxel.
        public var keptSize: Double?
    }

    /// Applies the operation in place.
    ///
    /// - Parameters:
    ///   - labels: label map, C order (z, y, x), modified in place.
    ///   - shape: (z, y, x).
    ///   - volumePerVoxel: product of the spacing (mm³).
    ///   - classSets: `for_which_classes`; a set containing 0 is rejected by precondition (v1 asserts it).
    ///   - minimumSizes: optional `min_valid_object_sizes` per class set.
    ///   - connectivity: face (v1) or full (v2, scikit-image's default).
    ///   - background: the label removed components become (v1: 0; v2's `background_label`, default 0).
    ///   - threads: worker threads.
    /// - Returns: one report per class set.
    @discardableResult
    public static func apply(to labels: inout [Float], shape: [Int], volumePerVoxel: Double, classSets: [ClassSet],
                             minimumSizes: [ClassSet: Double]? = nil, connectivity: ComponentConnectivity = .face,
                             background: Float = 0, threads: Int = ThreadSettings.defaultThreads) -> [Report] {
        precondition(labels.count == shape.reduce(1, *), "label map has \(labels.count) voxels, shape \(shape)")
        var reports: [Report] = []
        var mask = [UInt8](repeating: 0, count: labels.count)
        for classSet in classSets {
            precondition(!classSet.labels.contains(0), "cannot remove background: class set \(classSet) contains 0")
            let members = classSet.labels.map { Float($0) }
            labels.withUnsafeBufferPointer { source in
                mask.withUnsafeMutableBufferPointer { target in
                    guard let s = source.baseAddress, let t = target.baseAddress else { return }
                    parallelFor(source.count, threads: threads, minimumChunk: 1 << 16) { range in
                        if members.count == 1 {
                            let m = members[0]
                            for i in range { t[i] = s[i] == m ? 1 : 0 }
                        } else {
                            for i in range { t[i] = members.contains(s[i]) ? 1 : 0 }
                        }
                    }
                }
            }
            let components = mask.withUnsafeBufferPointer {
                ConnectedComponents.runs(of: $0, shape: shape, connectivity: connectivity, threads: threads)
            }
            var report = Report(largestRemoved: nil, keptSize: nil)
            guard components.count > 0 else { reports.append(report); continue }
            let sizes = components.voxelCounts.map { Double($0) * volumePerVoxel }
            let maximum = sizes[1...].max() ?? 0
            report.keptSize = maximum
            var remove = [Bool](repeating: false, count: components.count + 1)
            for c in 1...components.count where sizes[c] != maximum {
                if let threshold = minimumSizes?[classSet], !(sizes[c] < threshold) { continue }
                remove[c] = true
                report.largestRemoved = max(report.largestRemoved ?? sizes[c], sizes[c])
            }
            let width = shape[shape.count - 1]
            labels.withUnsafeMutableBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                let rows = components.rowStart.count - 1
                parallelFor(rows, threads: threads, minimumChunk: 256) { range in
                    for row in range {
                        for run in components.rowStart[row]..<components.rowStart[row + 1]
                        where remove[Int(components.runComponent[run])] {
                            for x in Int(components.runStart[run])...Int(components.runEnd[run]) {
                                base[row * width + x] = background
                            }
                        }
                    }
                }
            }
            reports.append(report)
        }
        return reports
    }

    /// Reads a label map, applies the operation with its spacing and writes it with the same geometry and voxel type
    /// (v1 `load_remove_save`).
    ///
    /// - Throws: ``EvaluationError/unreadableFile(path:reason:)`` / ``EvaluationError/unwritableFile(path:reason:)``.
    @discardableResult
    public static func apply(input: URL, output: URL, classSets: [ClassSet], minimumSizes: [ClassSet: Double]? = nil,
                             threads: Int = ThreadSettings.defaultThreads) throws -> [Report] {
        var volume = try CaseEvaluator.readSegmentation(input)
        let reports = apply(to: &volume.data, shape: volume.shape, volumePerVoxel: volumePerVoxel(volume.geometry),
                            classSets: classSets, minimumSizes: minimumSizes, threads: threads)
        try writeSegmentation(volume, to: output)
        return reports
    }

    /// `float(np.prod(img.GetSpacing(), dtype=np.float64))`: x · y · z spacing, in that order.
    public static func volumePerVoxel(_ geometry: ImageGeometry) -> Double {
        geometry.itkSpacing.reduce(1, *)
    }

    /// Writes a label map in the voxel type it was read with (uint8 for volumes made in memory).
    static func writeSegmentation(_ volume: Volume, to url: URL) throws {
        do {
            try NIfTI.write(volume, to: url, dataType: volume.sourceDataType ?? .uint8)
        } catch let error as CoreError {
            throw EvaluationError.unwritableFile(path: url.path, reason: error.description)
        }
    }
}
