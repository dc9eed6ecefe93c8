import Testing
@testable import NNUNetCore

/// Plain reference: breadth-first flood fill from every unlabelled foreground voxel in raster order, so components are
/// numbered by their first voxel exactly as scipy.ndimage.label (and the kernel) number them.
private func floodFillLabels(_ mask: [UInt8], shape: [Int], connectivity: ComponentConnectivity) -> ([Int32], Int) {
    let (d, h, w) = (shape[0], shape[1], shape[2])
    var offsets: [(Int, Int, Int)] = []
    for dz in -1...1 { for dy in -1...1 { for dx in -1...1 {
        let manhattan = abs(dz) + abs(dy) + abs(dx)
        if manhattan == 0 { continue }
        if connectivity == .face && manhattan != 1 { continue }
        offsets.append((dz, dy, dx))
    } } }
    var labels = [Int32](repeating: 0, count: mask.count)
    var next: Int32 = 0
    var queue: [Int] = []
    for start in 0..<mask.count where mask[start] != 0 && labels[start] == 0 {
        next += 1
        labels[start] = next
        queue = [start]
        var head = 0
        while head < queue.count {
            let i = queue[head]; head += 1
            let z = i / (h * w), y = (i / w) % h, x = i % w
            for (dz, dy, dx) in offsets {
                let nz = z + dz, ny = y + dy, nx = x + dx
                guard nz >= 0, nz < d, ny >= 0, ny < h, nx >= 0, nx < w else { continue }
                let j = (nz * h + ny) * w + nx
                if mask[j] != 0 && labels[j] == 0 { labels[j] = next; queue.append(j) }
            }
        }
    }
    return (labels, Int(next))
}

private func randomMask(shape: [Int], density: Double, seed: UInt64) -> [UInt8] {
    var generator = SeededGenerator(seed: seed)
    return (0..<shape.reduce(1, *)).map { _ in generator.nextUniform() < density ? UInt8(1 + generator.next() % 3) : 0 }
}

@Suite("Connected components")
struct ConnectedComponentsTests {
    @Test("matches a brute-force flood fill on random 3D volumes",
          arguments: [ComponentConnectivity.face, .full], [0.1, 0.3, 0.5, 0.75])
    func randomVolumes(connectivity: ComponentConnectivity, density: Double) {
        for (index, shape) in [[7, 9, 11], [13, 5, 17], [1, 12, 10], [20, 1, 3], [9, 16, 33]].enumerated() {
            let mask = randomMask(shape: shape, density: density, seed: UInt64(index * 31) + UInt64(density * 100))
            let (expected, expectedCount) = floodFillLabels(mask, shape: shape, connectivity: connectivity)
            for threads in [1, 2, 3, 5] {
                let (labels, count) = ConnectedComponents.label(mask, shape: shape, connectivity: connectivity,
                                                                threads: threads)
                #expect(count == expectedCount, "shape \(shape), threads \(threads)")
                #expect(labels == expected, "shape \(shape), threads \(threads)")
            }
        }
    }

    @Test("2D masks use 4- and 8-connectivity", arguments: [ComponentConnectivity.face, .full])
    func twoDimensional(connectivity: ComponentConnectivity) {
        let mask = randomMask(shape: [23, 29], density: 0.45, seed: 99)
        let (expected, expectedCount) = floodFillLabels(mask, shape: [1, 23, 29], connectivity: connectivity)
        let (labels, count) = ConnectedComponents.label(mask, shape: [23, 29], connectivity: connectivity)
        #expect(count == expectedCount)
        #expect(labels == expected)
    }

    @Test("diagonal neighbours join only with full connectivity; voxel counts per component")
    func diagonalAndCounts() {
        // Two voxels touching at a corner, plus a separate 3-voxel bar.
        var mask = [UInt8](repeating: 0, count: 3 * 3 * 4)
        mask[0] = 1                       // (0, 0, 0)
        mask[(1 * 3 + 1) * 4 + 1] = 1     // (1, 1, 1)
        for x in 1..<4 { mask[(2 * 3 + 2) * 4 + x] = 1 }  // (2, 2, 1...3)
        let face = mask.withUnsafeBufferPointer { ConnectedComponents.runs(of: $0, shape: [3, 3, 4], connectivity: .face) }
        let full = mask.withUnsafeBufferPointer { ConnectedComponents.runs(of: $0, shape: [3, 3, 4], connectivity: .full) }
        #expect(face.count == 3)
        #expect(face.voxelCounts == [0, 1, 1, 3])
        #expect(full.count == 1)
        #expect(full.voxelCounts == [0, 5])
    }

    @Test("empty and full masks")
    func emptyAndFull() {
        let empty = ConnectedComponents.label([UInt8](repeating: 0, count: 60), shape: [3, 4, 5])
        #expect(empty.count == 0 && empty.labels.allSatisfy { $0 == 0 })
        let full = ConnectedComponents.label([UInt8](repeating: 7, count: 60), shape: [3, 4, 5], threads: 3)
        #expect(full.count == 1 && full.labels.allSatisfy { $0 == 1 })
    }
}
