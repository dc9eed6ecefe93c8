/// Pooling and convolution kernels of a U-Net for a patch at a spacing.
///
/// Port of v1 `experiment_planning/common_utils.py` `get_pool_and_conv_props` (used by the v2.1 3D and 2D planners),
/// reference sheet §4.5: axes are pooled while their spacing is within a factor 2 of the finest and their size is
/// at least twice the minimal bottleneck edge; convolutions are 3 on the largest group of axes with similar spacing,
/// 1 elsewhere; a bottleneck kernel of all 3s is appended; the patch is padded up to a multiple of 2^pools.
public struct NetworkTopology: Sendable, Equatable {
    /// Number of poolings per axis.
    public var numPoolPerAxis: [Int]
    /// Pooling kernel (= stride) per pooling step, one entry per axis (2 where the axis is pooled, else 1).
    public var poolKernels: [[Int]]
    /// One more entry than ``poolKernels`` (the bottleneck).
    public var convKernels: [[Int]]
    /// The patch padded to divisibility.
    public var patchSize: [Int]
    /// 2^numPoolPerAxis per axis.
    public var divisor: [Int]

    /// v1 constants: the bottleneck feature map edge (4) and the pooling limit per axis (999).
    public static let minimumFeatureMapEdge = 4
    /// Most poolings per axis (v1 `unet_max_numpool`: 999, i.e. no limit in practice).
    public static let maximumPoolsPerAxis = 999

    /// Derives the topology of a patch at a spacing (v1 `get_pool_and_conv_props`).
    ///
    /// - Parameters:
    ///   - spacing: Voxel spacing per axis, in the (transposed) array order of the patch.
    ///   - patchSize: The patch before padding to a multiple of 2^pools per axis.
    ///   - minimumFeatureMapEdge: Smallest bottleneck edge in voxels; an axis is pooled only while twice this fits.
    ///   - maximumPools: Most poolings per axis.
    public init(spacing: [Double], patchSize: [Int], minimumFeatureMapEdge: Int = Self.minimumFeatureMapEdge,
                maximumPools: Int = Self.maximumPoolsPerAxis) {
        let dim = spacing.count
        var currentSpacing = spacing
        var currentSize = patchSize.map(Double.init)
        var pools = [Int](repeating: 0, count: dim)
        var poolKernels: [[Int]] = [], convKernels: [[Int]] = []
        while true {
            let minSpacing = currentSpacing.min() ?? 1
            var valid = (0..<dim).filter { currentSpacing[$0] / minSpacing < 2 }
            var axes: [Int] = []
            for a in 0..<dim {
                let mine = currentSpacing[a]
                let partners = (0..<dim).filter { currentSpacing[$0] / mine < 2 && mine / currentSpacing[$0] < 2 }
                if partners.count > axes.count { axes = partners }
            }
            let conv = (0..<dim).map { axes.contains($0) ? 3 : 1 }
            valid = valid.filter { currentSize[$0] >= Double(2 * minimumFeatureMapEdge) && pools[$0] < maximumPools }
            if valid.isEmpty { break }
            var kernel = [Int](repeating: 1, count: dim)
            for v in valid {
                kernel[v] = 2
                pools[v] += 1
                currentSpacing[v] *= 2
                currentSize[v] = (currentSize[v] / 2).rounded(.up)
            }
            poolKernels.append(kernel)
            convKernels.append(conv)
        }
        let divisor = pools.map { 1 << $0 }
        convKernels.append([Int](repeating: 3, count: dim))
        self.numPoolPerAxis = pools
        self.poolKernels = poolKernels
        self.convKernels = convKernels
        self.divisor = divisor
        self.patchSize = zip(patchSize, divisor).map { size, d in size % d == 0 ? size : size + d - size % d }
    }
}
