import Foundation
import NNUNetCore

/// Progress callback: (cases done, total, identifier of the case just finished). Called from worker threads.
public typealias CaseProgress = @Sendable (_ done: Int, _ total: Int, _ identifier: String) -> Void

/// Crops training cases to their nonzero region and stores them in `nnUNet_cropped_data/TaskXXX_NAME/`.
///
/// Output per case: `CASE.npy` (float32, (C + 1) × Z × Y × X: the modalities, then the label map with −1 outside the
/// filled nonzero region) and `CASE.json` (``CroppedCaseProperties``). Also `gt_segmentations/` (a copy of every
/// label file) and `dataset.json`. Cases whose `.npy` and `.json` both exist are not redone; both files are written
/// atomically (the `.json` last), so an interrupted run never leaves a case that looks finished.
///
/// Port of v1 `preprocessing/cropping.py` `ImageCropper` and `experiment_planning/utils.py` `crop`. Deliberate
/// differences: a case with NaN voxels, modalities of different shapes, an all-zero image or a label map without
/// foreground is rejected with an error naming the case (v1 crashes later or silently continues), and so is a label
/// map with values that dataset.json does not declare (v1 checks that only with `--verify_dataset_integrity`).
public enum Cropper {
    /// One training case as dataset.json lists it.
    public struct CaseFiles: Sendable, Equatable {
        /// The case identifier (the image entry's file name minus `.nii.gz`).
        public var identifier: String
        /// One image file per modality, `imagesTr/CASE_XXXX.nii.gz`, in modality order.
        public var imageFiles: [URL]
        /// The label map `labelsTr/CASE.nii.gz`; nil when there is none.
        public var labelFile: URL?
    }

    /// The training cases of a raw task folder in dataset.json order (v1 `create_lists_from_splitted_dataset`).
    public static func trainingCases(of taskFolder: URL, description: DatasetDescription) -> [CaseFiles] {
        description.training.map { entry in
            let base = (entry.image as NSString).lastPathComponent
            let id = base.hasSuffix(".nii.gz") ? String(base.dropLast(7)) : base
            let images = (0..<description.modalityCount).map {
                taskFolder.appendingPathComponent("imagesTr")
                    .appendingPathComponent(RawTask.imageFileName(identifier: id, modality: $0))
            }
            let label = taskFolder.appendingPathComponent("labelsTr")
                .appendingPathComponent((entry.label as NSString).lastPathComponent)
            return CaseFiles(identifier: id, imageFiles: images, labelFile: label)
        }
    }

    /// Reads and crops one case.
    ///
    /// - Returns: `array`, float32 values of shape `(C + 1, z, y, x)` (modalities then label map), and the properties.
    /// - Throws: ``PlanningError`` naming the case for unreadable or inconsistent inputs.
    public static func cropCase(_ files: CaseFiles) throws -> (array: [Float], shape: [Int],
                                                                properties: CroppedCaseProperties) {
        try cropCase(files, declaredLabels: nil)
    }

    /// Reads and crops one case, checking its label map against the label values dataset.json declares.
    ///
    /// - Parameters:
    ///   - files: the case's image files and label map.
    ///   - declaredLabels: the label values of dataset.json's `labels` (background 0 included); nil skips the check.
    /// - Returns: as ``cropCase(_:)``.
    /// - Throws: ``PlanningError/undeclaredLabels(caseIdentifier:path:values:declared:)`` naming the file and the
    ///   values when the label map holds others; ``PlanningError`` naming the case for unreadable or inconsistent
    ///   inputs.
    public static func cropCase(_ files: CaseFiles, declaredLabels: [Int]?) throws
        -> (array: [Float], shape: [Int], properties: CroppedCaseProperties) {
        let id = files.identifier
        let (channels, reference) = try readModalities(files)
        let shape = reference.shape
        var seg: [Float]
        if let labelURL = files.labelFile {
            guard FileManager.default.fileExists(atPath: labelURL.path) else {
                throw PlanningError.missingFile(caseIdentifier: id, path: labelURL.path)
            }
            let label = try NIfTI.read(labelURL)
            if label.shape != shape {
                throw PlanningError.shapeMismatch(caseIdentifier: id, path: labelURL.path, expected: shape,
                                                  found: label.shape)
            }
            if let declaredLabels {
                let allowed = Set(declaredLabels.map(Float.init))
                var undeclared = Set<Float>(), sawNaN = false
                for value in label.data where !allowed.contains(value) {
                    if value.isNaN { sawNaN = true } else { undeclared.insert(value) }
                }
                if !undeclared.isEmpty || sawNaN {
                    throw PlanningError.undeclaredLabels(
                        caseIdentifier: id, path: labelURL.path,
                        values: undeclared.sorted().map(Double.init) + (sawNaN ? [.nan] : []),
                        declared: declaredLabels.sorted())
                }
            }
            guard label.data.contains(where: { $0 > 0 }) else {
                throw PlanningError.emptyLabelMap(caseIdentifier: id, path: labelURL.path)
            }
            seg = label.data
        } else {
            seg = [Float](repeating: 0, count: shape.reduce(1, *))
        }
        let mask = NonzeroMask.make(channels: channels, shape: shape)
        guard let box = NonzeroMask.boundingBox(mask, shape: shape) else { throw PlanningError.emptyImage(caseIdentifier: id) }
        let cropped = box.map { $0[1] - $0[0] }
        var array: [Float] = []
        array.reserveCapacity((channels.count + 1) * cropped.reduce(1, *))
        for channel in channels { array += NonzeroMask.crop(channel, shape: shape, to: box) }
        seg = NonzeroMask.crop(seg, shape: shape, to: box)
        let croppedMask = NonzeroMask.crop(mask, shape: shape, to: box)
        for i in seg.indices where seg[i] == 0 && !croppedMask[i] { seg[i] = -1 }
        let classes = Resampling.uniqueValues(seg).map(Double.init)
        for i in seg.indices where seg[i] < -1 { seg[i] = 0 }
        array += seg
        let geometry = reference.geometry
        let properties = CroppedCaseProperties(
            originalSizeOfRawData: shape, originalSpacing: geometry.spacing,
            listOfDataFiles: files.imageFiles.map(\.path), segFile: files.labelFile?.path,
            itkOrigin: geometry.itkOrigin, itkSpacing: geometry.itkSpacing, itkDirection: geometry.itkDirection,
            cropBBox: box, classes: classes, sizeAfterCropping: cropped, useNonzeroMaskForNorm: nil)
        return (array, [channels.count + 1] + cropped, properties)
    }

    /// Crops every training case of a raw task into `outputFolder` (created if needed).
    ///
    /// - Parameters:
    ///   - taskFolder: `nnUNet_raw_data/TaskXXX_NAME` (read only).
    ///   - outputFolder: `nnUNet_cropped_data/TaskXXX_NAME`.
    ///   - threads: cases processed in parallel.
    ///   - overwrite: redo cases that are already cropped.
    ///   - progress: called as each case is done, possibly from worker threads.
    /// - Returns: the case identifiers, sorted (v1's order for everything that follows).
    /// - Throws: ``PlanningError/missingFile(caseIdentifier:path:)`` before anything is written if dataset.json names
    ///   a missing file; otherwise the first (in case order) per-case error, after the other cases finished.
    @discardableResult
    public static func cropTask(taskFolder: URL, outputFolder: URL, threads: Int = ThreadSettings.defaultThreads,
                                overwrite: Bool = false, progress: CaseProgress? = nil) throws -> [String] {
        let description = try DatasetDescription.load(from: taskFolder.appendingPathComponent("dataset.json"))
        let cases = trainingCases(of: taskFolder, description: description)
        guard !cases.isEmpty else {
            throw PlanningError.invalidInput("dataset.json of \(taskFolder.path) lists no training cases.")
        }
        for c in cases {
            for url in c.imageFiles + [c.labelFile].compactMap({ $0 })
            where !FileManager.default.fileExists(atPath: url.path) {
                throw PlanningError.missingFile(caseIdentifier: c.identifier, path: url.path)
            }
        }
        let gtFolder = outputFolder.appendingPathComponent("gt_segmentations", isDirectory: true)
        try createFolder(gtFolder)
        for c in cases {
            if let label = c.labelFile { try AtomicFile.copy(label, to: gtFolder.appendingPathComponent(label.lastPathComponent)) }
        }
        let errors = LockedValue<[(any Error)?]>(errorSlots: cases.count)
        let counter = LockedValue(0)
        parallelFor(cases.count, threads: max(1, threads)) { range in
            for index in range {
                let c = cases[index]
                let npy = outputFolder.appendingPathComponent(c.identifier + ".npy")
                let json = outputFolder.appendingPathComponent(c.identifier + ".json")
                do {
                    let done = FileManager.default.fileExists(atPath: npy.path)
                        && FileManager.default.fileExists(atPath: json.path)
                    if overwrite || !done {
                        try? FileManager.default.removeItem(at: json)
                        let result = try cropCase(c, declaredLabels: description.labelValues)
                        try NPY.write(float32: result.array, shape: result.shape, to: npy)
                        try JSONFile.write(result.properties, to: json)
                    }
                } catch {
                    errors.set(index, error)
                }
                progress?(counter.increment(), cases.count, c.identifier)
            }
        }
        if let error = errors.first { throw error }
        try AtomicFile.copy(taskFolder.appendingPathComponent("dataset.json"),
                            to: outputFolder.appendingPathComponent("dataset.json"))
        return cases.map(\.identifier).sorted()
    }

    static func createFolder(_ url: URL) throws {
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw CoreError.fileSystem(path: url.path, reason: "cannot create folder (\(error.localizedDescription))")
        }
    }
}
