import Foundation
import Testing
@testable import NNUNetCore

/// The distance-transform morphology against the definitions: a brute-force scan of every ball offset.
@Suite("Binary morphology")
struct BinaryMorphologyTests {
    static func randomMask(shape: [Int], density: Double, seed: UInt64) -> [UInt8] {
        var random = SeededGenerator(seed: seed)
        // Blobs: a few random boxes, so the masks have structure at several scales.
        var mask = [UInt8](repeating: 0, count: shape.reduce(1, *))
        for _ in 0..<Int(density * 20) {
            let lo = shape.map { Int.random(in: 0..<$0, using: &random) }
            let size = shape.map { _ in Int.random(in: 1...4, using: &random) }
            for z in lo[0]..<min(shape[0], lo[0] + size[0]) {
                for y in lo[1]..<min(shape[1], lo[1] + size[1]) {
                    for x in lo[2]..<min(shape[2], lo[2] + size[2]) { mask[(z * shape[1] + y) * shape[2] + x] = 1 }
                }
            }
        }
        return mask
    }

    /// Dilation: some mask voxel within the ball. Erosion: every in-volume voxel of the ball is in the mask.
    static func bruteForce(_ mask: [UInt8], shape: [Int], radius: Double, dilate: Bool) -> [UInt8] {
        let r = Int(radius.rounded(.down))
        var offsets: [[Int]] = []
        for dz in -r...r { for dy in -r...r { for dx in -r...r
            where Double(dz * dz + dy * dy + dx * dx) <= radius * radius { offsets.append([dz, dy, dx]) } } }
        var out = [UInt8](repeating: 0, count: mask.count)
        for z in 0..<shape[0] { for y in 0..<shape[1] { for x in 0..<shape[2] {
            var any = false, all = true
            for o in offsets {
                let (a, b, c) = (z + o[0], y + o[1], x + o[2])
                guard a >= 0, a < shape[0], b >= 0, b < shape[1], c >= 0, c < shape[2] else { continue }
                if mask[(a * shape[1] + b) * shape[2] + c] != 0 { any = true } else { all = false }
            }
            out[(z * shape[1] + y) * shape[2] + x] = (dilate ? any : all) ? 1 : 0
        } } }
        return out
    }

    @Test("dilation and erosion equal the brute-force definition", arguments: [1.0, 1.5, 2.3, 3.0])
    func dilationErosion(radius: Double) {
        let shape = [9, 11, 10]
        for seed in UInt64(1)...3 {
            let mask = Self.randomMask(shape: shape, density: 0.6, seed: seed)
            #expect(BinaryMorphology.dilate(mask, shape: shape, radius: radius, threads: 2)
                    == Self.bruteForce(mask, shape: shape, radius: radius, dilate: true))
            #expect(BinaryMorphology.erode(mask, shape: shape, radius: radius, threads: 2)
                    == Self.bruteForce(mask, shape: shape, radius: radius, dilate: false))
        }
    }

    @Test("opening and closing compose them; closing ⊇ mask ⊇ opening")
    func openingClosing() {
        let shape = [8, 9, 12]
        let mask = Self.randomMask(shape: shape, density: 0.8, seed: 7)
        let closing = BinaryMorphology.apply(.closing, to: mask, shape: shape, radius: 1.7)
        let opening = BinaryMorphology.apply(.opening, to: mask, shape: shape, radius: 1.7)
        let dilated = Self.bruteForce(mask, shape: shape, radius: 1.7, dilate: true)
        #expect(closing == Self.bruteForce(dilated, shape: shape, radius: 1.7, dilate: false))
        let eroded = Self.bruteForce(mask, shape: shape, radius: 1.7, dilate: false)
        #expect(opening == Self.bruteForce(eroded, shape: shape, radius: 1.7, dilate: true))
        #expect(zip(closing, mask).allSatisfy { $0 >= $1 } && zip(mask, opening).allSatisfy { $0 >= $1 })
    }

    @Test("squared distances equal the brute-force minimum; no site gives infinity; 2D masks work")
    func distances() {
        let shape = [5, 7, 6]
        let mask = Self.randomMask(shape: shape, density: 0.2, seed: 3)
        let d = BinaryMorphology.squaredDistanceTransform(sitesWhere: { $0 != 0 }, mask, shape: shape)
        let sites = mask.indices.filter { mask[$0] != 0 }.map { [$0 / 42, ($0 / 6) % 7, $0 % 6] }
        for i in mask.indices {
            let p = [i / 42, (i / 6) % 7, i % 6]
            let best = sites.map { s in (0..<3).map { (s[$0] - p[$0]) * (s[$0] - p[$0]) }.reduce(0, +) }.min()
            #expect(d[i] == Float(best ?? 0))
        }
        let empty = BinaryMorphology.squaredDistanceTransform(sitesWhere: { $0 != 0 }, [0, 0, 0, 0], shape: [2, 2])
        #expect(empty.allSatisfy { $0 == .infinity })
        let line = BinaryMorphology.squaredDistanceTransform(sitesWhere: { $0 != 0 }, [1, 0, 0, 0, 0, 0], shape: [2, 3])
        #expect(line == [0, 1, 4, 1, 2, 5])
    }
}
