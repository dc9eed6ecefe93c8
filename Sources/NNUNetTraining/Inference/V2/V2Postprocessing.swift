import Foundation
import NNUNetCore
import NNUNetEvaluation

/// The postprocessing nnU-Net v2's `nnUNetv2_find_best_configuration` chose, read from its `postprocessing.pkl`, and
/// applied as `nnUNetv2_apply_postprocessing` applies it.
///
/// Port of the behaviour of v2 `postprocessing/remove_connected_components.py`. The pickle is a pair
/// `(pp_fns, pp_fn_kwargs)`: a list of functions and a list of keyword dicts of the same length. v2 only ever lists
/// `remove_all_but_largest_component_from_segmentation`, with `labels_or_regions` (a label, a region as a tuple of
/// labels, or a list of either) and optionally `background_label` (default 0). Each step, in order, on the label map
/// the previous step left:
/// - mask = the voxels whose label is any of the labels named (a list of labels and a region mean the same union);
/// - components of the mask with full connectivity (26 neighbours in 3D: scikit-image's `label` default, which v2
///   uses; v1 used 6), sizes in voxels;
/// - every component smaller than the largest is set to `background_label` (ties keep every largest component).
///
/// The pickle is read by the restricted unpickler (`PickleReader`): the function is accepted only as a name
/// (`PickleValue.reference`), never called, and any other global is refused.
public struct V2Postprocessing: Sendable, Equatable {
    /// The one function v2 writes into `postprocessing.pkl`.
    public static let largestComponentFunction =
        "nnunetv2.postprocessing.remove_connected_components.remove_all_but_largest_component_from_segmentation"

    /// One call of `remove_all_but_largest_component_from_segmentation`.
    public struct Step: Sendable, Equatable {
        /// The labels whose union is the mask (`labels_or_regions`, flattened), ascending.
        public var labels: [Int]
        /// What removed components become (`background_label`, default 0).
        public var backgroundLabel: Int

        /// Creates a step.
        public init(labels: [Int], backgroundLabel: Int = 0) {
            self.labels = labels
            self.backgroundLabel = backgroundLabel
        }
    }

    /// The steps in the pickle's order; empty when v2 found that no postprocessing helps.
    public var steps: [Step]
    /// The file the steps were read from (for messages).
    public var source: String

    /// Creates a postprocessing from steps.
    public init(steps: [Step], source: String = "postprocessing") {
        self.steps = steps
        self.source = source
    }

    /// Reads a v2 `postprocessing.pkl`.
    ///
    /// - Throws: ``TrainingError/unusableModel(_:)`` naming the file and the entry: not a pair of equal-length
    ///   lists, a function other than v2's `remove_all_but_largest_component_from_segmentation` (any other global
    ///   is refused by the unpickler), an unknown keyword, labels that are not integers or that include 0.
    public init(contentsOf url: URL) throws {
        var reader = PickleReader(source: url.path)
        reader.allowedReferences = [Self.largestComponentFunction]
        let root: PickleValue
        do {
            let data = try Data(contentsOf: url)
            root = try reader.decode([UInt8](data))
        } catch let error as CoreError {
            throw TrainingError.unusableModel("'\(url.path)' is not a usable nnU-Net v2 postprocessing.pkl: "
                                              + error.description)
        } catch {
            throw TrainingError.unusableModel("'\(url.path)' cannot be read (\(error))")
        }
        func fail(_ problem: String) -> TrainingError {
            .unusableModel("'\(url.path)': \(problem) (nnU-Net v2's postprocessing.pkl is a pair (functions, "
                           + "keyword dicts))")
        }
        guard let pair = root.elements, pair.count == 2, let functions = pair[0].elements,
              let keywords = pair[1].elements else {
            throw fail("the pickle is not a pair of lists")
        }
        guard functions.count == keywords.count else {
            throw fail("\(functions.count) function(s) but \(keywords.count) keyword dict(s)")
        }
        var steps: [Step] = []
        for (index, (function, arguments)) in zip(functions, keywords).enumerated() {
            guard case .reference(let name) = function, name == Self.largestComponentFunction else {
                throw fail("function \(index) is not \(Self.largestComponentFunction)")
            }
            guard case .dict(let entries) = arguments else { throw fail("keyword entry \(index) is not a dict") }
            var labels: [Int]?, background = 0
            for entry in entries {
                switch entry.key.stringValue {
                case "labels_or_regions":
                    guard let flat = Self.flatLabels(entry.value) else {
                        throw fail("keyword entry \(index): labels_or_regions is not a label, a region or a list of "
                                   + "them")
                    }
                    labels = flat
                case "background_label":
                    guard case .int(let value) = entry.value else {
                        throw fail("keyword entry \(index): background_label is not an integer")
                    }
                    background = value
                default:
                    throw fail("keyword entry \(index) has the unknown keyword "
                               + "'\(entry.key.stringValue ?? "\(entry.key)")'")
                }
            }
            guard let labels else { throw fail("keyword entry \(index) has no labels_or_regions") }
            if labels.contains(background) {
                throw fail("keyword entry \(index): labels_or_regions \(labels) contains the background label "
                           + "\(background)")
            }
            steps.append(Step(labels: labels, backgroundLabel: background))
        }
        self.init(steps: steps, source: url.path)
    }

    /// `2`, `(1, 2)`, `[1, 2]`, `[(1, 2), 2]` → the sorted union of labels; nil for anything else.
    static func flatLabels(_ value: PickleValue) -> [Int]? {
        if case .int(let label) = value { return [label] }
        guard let items = value.elements else { return nil }
        var labels = Set<Int>()
        for item in items {
            if case .int(let label) = item { labels.insert(label); continue }
            guard let region = item.elements else { return nil }
            for member in region {
                guard case .int(let label) = member else { return nil }
                labels.insert(label)
            }
        }
        return labels.sorted()
    }

    /// Applies the steps to a label map in place (C order, any axis order: full connectivity is symmetric).
    public func apply(to labels: inout [Float], shape: [Int], threads: Int = ThreadSettings.defaultThreads) {
        for step in steps {
            let classSet: ClassSet = step.labels.count == 1 ? .single(step.labels[0]) : .union(step.labels)
            LargestComponentFilter.apply(to: &labels, shape: shape, volumePerVoxel: 1, classSets: [classSet],
                                         connectivity: .full, background: Float(step.backgroundLabel),
                                         threads: threads)
        }
    }

    /// Reads a segmentation, applies the steps and writes it with the same geometry, as uint8 (uint16 when a label
    /// is 255 or more), as v2's `SimpleITKIO.write_seg` does; the write is atomic.
    ///
    /// - Throws: ``TrainingError/unusableModel(_:)`` naming the file that cannot be read or written.
    public func apply(input: URL, output: URL, threads: Int = ThreadSettings.defaultThreads) throws {
        var volume: Volume
        do { volume = try NIfTI.read(input) } catch {
            throw TrainingError.unusableModel("'\(input.path)' cannot be read as a segmentation (\(error))")
        }
        guard volume.channels == 1 else {
            throw TrainingError.unusableModel("'\(input.path)' has \(volume.channels) channels; a segmentation has one")
        }
        apply(to: &volume.data, shape: volume.shape, threads: threads)
        let largest = volume.data.max() ?? 0
        do { try NIfTI.write(volume, to: output, dataType: largest < 255 ? .uint8 : .uint16) } catch {
            throw TrainingError.unusableModel("'\(output.path)' cannot be written (\(error))")
        }
    }

    /// Applies the steps to every `*<fileEnding>` file of `inputFolder` (sorted), writing the same names into
    /// `outputFolder` (created if needed), as `nnUNetv2_apply_postprocessing` does. Each file is written atomically, so
    /// the output folder may be the input folder.
    ///
    /// - Returns: the file names processed.
    /// - Throws: ``TrainingError`` naming the folder or file.
    @discardableResult
    public func apply(inputFolder: URL, outputFolder: URL, fileEnding: String,
                      threads: Int = ThreadSettings.defaultThreads, progress: ((String) -> Void)? = nil) throws
        -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: inputFolder.path)
                .filter { $0.hasSuffix(fileEnding) }.sorted()
        } catch {
            throw TrainingError.unusableModel("the input folder '\(inputFolder.path)' cannot be read (\(error))")
        }
        do { try FileManager.default.createDirectory(at: outputFolder, withIntermediateDirectories: true) } catch {
            throw CoreError.fileSystem(path: outputFolder.path, reason: "cannot create the output folder (\(error))")
        }
        for (index, name) in names.enumerated() {
            try apply(input: inputFolder.appendingPathComponent(name),
                      output: outputFolder.appendingPathComponent(name), threads: threads)
            progress?("[\(index + 1)/\(names.count)] \(name)")
        }
        return names
    }
}
