/// The nonzero region of a case: voxels that are nonzero in any modality, with enclosed holes filled.
///
/// Port of v1 `preprocessing/cropping.py` `create_nonzero_mask` (scipy `binary_fill_holes` with its default
/// face-connected structure: a zero voxel stays outside only if it is face-connected to the border through zeros) and
/// `get_bbox_from_mask`.
public enum NonzeroMask {
    /// The filled mask (1 inside) of `channels` volumes of `shape` (z, y, x), each `shape.product` values.
    public static func make(channels: [[Float]], shape: [Int]) -> [Bool] {
        let count = shape.reduce(1, *)
        var inside = [Bool](repeating: false, count: count)
        for channel in channels {
            for i in 0..<count where channel[i] != 0 { inside[i] = true }
        }
        fillHoles(&inside, shape: shape)
        return inside
    }

    /// Fills enclosed holes in place: every `false` voxel not face-connected to the border through `false` voxels
    /// becomes `true`.
    public static func fillHoles(_ mask: inout [Bool], shape: [Int]) {
        let (nz, ny, nx) = (shape[0], shape[1], shape[2])
        var outside = [Bool](repeating: false, count: mask.count)
        var stack: [Int] = []
        func seed(_ i: Int) {
            if !mask[i] && !outside[i] { outside[i] = true; stack.append(i) }
        }
        for z in 0..<nz {
            for y in 0..<ny {
                for x in 0..<nx where z == 0 || z == nz - 1 || y == 0 || y == ny - 1 || x == 0 || x == nx - 1 {
                    seed((z * ny + y) * nx + x)
                }
            }
        }
        let plane = ny * nx
        while let i = stack.popLast() {
            let x = i % nx, y = (i / nx) % ny, z = i / plane
            if x > 0 { seed(i - 1) }
            if x < nx - 1 { seed(i + 1) }
            if y > 0 { seed(i - nx) }
            if y < ny - 1 { seed(i + nx) }
            if z > 0 { seed(i - plane) }
            if z < nz - 1 { seed(i + plane) }
        }
        for i in mask.indices { mask[i] = !outside[i] }
    }

    /// The half-open bounding box [[z0, z1], [y0, y1], [x0, x1]] of the `true` voxels; nil for an empty mask.
    public static func boundingBox(_ mask: [Bool], shape: [Int]) -> [[Int]]? {
        var z0 = Int.max, y0 = Int.max, x0 = Int.max, z1 = -1, y1 = -1, x1 = -1
        var i = 0
        for z in 0..<shape[0] {
            for y in 0..<shape[1] {
                for x in 0..<shape[2] {
                    if mask[i] {
                        z0 = min(z0, z); y0 = min(y0, y); x0 = min(x0, x)
                        z1 = max(z1, z); y1 = max(y1, y); x1 = max(x1, x)
                    }
                    i += 1
                }
            }
        }
        guard z1 >= 0 else { return nil }
        return [[z0, z1 + 1], [y0, y1 + 1], [x0, x1 + 1]]
    }

    /// Copies the box out of a (z, y, x) volume.
    public static func crop<T>(_ values: [T], shape: [Int], to box: [[Int]]) -> [T] {
        var out: [T] = []
        out.reserveCapacity((box[0][1] - box[0][0]) * (box[1][1] - box[1][0]) * (box[2][1] - box[2][0]))
        for z in box[0][0]..<box[0][1] {
            for y in box[1][0]..<box[1][1] {
                let row = (z * shape[1] + y) * shape[2]
                out.append(contentsOf: values[(row + box[2][0])..<(row + box[2][1])])
            }
        }
        return out
    }
}
