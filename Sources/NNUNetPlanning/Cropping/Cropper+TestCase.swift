import Foundation
import NNUNetCore

extension Cropper.CaseFiles {
    /// A case without a label map (test or inference input): cropping synthesises the segmentation (−1 outside the
    /// nonzero mask, 0 inside).
    public init(testCase identifier: String, imageFiles: [URL]) {
        self.init(identifier: identifier, imageFiles: imageFiles, labelFile: nil)
    }
}

/// The modalities of a case to predict, cropped to their nonzero region, without a segmentation channel.
///
/// What ``Cropper/cropCase(_:)`` returns for a case without a label map, minus the synthesised label channel (−1
/// outside the nonzero mask, 0 inside), which only the nonzero-mask normalisation needs: ``nonzeroMask`` keeps the
/// cropped mask for that when asked (see ``Preprocessor/preprocessImages(_:targetSpacing:threads:)``).
public struct CroppedImages: Sendable {
    /// One cropped volume per modality, `shape` (z, y, x) each, C order.
    public var channels: [[Float]]
    /// The cropped spatial shape (z, y, x).
    public var shape: [Int]
    /// The cropped nonzero mask (holes filled); nil unless requested.
    public var nonzeroMask: [Bool]?
    /// The properties ``Cropper/cropCase(_:)`` records (`classes` as for its synthesised label channel).
    public var properties: CroppedCaseProperties
}

extension Cropper {
    /// Reads and crops the modalities of a case to predict, with the same values and properties as
    /// ``cropCase(_:)`` for a case without a label map, but without building the label channel: memory is the
    /// images (cropped in place of the originals, one at a time) and the mask.
    ///
    /// - Parameters:
    ///   - files: the case's modality files (`labelFile` is ignored).
    ///   - keepingMask: keep the cropped nonzero mask (for nonzero-mask normalisation).
    /// - Throws: ``PlanningError`` naming the case for unreadable or inconsistent inputs.
    public static func cropImages(_ files: CaseFiles, keepingMask: Bool) throws -> CroppedImages {
        var (cropped, reference) = try readModalities(files)
        let shape = reference.shape
        let mask = NonzeroMask.make(channels: cropped, shape: shape)
        guard let box = NonzeroMask.boundingBox(mask, shape: shape) else {
            throw PlanningError.emptyImage(caseIdentifier: files.identifier)
        }
        let size = box.map { $0[1] - $0[0] }
        let isWhole = size == shape
        if !isWhole {
            for c in cropped.indices { cropped[c] = NonzeroMask.crop(cropped[c], shape: shape, to: box) }
        }
        let croppedMask = isWhole ? mask : NonzeroMask.crop(mask, shape: shape, to: box)
        // The label channel cropCase would build is −1 outside the mask and 0 inside: these are its values.
        var classes: [Double] = []
        if croppedMask.contains(false) { classes.append(-1) }
        if croppedMask.contains(true) { classes.append(0) }
        let geometry = reference.geometry
        let properties = CroppedCaseProperties(
            originalSizeOfRawData: shape, originalSpacing: geometry.spacing,
            listOfDataFiles: files.imageFiles.map(\.path), segFile: nil,
            itkOrigin: geometry.itkOrigin, itkSpacing: geometry.itkSpacing, itkDirection: geometry.itkDirection,
            cropBBox: box, classes: classes, sizeAfterCropping: size, useNonzeroMaskForNorm: nil)
        return CroppedImages(channels: cropped, shape: size, nonzeroMask: keepingMask ? croppedMask : nil,
                             properties: properties)
    }

    /// Reads every modality of a case, checking that each exists, has the first one's shape and holds no NaN or
    /// infinity. Returns the voxels per modality and the first volume's header (shape and geometry; no voxels).
    static func readModalities(_ files: CaseFiles) throws -> (channels: [[Float]], reference: Volume) {
        let id = files.identifier
        var channels: [[Float]] = []
        var first: Volume?
        for url in files.imageFiles {
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw PlanningError.missingFile(caseIdentifier: id, path: url.path)
            }
            var volume = try NIfTI.read(url)
            if let reference = first, volume.shape != reference.shape {
                throw PlanningError.shapeMismatch(caseIdentifier: id, path: url.path, expected: reference.shape,
                                                  found: volume.shape)
            }
            // NIfTI.read keeps NaN/inf as SimpleITK does; v1 would silently zero them in preprocessing: refuse them.
            let bad = volume.data.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            if bad > 0 { throw PlanningError.nonFiniteImage(caseIdentifier: id, path: url.path, count: bad) }
            channels.append(volume.data)
            volume.data = []
            if first == nil { first = volume }
        }
        guard let reference = first else { throw PlanningError.invalidInput("Case '\(id)' has no image files.") }
        return (channels, reference)
    }
}
