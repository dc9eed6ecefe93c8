import Foundation
import NNUNetCore
import NNUNetPlanning

/// Averages the class probabilities that several `nnunet predict -z` runs saved and exports the averaged segmentation:
/// the Swift API behind `nnunet ensemble` (v1 `nnUNet_ensemble`, `inference/ensemble_predictions.py`).
///
/// Every input folder holds, per case, `CASE.npz` (member `softmax`: class probabilities `[K, z, y, x]` at the
/// *cropped* size, in the image's own axis order, float16) and `CASE.pkl` (the case's properties). For each case the
/// probabilities of all folders are averaged, the argmax over classes (first maximum wins on ties, like numpy) is
/// pasted into a zero volume of `original_size_of_raw_data` at `crop_bbox`, and written as `CASE.nii.gz` (uint8) with
/// the spacing, origin and direction of the first folder's `CASE.pkl`.
///
/// As in v1 (where `np.mean` of float16 arrays accumulates in float32 and returns float16), the mean of float16 inputs
/// is summed in float32, divided by the folder count and rounded to float16 *before* the argmax; the labels are
/// therefore the argmax of exactly the probabilities that `--npz` stores.
///
/// ```swift
/// let result = try ProbabilityEnsemble.ensemble(folders: [model1, model2], outputFolder: output,
///                                               postprocessingFile: ensembleFolder.appendingPathComponent("postprocessing.json"))
/// print(result.caseIdentifiers.count, "cases in", result.outputFolder.path)
/// ```
///
/// ### See Also
/// - ``PostprocessingApplication``
public enum ProbabilityEnsemble {
    /// The averaged probabilities of one case.
    public struct AveragedProbabilities: Sendable, Equatable {
        /// `[K, z, y, x]` values, C order; already rounded to float16 when ``dataType`` is `.float16`.
        public var values: [Float]
        /// `[K, z, y, x]`: classes, then the cropped spatial shape.
        public var shape: [Int]
        /// `.float16` when every input was float16 (v1's files), otherwise `.float32`.
        public var dataType: NPYDataType

        /// The values as the `.npy` array v1 stores in `CASE.npz` (member `softmax`).
        public var npyArray: NPYArray {
            dataType == .float16 ? NPYArray(float16: values, shape: shape) : NPYArray(float32: values, shape: shape)
        }
    }

    /// Where ``ensemble(folders:outputFolder:postprocessingFile:savesProbabilities:threads:progress:)`` wrote what.
    public struct Result: Sendable, Equatable {
        /// The ensembled cases, sorted.
        public var caseIdentifiers: [String]
        /// The raw ensemble (`CASE.nii.gz`, and `CASE.npz` + `CASE.pkl` with `--npz`): the output folder, or
        /// `OUT/not_postprocessed` when postprocessing was applied.
        public var rawFolder: URL
        /// The final segmentations.
        public var outputFolder: URL
        /// The postprocessing decision that was applied; nil when none was given.
        public var postprocessing: PostprocessingDecision?
    }

    /// The name of the folder inside the output folder that keeps the raw ensemble when postprocessing is applied.
    public static let notPostprocessedFolderName = "not_postprocessed"

    /// The case identifiers to ensemble, after checking that every folder holds `CASE.npz` and `CASE.pkl` of each.
    ///
    /// The cases are all `CASE.npz` names found in any of the folders (v1 takes the union, sorted), so a case that only
    /// some folders hold is reported as missing in the others.
    /// - Throws: ``EvaluationError/unreadableFile(path:reason:)`` for a folder that cannot be listed,
    ///   ``EvaluationError/noSavedProbabilities(folders:)`` when no folder holds an `.npz`, and
    ///   ``EvaluationError/incompleteEnsembleFolder(folder:missingCases:missingFiles:)`` naming the first folder that
    ///   lacks files, its missing cases and files.
    public static func caseIdentifiers(in folders: [URL]) throws -> [String] {
        guard !folders.isEmpty else { throw EvaluationError.invalidArgument("Give at least one folder to ensemble.") }
        var listings: [Set<String>] = []
        for folder in folders {
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            } catch {
                throw EvaluationError.unreadableFile(path: folder.path, reason: "the folder cannot be listed (does it "
                                                     + "exist?)")
            }
            listings.append(Set(names.filter { !$0.hasPrefix(".") }))
        }
        let cases = Set(listings.flatMap { names in
            names.filter { $0.hasSuffix(".npz") }.map { String($0.dropLast(4)) }
        }).sorted()
        guard !cases.isEmpty else { throw EvaluationError.noSavedProbabilities(folders: folders.map(\.path)) }
        for (folder, names) in zip(folders, listings) {
            var missingCases: [String] = [], missingFiles: [String] = []
            for identifier in cases {
                let absent = [identifier + ".npz", identifier + ".pkl"].filter { !names.contains($0) }
                if !absent.isEmpty {
                    missingCases.append(identifier)
                    missingFiles += absent
                }
            }
            if !missingCases.isEmpty {
                throw EvaluationError.incompleteEnsembleFolder(folder: folder.path, missingCases: missingCases,
                                                               missingFiles: missingFiles)
            }
        }
        return cases
    }

    /// Reads `CASE.npz` (member `softmax`) of every folder and averages the probabilities.
    ///
    /// The sum runs in float32 in folder order and is divided by the folder count; when every input is float16 the
    /// mean is rounded to float16 (numpy's `mean` of float16 arrays).
    /// - Throws: ``EvaluationError/unreadableFile(path:reason:)`` for an unreadable `.npz`, and
    ///   ``EvaluationError/inconsistentProbabilities(caseName:detail:)`` when the folders' shapes differ.
    public static func averagedProbabilities(caseIdentifier: String, folders: [URL]) throws -> AveragedProbabilities {
        var sum: [Float] = []
        var shape: [Int] = []
        var allHalf = true
        for folder in folders {
            let url = folder.appendingPathComponent(caseIdentifier + ".npz")
            let array: NPYArray
            do { array = try NPZ.read(url, member: "softmax") } catch {
                throw EvaluationError.unreadableFile(path: url.path, reason: reason(of: error))
            }
            guard array.shape.count == 4 else {
                throw EvaluationError.inconsistentProbabilities(
                    caseName: caseIdentifier, detail: "'\(url.path)' holds softmax of shape \(array.shape), not "
                        + "[classes, z, y, x]")
            }
            if sum.isEmpty {
                shape = array.shape
                sum = array.floats()
            } else {
                guard array.shape == shape else {
                    throw EvaluationError.inconsistentProbabilities(
                        caseName: caseIdentifier, detail: "'\(url.path)' has shape \(array.shape) but "
                            + "'\(folders[0].appendingPathComponent(caseIdentifier + ".npz").path)' has \(shape)")
                }
                let values = array.floats()
                for i in sum.indices { sum[i] += values[i] }
            }
            allHalf = allHalf && array.dataType == .float16
        }
        let count = Float(folders.count)
        if allHalf {
            for i in sum.indices { sum[i] = Float(Float16(sum[i] / count)) }
        } else if folders.count > 1 {
            for i in sum.indices { sum[i] /= count }
        }
        return AveragedProbabilities(values: sum, shape: shape, dataType: allHalf ? .float16 : .float32)
    }

    /// The label map of averaged probabilities in the original image: argmax over classes (first maximum wins), pasted
    /// into a zero volume of `original_size_of_raw_data` at `crop_bbox`, with the properties' ITK geometry.
    ///
    /// - Parameters:
    ///   - probabilities: `[K, z, y, x]` at the cropped size (`size_after_cropping`).
    ///   - properties: the case's cropping properties (first folder's `CASE.pkl`).
    ///   - caseIdentifier: the case, for error messages.
    /// - Returns: labels `0..<K` as Float, shape `original_size_of_raw_data` (z, y, x).
    /// - Throws: ``EvaluationError/inconsistentProbabilities(caseName:detail:)`` when the probabilities do not have
    ///   the cropped size, the crop box does not fit the original size, or the geometry is not 3D. (v1 would resample
    ///   probabilities of another size; `nnunet predict -z` always saves them at the cropped size.)
    public static func labelMap(probabilities: AveragedProbabilities, properties: CroppedCaseProperties,
                                caseIdentifier: String) throws -> Volume {
        func fail(_ detail: String) -> EvaluationError {
            .inconsistentProbabilities(caseName: caseIdentifier, detail: detail)
        }
        guard probabilities.shape.count == 4, (1...256).contains(probabilities.shape[0]) else {
            throw fail("the probabilities have the shape \(probabilities.shape); expected [classes (1 to 256), z, y, x]")
        }
        let size = Array(probabilities.shape.dropFirst())
        let original = properties.originalSizeOfRawData
        let box = properties.cropBBox
        guard size == properties.sizeAfterCropping else {
            throw fail("the probabilities have the spatial shape \(size) but the properties record the cropped size "
                       + "\(properties.sizeAfterCropping)")
        }
        guard original.count == 3, box.count == 3, box.allSatisfy({ $0.count == 2 }),
              (0..<3).allSatisfy({ box[$0][0] >= 0 && box[$0][1] <= original[$0] && box[$0][1] - box[$0][0] == size[$0] })
        else {
            throw fail("the crop box \(box) does not place the cropped size \(size) inside the original size "
                       + "\(original)")
        }
        guard properties.itkSpacing.count == 3, properties.itkOrigin.count == 3, properties.itkDirection.count == 9 else {
            throw fail("the properties do not hold a 3D geometry (itk_spacing, itk_origin, itk_direction)")
        }
        let classCount = probabilities.shape[0], voxels = size.reduce(1, *)
        var full = [Float](repeating: 0, count: original.reduce(1, *))
        probabilities.values.withUnsafeBufferPointer { p in
            var source = 0
            for z in 0..<size[0] {
                for y in 0..<size[1] {
                    let row = ((box[0][0] + z) * original[1] + box[1][0] + y) * original[2] + box[2][0]
                    for x in 0..<size[2] {
                        var best = p[source], label = 0
                        for k in 1..<classCount where p[k * voxels + source] > best {
                            best = p[k * voxels + source]
                            label = k
                        }
                        full[row + x] = Float(label)
                        source += 1
                    }
                }
            }
        }
        let geometry = ImageGeometry(itkSpacing: properties.itkSpacing, itkOrigin: properties.itkOrigin,
                                     itkDirection: properties.itkDirection)
        return Volume(data: full, shape: original, geometry: geometry)
    }

    /// Ensembles one case: averages the folders' probabilities and writes `CASE.nii.gz` (uint8) into `outputFolder`;
    /// with `savesProbabilities` also `CASE.npz` (member `softmax`) and a copy of the first folder's `CASE.pkl`.
    /// - Throws: the errors of ``averagedProbabilities(caseIdentifier:folders:)`` and
    ///   ``labelMap(probabilities:properties:caseIdentifier:)``, and ``EvaluationError/unwritableFile(path:reason:)``.
    public static func ensembleCase(_ caseIdentifier: String, folders: [URL], outputFolder: URL,
                                    savesProbabilities: Bool = false) throws {
        guard let first = folders.first else {
            throw EvaluationError.invalidArgument("Give at least one folder to ensemble.")
        }
        let pickle = first.appendingPathComponent(caseIdentifier + ".pkl")
        let properties: PreprocessedCaseProperties
        do {
            properties = try PreprocessedCaseProperties(v1Pickle: PickleReader.read(contentsOf: pickle),
                                                        source: pickle.path)
        } catch {
            throw EvaluationError.unreadableFile(path: pickle.path, reason: reason(of: error))
        }
        let averaged = try averagedProbabilities(caseIdentifier: caseIdentifier, folders: folders)
        let labels = try labelMap(probabilities: averaged, properties: properties.cropping,
                                  caseIdentifier: caseIdentifier)
        let target = outputFolder.appendingPathComponent(caseIdentifier + ".nii.gz")
        try writing(target) { try NIfTI.write(labels, to: target, dataType: .uint8) }
        if savesProbabilities {
            let npz = outputFolder.appendingPathComponent(caseIdentifier + ".npz")
            try writing(npz) { try NPZ.write([("softmax", averaged.npyArray)], to: npz) }
            let copy = outputFolder.appendingPathComponent(caseIdentifier + ".pkl")
            try writing(copy) { try AtomicFile.copy(pickle, to: copy) }
        }
    }

    /// Ensembles every case of `folders` into `outputFolder` (v1 `nnUNet_ensemble`).
    ///
    /// All inputs are checked first (``caseIdentifiers(in:)``, the postprocessing file), so a missing case writes
    /// nothing. Cases run in parallel, `threads` at a time; each holds one case's probabilities (plus the one folder's
    /// array being added), so memory stays bounded to `threads` cases.
    ///
    /// - Parameters:
    ///   - folders: the `nnunet predict -z` output folders; the first one's `CASE.pkl` gives the geometry.
    ///   - outputFolder: created if needed.
    ///   - postprocessingFile: a `postprocessing.json`; when given the raw ensemble goes to
    ///     `OUT/not_postprocessed/`, the postprocessed segmentations to `OUT/`, and the file is copied to `OUT/`.
    ///   - savesProbabilities: also write the averaged `CASE.npz` and `CASE.pkl` next to the raw segmentations.
    ///   - threads: cases processed at the same time (v1's `-t`, default 2).
    ///   - progress: called after each case, one call at a time, with (cases done, total, case identifier).
    /// - Returns: the cases and folders written.
    /// - Throws: ``EvaluationError``: the input checks' errors before anything is written, then the first failing
    ///   case's error (in case order) after all cases were attempted.
    @discardableResult
    public static func ensemble(folders: [URL], outputFolder: URL, postprocessingFile: URL? = nil,
                                savesProbabilities: Bool = false, threads: Int = 2,
                                progress: ((_ done: Int, _ total: Int, _ caseIdentifier: String) -> Void)? = nil)
        throws -> Result {
        let cases = try caseIdentifiers(in: folders)
        let decision = try postprocessingFile.map { try PostprocessingDecision.read($0) }
        let rawFolder = decision == nil ? outputFolder
            : outputFolder.appendingPathComponent(notPostprocessedFolderName, isDirectory: true)
        try PostprocessingDetermination.createFolder(rawFolder)
        let errors = LockedValue<[(any Error)?]>(errorSlots: cases.count)
        let done = LockedValue(0)
        parallelFor(cases.count, threads: max(1, threads)) { range in
            for i in range {
                do {
                    try ensembleCase(cases[i], folders: folders, outputFolder: rawFolder,
                                     savesProbabilities: savesProbabilities)
                } catch {
                    errors.set(i, error)
                }
                // Under the lock, so that the callback sees the counts in order and is never called concurrently.
                done.withLock { count in
                    count += 1
                    progress?(count, cases.count, cases[i])
                }
            }
        }
        if let error = errors.first { throw error }
        if let decision, let postprocessingFile {
            try PostprocessingApplication.apply(classSets: decision.forWhichClasses,
                                                minimumSizes: decision.minValidObjectSizes, inputFolder: rawFolder,
                                                outputFolder: outputFolder, fileNames: cases.map { $0 + ".nii.gz" },
                                                threads: max(1, threads))
            let copy = outputFolder.appendingPathComponent("postprocessing.json")
            if postprocessingFile.standardizedFileURL.path != copy.standardizedFileURL.path {
                try writing(copy) { try AtomicFile.copy(postprocessingFile, to: copy) }
            }
        }
        return Result(caseIdentifiers: cases, rawFolder: rawFolder, outputFolder: outputFolder,
                      postprocessing: decision)
    }

    /// Runs a write, turning the Core error into ``EvaluationError/unwritableFile(path:reason:)``.
    private static func writing(_ url: URL, _ body: () throws -> Void) throws {
        do { try body() } catch let error as EvaluationError { throw error } catch {
            throw EvaluationError.unwritableFile(path: url.path, reason: reason(of: error))
        }
    }

    /// The reason part of a Core error (its path is named by the wrapping error).
    private static func reason(of error: Error) -> String {
        switch error {
        case let CoreError.unreadableImage(_, reason), let CoreError.unwritableImage(_, reason),
             let CoreError.invalidPickle(_, reason), let CoreError.fileSystem(_, reason):
            return reason
        default:
            return "\(error)"
        }
    }
}
