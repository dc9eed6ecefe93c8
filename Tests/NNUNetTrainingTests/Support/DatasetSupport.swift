import Foundation
@testable import NNUNetTraining

extension TestSupport {
    /// The segmentation of a test case: label 1 in a block, 2 in a smaller block inside, −1 on the x = 0 face.
    static func segmentation(shape: [Int], foreground: Bool = true) -> [Float] {
        var seg = [Float](repeating: 0, count: shape.reduce(1, *))
        for z in 0..<shape[0] {
            for y in 0..<shape[1] {
                for x in 0..<shape[2] {
                    let i = (z * shape[1] + y) * shape[2] + x
                    if x == 0 { seg[i] = -1; continue }
                    guard foreground else { continue }
                    if z >= shape[0] / 2 && y >= shape[1] / 2 && x >= shape[2] / 2 { seg[i] = 1 }
                    if z == shape[0] - 1 && y == shape[1] - 1 && x == shape[2] - 1 { seg[i] = 2 }
                }
            }
        }
        return seg
    }

    /// Writes a one-modality case whose data value is its flat voxel index + 1, with every foreground voxel listed
    /// in `class_locations`.
    static func writeCase(_ identifier: String, shape: [Int], into folder: URL, foreground: Bool = true) throws {
        let n = shape.reduce(1, *)
        let seg = segmentation(shape: shape, foreground: foreground)
        var locations: [Int: [[Int]]] = [:]
        for i in 0..<n where seg[i] > 0 {
            locations[Int(seg[i]), default: []].append([i / (shape[1] * shape[2]), (i / shape[2]) % shape[1], i % shape[2]])
        }
        try PreprocessedDataset.writeCase(identifier: identifier, voxels: (0..<n).map { Float($0 + 1) } + seg,
                                          shape: [2] + shape, classLocations: locations, to: folder)
    }

    /// The lower corner of a 3D patch whose values are flat case indices + 1 (0 = padding), or nil if all padding.
    static func corner(of patch: [Float], patch size: [Int], caseShape: [Int]) -> [Int]? {
        guard let p = patch.firstIndex(where: { $0 > 0 }) else { return nil }
        let v = Int(patch[p]) - 1
        let source = [v / (caseShape[1] * caseShape[2]), (v / caseShape[2]) % caseShape[1], v % caseShape[2]]
        let position = [p / (size[1] * size[2]), (p / size[2]) % size[1], p % size[2]]
        return (0..<3).map { source[$0] - position[$0] }
    }
}
