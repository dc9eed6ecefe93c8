import Foundation
import NNUNetCore

/// What v1 keeps in a cropped case's `CASE.pkl`, stored as `CASE.json` next to `CASE.npy`.
///
/// Sizes and spacings are in array order (z, y, x); `itk_*` are in ITK order (x, y, z). `classes` are the values of
/// the cropped label map after −1 marking (so −1 may occur). `use_nonzero_mask_for_norm` is added by the planner.
/// Port of the properties dict of v1 `preprocessing/cropping.py` `ImageCropper`.
public struct CroppedCaseProperties: Codable, Sendable, Equatable {
    /// `original_size_of_raw_data`: shape of the raw image before cropping, (z, y, x) voxels.
    public var originalSizeOfRawData: [Int]
    /// `original_spacing`: spacing of the raw image, (z, y, x) mm.
    public var originalSpacing: [Double]
    /// `list_of_data_files`: paths of the raw image files, one per modality in modality order.
    public var listOfDataFiles: [String]
    /// `seg_file`: path of the raw label map; nil when the case has none.
    public var segFile: String?
    /// `itk_origin`: physical position of voxel (0, 0, 0), LPS mm, (x, y, z).
    public var itkOrigin: [Double]
    /// `itk_spacing`: spacing in ITK order (x, y, z), mm.
    public var itkSpacing: [Double]
    /// `itk_direction`: row-major 3x3 direction cosines (LPS).
    public var itkDirection: [Double]
    /// [[z0, z1], [y0, y1], [x0, x1]], half-open.
    public var cropBBox: [[Int]]
    /// `classes`: the distinct values of the cropped label map, ascending (−1 marks voxels outside the nonzero region).
    public var classes: [Double]
    /// `size_after_cropping`: shape after cropping to the nonzero bounding box, (z, y, x) voxels.
    public var sizeAfterCropping: [Int]
    /// Modality index → whether normalisation uses the nonzero mask (written by the planner).
    public var useNonzeroMaskForNorm: [Int: Bool]?

    enum CodingKeys: String, CodingKey {
        case originalSizeOfRawData = "original_size_of_raw_data", originalSpacing = "original_spacing"
        case listOfDataFiles = "list_of_data_files", segFile = "seg_file", itkOrigin = "itk_origin"
        case itkSpacing = "itk_spacing", itkDirection = "itk_direction", cropBBox = "crop_bbox", classes
        case sizeAfterCropping = "size_after_cropping", useNonzeroMaskForNorm = "use_nonzero_mask_for_norm"
    }

    /// Loads `CASE.json`.
    public static func load(from url: URL) throws -> CroppedCaseProperties {
        try JSONFile.decode(CroppedCaseProperties.self, from: url)
    }
}

/// JSON helpers shared by the planning files (sorted keys, indented, written atomically).
enum JSONFile {
    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    static func write<T: Encodable>(_ value: T, to url: URL) throws {
        try NPY.writeAtomically(try encode(value), to: url)
    }

    static func decode<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        guard let data = try? Data(contentsOf: url) else {
            throw PlanningError.missingIntermediate(path: url.path, hint: "Run 'nnunet plan-and-preprocess' again.")
        }
        do { return try JSONDecoder().decode(type, from: data) } catch let error as DecodingError {
            throw CoreError.invalidJSON(path: url.path, reason: "not a valid \(type) file: " + error.fieldDescription)
        } catch {
            throw CoreError.invalidJSON(path: url.path, reason: "not a valid \(type) file (\(error))")
        }
    }
}
