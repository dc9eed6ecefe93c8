/// What to evaluate and how strictly.
public struct EvaluationOptions: Sendable, Equatable {
    /// Labels to evaluate (v1 `-l`); each is compared as prediction == L against reference == L.
    public var labels: [Int]
    /// Also compute the surface metrics (HD95, ASSD, normalised surface Dice); off by default, as in v1.
    public var includesSurfaceMetrics: Bool
    /// Tolerance τ of the normalised surface Dice, in millimetres.
    public var surfaceDiceTolerance: Double
    /// Whether prediction and reference must share spacing, origin and direction (within float32 rounding), not only
    /// the shape. v1 checks only the shape.
    public var checksGeometry: Bool

    /// Creates options; by default only v1's metrics are computed and the geometry is checked.
    public init(labels: [Int], includesSurfaceMetrics: Bool = false, surfaceDiceTolerance: Double = 1.0,
                checksGeometry: Bool = true) {
        self.labels = labels
        self.includesSurfaceMetrics = includesSurfaceMetrics
        self.surfaceDiceTolerance = surfaceDiceTolerance
        self.checksGeometry = checksGeometry
    }
}
