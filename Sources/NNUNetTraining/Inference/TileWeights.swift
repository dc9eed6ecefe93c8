/// The accumulated importance weight of voxels of the padded volume, computed when needed instead of stored.
///
/// A voxel's weight is the float32 sum of the Gaussian map values of the tiles covering it, added in tile order
/// (first axis outermost). Tile corners are a Cartesian product of per-axis positions, so the covering tiles are the
/// product of per-axis position ranges, and the sum below visits them in that same order: the result equals the
/// weights volume of a whole-volume aggregation bit for bit. (The weights are also the product of per-axis sums in
/// exact arithmetic, but that product rounds differently, so it is not used.)
struct TileWeights: Sendable {
    /// Tile positions per axis (padded coordinates), ascending.
    let steps: [[Int]]
    /// Tile extent per axis.
    let tile: [Int]
    /// The importance map over a tile, C order (all ones without Gaussian weighting).
    let gaussian: [Float]
    /// Per axis and padded coordinate: the positions (indices into ``steps``) of the tiles covering it.
    let covering: [[Range<Int>]]

    init(steps: [[Int]], tile: [Int], gaussian: [Float]) {
        self.steps = steps
        self.tile = tile
        self.gaussian = gaussian
        covering = (0..<3).map { axis in
            let positions = steps[axis], extent = (positions.last ?? 0) + tile[axis]
            return (0..<extent).map { c in
                let lower = positions.firstIndex { $0 + tile[axis] > c } ?? positions.count
                let upper = positions.lastIndex { $0 <= c }.map { $0 + 1 } ?? 0
                return lower..<max(lower, upper)
            }
        }
    }

    /// The weights of `count` voxels of padded row (z, y) from column x on, into `sums[0..<count]`.
    func row(z: Int, y: Int, x: Int, count: Int, into sums: inout [Float]) {
        // Offsets into the map of the (z, y) part of each covering tile, in tile order.
        var bases: [Int] = []
        for iz in covering[0][z] {
            for iy in covering[1][y] {
                bases.append(((z - steps[0][iz]) * tile[1] + y - steps[1][iy]) * tile[2])
            }
        }
        let xSteps = steps[2]
        gaussian.withUnsafeBufferPointer { g in
            for i in 0..<count {
                let c = x + i, xs = covering[2][c]
                var sum: Float = 0
                for base in bases {
                    for ix in xs { sum += g[base + c - xSteps[ix]] }
                }
                sums[i] = sum
            }
        }
    }

    /// The whole weights volume of the padded shape (for tests: what a whole-volume aggregation accumulates).
    func volume() -> [Float] {
        let extent = (0..<3).map { covering[$0].count }
        var out = [Float](repeating: 0, count: extent.reduce(1, *))
        var sums = [Float](repeating: 0, count: extent[2])
        for z in 0..<extent[0] {
            for y in 0..<extent[1] {
                row(z: z, y: y, x: 0, count: extent[2], into: &sums)
                out.replaceSubrange(((z * extent[1] + y) * extent[2])..<((z * extent[1] + y + 1) * extent[2]),
                                    with: sums)
            }
        }
        return out
    }
}
