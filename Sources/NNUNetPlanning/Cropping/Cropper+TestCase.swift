import Foundation

extension Cropper.CaseFiles {
    /// A case without a label map (test or inference input): cropping synthesises the segmentation (−1 outside the
    /// nonzero mask, 0 inside).
    public init(testCase identifier: String, imageFiles: [URL]) {
        self.init(identifier: identifier, imageFiles: imageFiles, labelFile: nil)
    }
}
