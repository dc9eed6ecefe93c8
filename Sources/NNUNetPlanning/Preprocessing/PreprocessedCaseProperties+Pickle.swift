import Foundation
import NNUNetCore

extension PreprocessedCaseProperties {
    /// The properties as v1 pickles them next to a saved softmax (`CASE.pkl` of `nnUNet_predict --save_npz`): an
    /// ordered dict with v1's keys. Arrays are written as plain lists and tuples (v1's code reads both);
    /// `class_locations` is left out as in v1's test-case properties.
    public var v1PickleValue: PickleValue {
        let c = cropping
        func ints(_ v: [Int]) -> PickleValue { .list(v.map { .int($0) }) }
        func doubles(_ v: [Double]) -> PickleValue { .list(v.map { .float($0) }) }
        let entries: [(String, PickleValue)] = [
            ("original_size_of_raw_data", ints(c.originalSizeOfRawData)),
            ("original_spacing", doubles(c.originalSpacing)),
            ("list_of_data_files", .list(c.listOfDataFiles.map { .string($0) })),
            ("seg_file", c.segFile.map { .string($0) } ?? .none),
            ("itk_origin", .tuple(c.itkOrigin.map { .float($0) })),
            ("itk_spacing", .tuple(c.itkSpacing.map { .float($0) })),
            ("itk_direction", .tuple(c.itkDirection.map { .float($0) })),
            ("crop_bbox", .list(c.cropBBox.map(ints))),
            ("classes", .list(c.classes.map { .int(Int($0)) })),
            ("size_after_cropping", .tuple(c.sizeAfterCropping.map { .int($0) })),
            ("size_after_resampling", .tuple(sizeAfterResampling.map { .int($0) })),
            ("spacing_after_resampling", doubles(spacingAfterResampling)),
        ]
        return .dict(entries.map { .init(key: .string($0.0), value: $0.1) })
    }

    /// Properties read from a v1 (or this package's) `CASE.pkl`. NumPy arrays and lists are both accepted;
    /// `class_locations` is not needed for export and starts empty.
    /// - Throws: `CoreError.invalidPickle(source:reason:)` naming `source` and the missing field.
    public init(v1Pickle value: PickleValue, source: String) throws {
        func fail(_ field: String) -> CoreError {
            .invalidPickle(source: source, reason: "the properties lack a valid '\(field)'")
        }
        func ints(_ key: String) throws -> [Int] {
            guard let items = value[key]?.elements else { throw fail(key) }
            return try items.map { guard let v = $0.intValue else { throw fail(key) }; return v }
        }
        func doubles(_ key: String) throws -> [Double] {
            guard let items = value[key]?.elements else { throw fail(key) }
            return try items.map { guard let v = $0.doubleValue else { throw fail(key) }; return v }
        }
        guard let boxItems = value["crop_bbox"]?.elements else { throw fail("crop_bbox") }
        let box: [[Int]] = try boxItems.map { pair in
            guard let values = pair.elements?.compactMap(\.intValue), values.count == 2 else { throw fail("crop_bbox") }
            return values
        }
        let files = value["list_of_data_files"]?.elements?.compactMap(\.stringValue) ?? []
        let cropping = CroppedCaseProperties(
            originalSizeOfRawData: try ints("original_size_of_raw_data"), originalSpacing: try doubles("original_spacing"),
            listOfDataFiles: files, segFile: value["seg_file"]?.stringValue, itkOrigin: try doubles("itk_origin"),
            itkSpacing: try doubles("itk_spacing"), itkDirection: try doubles("itk_direction"), cropBBox: box,
            classes: value["classes"] == nil ? [] : try doubles("classes"),
            sizeAfterCropping: try ints("size_after_cropping"), useNonzeroMaskForNorm: nil)
        // Optional fields may be absent; one that is present must be valid.
        self.init(cropping: cropping,
                  sizeAfterResampling: value["size_after_resampling"] == nil ? [] : try ints("size_after_resampling"),
                  spacingAfterResampling: value["spacing_after_resampling"] == nil
                      ? [] : try doubles("spacing_after_resampling"),
                  classLocations: [:])
    }
}
