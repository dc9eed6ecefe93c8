import Foundation

/// A raw task folder (`nnUNet_raw_data/TaskXXX_NAME/`) and its cases, as dataset.json lists them.
///
/// Layout: `imagesTr/CASE_XXXX.nii.gz` (one file per modality, XXXX the 4-digit modality index),
/// `labelsTr/CASE.nii.gz`, optional `imagesTs/CASE_XXXX.nii.gz`, and `dataset.json`.
public struct RawTask: Sendable {
    /// One case: its identifier and files.
    public struct Case: Sendable, Equatable {
        /// The case identifier, e.g. `hippocampus_001` (file names minus the modality suffix and `.nii.gz`).
        public var identifier: String
        /// One file per modality, in modality order.
        public var imageFiles: [URL]
        /// The label map; nil for test cases.
        public var labelFile: URL?
    }

    /// The task folder (`TaskXXX_NAME`).
    public let folder: URL
    /// The task's decoded `dataset.json`.
    public let description: DatasetDescription

    /// Opens a task folder and decodes its `dataset.json`.
    public init(folder: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw CoreError.missingPath(path: folder.path, hint: "Expected a task folder (TaskXXX_NAME) with "
                                        + "dataset.json, imagesTr/ and labelsTr/.")
        }
        self.folder = folder
        self.description = try DatasetDescription.load(from: folder.appendingPathComponent("dataset.json"))
    }

    /// The file name of modality `index` of a case: `CASE_0000.nii.gz`.
    public static func imageFileName(identifier: String, modality index: Int) -> String {
        identifier + "_" + String(format: "%04d", index) + ".nii.gz"
    }

    /// Training cases in dataset.json order.
    public var trainingCases: [Case] {
        description.trainingIdentifiers.map { id in
            Case(identifier: id,
                 imageFiles: (0..<description.modalityCount).map {
                     folder.appendingPathComponent("imagesTr").appendingPathComponent(Self.imageFileName(
                         identifier: id, modality: $0))
                 },
                 labelFile: folder.appendingPathComponent("labelsTr").appendingPathComponent(id + ".nii.gz"))
        }
    }

    /// Test cases in dataset.json order (no labels).
    public var testCases: [Case] {
        description.testIdentifiers.map { id in
            Case(identifier: id,
                 imageFiles: (0..<description.modalityCount).map {
                     folder.appendingPathComponent("imagesTs").appendingPathComponent(Self.imageFileName(
                         identifier: id, modality: $0))
                 },
                 labelFile: nil)
        }
    }

    /// Groups the `CASE_XXXX.nii.gz` files of an inference folder by case: the case id is the file name minus its
    /// last 12 characters (`_0000.nii.gz`), as in v1's `nnUNet_predict`.
    public static func casesInInferenceFolder(_ folder: URL, modalities: Int) throws -> [Case] {
        let names = try niftiFiles(in: folder)
        let ids = Set(names.compactMap { $0.count > 12 && $0.hasSuffix(".nii.gz") ? String($0.dropLast(12)) : nil })
        return ids.sorted().map { id in
            Case(identifier: id, imageFiles: (0..<modalities).map {
                folder.appendingPathComponent(imageFileName(identifier: id, modality: $0))
            }, labelFile: nil)
        }
    }

    /// Names of the visible `.nii.gz` files of a folder, sorted (hidden files such as `._x` are skipped).
    public static func niftiFiles(in folder: URL) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: folder.path)
                .filter { $0.hasSuffix(".nii.gz") && !$0.hasPrefix(".") }.sorted()
        } catch {
            throw CoreError.missingPath(path: folder.path, hint: "The folder cannot be listed.")
        }
    }
}
