// Connected-component labelling of binary masks (2D and 3D), run-based union-find over z-slabs.
//
// Math: two foreground voxels are connected when they are neighbours under the chosen connectivity (face: 6 in 3D /
// 4 in 2D, scipy.ndimage.label's default structure; full: 26 in 3D / 8 in 2D, np.ones((3, 3, 3))), and components are
// the equivalence classes of the transitive closure.
//
// Layout: the mask is C-ordered (z, y, x) (a 2D mask is (y, x), i.e. z = 1); index names z, y, x. A "row" is one
// (z, y) line along x; a "run" is a maximal interval [start, end] of foreground voxels within one row.
//
// Algorithm:
//   1. The z axis is split into slabs, one per thread. Each slab extracts its runs row by row and unions every run with
//      the overlapping runs of its neighbouring rows inside the slab: (z, y-1) and (z-1, y) for face connectivity, plus
//      (z-1, y±1) and diagonal overlaps (runs that touch corner to corner, |start - end| = 1) for full connectivity.
//      The union rule always links the larger root below the smaller one, so every root is the first run of its
//      component in raster order.
//   2. The slab seams are merged sequentially (first slice of slab k against the last slice of slab k-1).
//   3. One sequential pass over the runs numbers the roots 1, 2, ... in raster order of their first voxel: the same
//      numbering as scipy.ndimage.label.
//   4. Optionally the label volume is written in parallel.
// Work is O(voxels / threads) for the scan plus O(runs) for the bookkeeping.

/// Which neighbours touch: faces only, or faces, edges and corners.
public enum ComponentConnectivity: Sendable, Equatable, CaseIterable {
    /// 6-connectivity in 3D, 4 in 2D: scipy.ndimage.label's default, what nnU-Net v1's postprocessing uses.
    case face
    /// 26-connectivity in 3D, 8 in 2D (scipy with `np.ones((3, 3, 3))`, skimage's default).
    case full
}

/// The connected components of a binary mask, as runs along x with a component number per run.
///
/// Component numbers are 1-based and follow the raster order (z, y, x) of each component's first voxel, exactly as
/// `scipy.ndimage.label` numbers them. ``voxelCounts`` is indexed by component number (index 0 is unused and 0).
package struct ComponentRuns: Sendable {
    /// Shape of the mask, (z, y, x); 2D masks are (1, y, x).
    package var shape: [Int]
    /// Number of components.
    package var count: Int
    /// For each row r = z * Y + y, its runs are `rowStart[r] ..< rowStart[r + 1]`.
    package var rowStart: [Int]
    /// First x of each run.
    package var runStart: [Int32]
    /// Last x of each run (inclusive).
    package var runEnd: [Int32]
    /// Component number (1...count) of each run.
    package var runComponent: [Int32]
    /// Voxels per component; `voxelCounts[0] == 0`.
    package var voxelCounts: [Int]

    /// Writes the label volume (0 = background, 1...count), C order (z, y, x), as `scipy.ndimage.label` returns it.
    package func labelVolume(threads: Int = ThreadSettings.defaultThreads) -> [Int32] {
        let rows = shape[0] * shape[1], width = shape[2]
        guard rows * width > 0 else { return [] }
        // Uninitialised allocation; each thread zeroes and fills its own rows (parallel first touch).
        let labels = [Int32](unsafeUninitializedCapacity: rows * width) { buffer, initialized in
            guard let base = buffer.baseAddress else { return }
            parallelFor(rows, threads: threads, minimumChunk: 64) { range in
                (base + range.lowerBound * width).initialize(repeating: 0, count: range.count * width)
                for row in range {
                    let offset = row * width
                    for run in rowStart[row]..<rowStart[row + 1] {
                        let c = runComponent[run]
                        (base + offset + Int(runStart[run])).update(repeating: c, count: Int(runEnd[run] - runStart[run]) + 1)
                    }
                }
            }
            initialized = rows * width
        }
        return labels
    }
}

/// Connected-component labelling (the kernel behind "keep the largest component" postprocessing).
package enum ConnectedComponents {
    /// Labels the components of `mask` (nonzero = foreground).
    ///
    /// - Parameters:
    ///   - mask: C-ordered (z, y, x) bytes; any nonzero byte is foreground.
    ///   - shape: (z, y, x), or (y, x) for a 2D mask.
    ///   - connectivity: ``ComponentConnectivity/face`` (6/4) or ``ComponentConnectivity/full`` (26/8).
    ///   - threads: slabs scanned in parallel.
    package static func runs(of mask: UnsafeBufferPointer<UInt8>, shape: [Int], connectivity: ComponentConnectivity,
                             threads: Int = ThreadSettings.defaultThreads) -> ComponentRuns {
        precondition(shape.count == 2 || shape.count == 3, "mask shape must be (y, x) or (z, y, x), got \(shape)")
        let shape3 = shape.count == 2 ? [1] + shape : shape
        let depth = shape3[0], height = shape3[1], width = shape3[2]
        precondition(mask.count == depth * height * width,
                     "mask has \(mask.count) values but shape \(shape) needs \(depth * height * width)")
        precondition(width < Int(Int32.max), "rows longer than Int32.max are not supported")
        let diagonal: Int32 = connectivity == .full ? 1 : 0
        let slabCount = max(1, min(threads, depth, 64))
        var slabs = [Slab?](repeating: nil, count: slabCount)
        let maskBase = mask.baseAddress

        // 1. Runs and unions inside each slab.
        slabs.withUnsafeMutableBufferPointer { slabsOut in
            guard let out = slabsOut.baseAddress else { return }
            parallelFor(slabCount, threads: slabCount) { slabRange in
                for s in slabRange {
                    let z0 = s * depth / slabCount, z1 = (s + 1) * depth / slabCount
                    if let maskBase {
                        out[s] = Slab.scan(maskBase, firstSlice: z0, slices: z1 - z0, height: height, width: width,
                                           connectivity: connectivity)
                    }
                }
            }
        }

        // Concatenate the slabs: global run id = slab offset + local id.
        var totalRuns = 0
        var runOffsets = [Int]()
        for s in 0..<slabCount {
            runOffsets.append(totalRuns)
            totalRuns += slabs[s]?.runStart.count ?? 0
        }
        var parent = [Int32](repeating: 0, count: totalRuns)
        var runStart = [Int32](), runEnd = [Int32]()
        runStart.reserveCapacity(totalRuns)
        runEnd.reserveCapacity(totalRuns)
        var rowStart = [Int](repeating: 0, count: depth * height + 1)
        for s in 0..<slabCount {
            guard let slab = slabs[s] else { continue }
            let offset = runOffsets[s]
            precondition(offset + slab.runStart.count < Int(Int32.max), "too many runs for 32-bit run ids")
            for (i, p) in slab.parent.enumerated() { parent[offset + i] = p + Int32(offset) }
            runStart.append(contentsOf: slab.runStart)
            runEnd.append(contentsOf: slab.runEnd)
            let firstRow = slab.firstSlice * height
            for r in 0..<(slab.slices * height) { rowStart[firstRow + r] = slab.rowStart[r] + offset }
        }
        rowStart[depth * height] = totalRuns
        slabs = []

        // 2. Seams between slabs.
        if depth > 1 && totalRuns > 0 {
            let starts = runStart, ends = runEnd
            starts.withUnsafeBufferPointer { startBuffer in ends.withUnsafeBufferPointer { endBuffer in
            parent.withUnsafeMutableBufferPointer { parentBuffer in
                guard let p = parentBuffer.baseAddress, let starts = startBuffer.baseAddress,
                      let ends = endBuffer.baseAddress else { return }
                for s in 1..<slabCount {
                    let z = s * depth / slabCount
                    guard z > 0, z < depth else { continue }
                    for y in 0..<height {
                        let row = z * height + y
                        let lowerY = connectivity == .full ? max(0, y - 1) : y
                        let upperY = connectivity == .full ? min(height - 1, y + 1) : y
                        for ny in lowerY...upperY {
                            let other = (z - 1) * height + ny
                            unionOverlapping(p, rowStart[row], rowStart[row + 1], rowStart[other],
                                             rowStart[other + 1], starts, ends,
                                             diagonal: diagonal)
                        }
                    }
                }
            }
            } }
        }

        // 3. Number the roots in raster order (every root is its component's first run).
        var runComponent = [Int32](repeating: 0, count: totalRuns)
        var voxelCounts = [0]
        if totalRuns > 0 { parent.withUnsafeMutableBufferPointer { parentBuffer in
            guard let p = parentBuffer.baseAddress else { return }
            for run in 0..<totalRuns {
                let root = Int(find(p, Int32(run)))
                let component: Int32
                if root == run {
                    voxelCounts.append(0)
                    component = Int32(voxelCounts.count - 1)
                } else {
                    component = runComponent[root]
                }
                runComponent[run] = component
                voxelCounts[Int(component)] += Int(runEnd[run] - runStart[run]) + 1
            }
        } }
        return ComponentRuns(shape: shape3, count: voxelCounts.count - 1, rowStart: rowStart, runStart: runStart,
                             runEnd: runEnd, runComponent: runComponent, voxelCounts: voxelCounts)
    }

    /// Labels `mask` and returns the label volume (Int32, 0 = background) and the number of components, like
    /// `scipy.ndimage.label(mask, structure)`.
    package static func label(_ mask: [UInt8], shape: [Int], connectivity: ComponentConnectivity = .face,
                              threads: Int = ThreadSettings.defaultThreads) -> (labels: [Int32], count: Int) {
        let components = mask.withUnsafeBufferPointer {
            runs(of: $0, shape: shape, connectivity: connectivity, threads: threads)
        }
        return (components.labelVolume(threads: threads), components.count)
    }

    // MARK: - Union-find on run ids

    /// Root of `i`, halving the path on the way.
    @inline(__always)
    static func find(_ parent: UnsafeMutablePointer<Int32>, _ i: Int32) -> Int32 {
        var i = i
        while parent[Int(i)] != i {
            let grand = parent[Int(parent[Int(i)])]
            parent[Int(i)] = grand
            i = grand
        }
        return i
    }

    /// Joins the sets of `a` and `b`; the smaller root becomes the parent.
    @inline(__always)
    static func union(_ parent: UnsafeMutablePointer<Int32>, _ a: Int32, _ b: Int32) {
        let ra = find(parent, a), rb = find(parent, b)
        if ra < rb { parent[Int(rb)] = ra } else if rb < ra { parent[Int(ra)] = rb }
    }

    /// Unions every run of one row with the runs of a neighbouring row that overlap it (or touch diagonally when
    /// `diagonal` is 1). Both run lists are sorted by x, so a two-pointer sweep suffices.
    @inline(__always)
    static func unionOverlapping(_ parent: UnsafeMutablePointer<Int32>, _ aBegin: Int, _ aEnd: Int, _ bBegin: Int,
                                 _ bEnd: Int, _ start: UnsafePointer<Int32>, _ end: UnsafePointer<Int32>,
                                 diagonal: Int32) {
        var i = aBegin, j = bBegin
        while i < aEnd && j < bEnd {
            if start[i] <= end[j] + diagonal && start[j] <= end[i] + diagonal {
                union(parent, Int32(i), Int32(j))
            }
            // Advance the run that ends first; the other may still overlap the next run.
            if end[i] < end[j] { i += 1 } else { j += 1 }
        }
    }

    /// One thread's slab of slices: its runs (local ids) and union-find parents.
    struct Slab {
        var firstSlice: Int
        var slices: Int
        var rowStart: [Int]
        var runStart: [Int32]
        var runEnd: [Int32]
        var parent: [Int32]

        /// Extracts the runs of slices `firstSlice ..< firstSlice + slices` and unions them inside the slab.
        static func scan(_ mask: UnsafePointer<UInt8>, firstSlice: Int, slices: Int, height: Int, width: Int,
                         connectivity: ComponentConnectivity) -> Slab {
            let diagonal: Int32 = connectivity == .full ? 1 : 0
            let rows = slices * height
            let slabMask = mask + firstSlice * height * width
            var rowStart = [Int](repeating: 0, count: rows + 1)
            // Runs, their ends and parents in one growable allocation of three Int32 lanes (no Array append checks).
            var capacity = max(1024, rows)
            var storage = UnsafeMutablePointer<Int32>.allocate(capacity: 3 * capacity)
            defer { storage.deallocate() }
            var count = 0
            rowStart.withUnsafeMutableBufferPointer { rowBuffer in
                guard let r = rowBuffer.baseAddress else { return }
                for localZ in 0..<slices {
                    for y in 0..<height {
                        let localRow = localZ * height + y
                        let first = count
                        r[localRow] = first
                        _ = forEachRun(slabMask + localRow * width, width: width) { begin, last in
                            if count == capacity {
                                let grown = UnsafeMutablePointer<Int32>.allocate(capacity: 6 * capacity)
                                for lane in 0..<3 {
                                    (grown + lane * 2 * capacity).moveInitialize(from: storage + lane * capacity,
                                                                                  count: capacity)
                                }
                                storage.deallocate()
                                storage = grown
                                capacity *= 2
                            }
                            storage[count] = Int32(truncatingIfNeeded: begin)
                            storage[capacity + count] = Int32(truncatingIfNeeded: last)
                            storage[2 * capacity + count] = Int32(truncatingIfNeeded: count)
                            count += 1
                        }
                        r[localRow + 1] = count
                        guard count > first else { continue }
                        let s = storage, e = storage + capacity, p = storage + 2 * capacity
                        if y > 0, first > r[localRow - 1] {
                            unionOverlapping(p, first, count, r[localRow - 1], first, s, e, diagonal: diagonal)
                        }
                        if localZ > 0 {
                            let lowerY = connectivity == .full ? max(0, y - 1) : y
                            let upperY = connectivity == .full ? min(height - 1, y + 1) : y
                            for ny in lowerY...upperY {
                                let other = (localZ - 1) * height + ny
                                if r[other + 1] > r[other] {
                                    unionOverlapping(p, first, count, r[other], r[other + 1], s, e, diagonal: diagonal)
                                }
                            }
                        }
                    }
                }
            }
            let runStart = Array(UnsafeBufferPointer(start: storage, count: count))
            let runEnd = Array(UnsafeBufferPointer(start: storage + capacity, count: count))
            let parent = Array(UnsafeBufferPointer(start: storage + 2 * capacity, count: count))
            return Slab(firstSlice: firstSlice, slices: slices, rowStart: rowStart, runStart: runStart,
                        runEnd: runEnd, parent: parent)
        }

        /// Calls `body(first x, last x)` for each run of one row and returns the number of runs; skips zero bytes
        /// eight at a time.
        @inline(__always)
        static func forEachRun(_ row: UnsafePointer<UInt8>, width: Int, _ body: (Int, Int) -> Void) -> Int {
            var x = 0, runs = 0
            while x < width {
                while x + 8 <= width && UnsafeRawPointer(row + x).loadUnaligned(as: UInt64.self) == 0 { x += 8 }
                while x < width && row[x] == 0 { x += 1 }
                guard x < width else { break }
                let begin = x
                while x + 8 <= width && allNonzero(UnsafeRawPointer(row + x).loadUnaligned(as: UInt64.self)) {
                    x += 8
                }
                while x < width && row[x] != 0 { x += 1 }
                body(begin, x - 1)
                runs += 1
            }
            return runs
        }

        /// Whether all eight bytes of `word` are nonzero (SWAR zero-byte test: some byte is zero iff
        /// (word - 0x01..01) & ~word & 0x80..80 is nonzero).
        @inline(__always)
        static func allNonzero(_ word: UInt64) -> Bool {
            let low: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
            return (word &- low) & ~word & high == 0
        }
    }
}
