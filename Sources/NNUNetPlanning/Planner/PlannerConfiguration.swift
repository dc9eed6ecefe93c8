import Foundation

/// Which planner runs, with its memory reference and output names (reference sheet §4.8, §4.10).
///
/// v1's planners differ only in the reference budget of the memory estimate and the names they write. Beyond v1,
/// ``threeD(gpuMemoryGB:)`` plans for any budget, scaling the reference as the 11 GB / 32 GB planners do
/// (520e6 · G / 8), with plans identifier `nnUNetPlansv2.1_<G>GB`.
public struct PlannerConfiguration: Sendable, Equatable {
    /// Whether the planner writes 3D plans (3d_fullres, 3d_lowres) or 2D plans.
    public enum Dimensionality: Sendable, Equatable { case threeD, twoD }

    /// v1 class name (`ExperimentPlanner3D_v21`, ...), or a descriptive name for custom budgets.
    public var name: String
    /// Whether this is a 3D or a 2D planner.
    public var dimensionality: Dimensionality
    /// The budget the memory estimate is compared with.
    public var reference: Double
    /// Plans identifier, e.g. `nnUNetPlansv2.1` or `nnUNetPlansv2.1_big`.
    public var plansIdentifier: String
    /// Data identifier (prefix of the stage folders), e.g. `nnUNetData_plans_v2.1`.
    public var dataIdentifier: String
    /// v1's `how_much_of_a_patient_must_the_network_see_at_stage0` (4): a 3D planner searches for a 3d_lowres stage
    /// only when the median patient holds at least this many patches, and coarsens the lowres spacing until it holds
    /// at most this many. The FAQ's knob for forcing a 3d_lowres stage on smaller data: lower it.
    public var lowresMinimumPatientFraction: Double = ExperimentPlanner.lowresMinimumPatientFraction

    /// Creates a planner configuration; see the properties.
    public init(name: String, dimensionality: Dimensionality, reference: Double, plansIdentifier: String,
                dataIdentifier: String,
                lowresMinimumPatientFraction: Double = ExperimentPlanner.lowresMinimumPatientFraction) {
        self.name = name
        self.dimensionality = dimensionality
        self.reference = reference
        self.plansIdentifier = plansIdentifier
        self.dataIdentifier = dataIdentifier
        self.lowresMinimumPatientFraction = lowresMinimumPatientFraction
    }

    /// Plans file name: `<plansIdentifier>_plans_3D.json` or `..._plans_2D.json`.
    public var plansFileName: String {
        plansIdentifier + (dimensionality == .threeD ? "_plans_3D.json" : "_plans_2D.json")
    }

    /// `ExperimentPlanner3D_v21`: reference 520e6 · 32 / 30 (v1 scales its 30-feature budget to 32 base features).
    public static let default3D = PlannerConfiguration(
        name: "ExperimentPlanner3D_v21", dimensionality: .threeD, reference: 520_000_000.0 * 32 / 30,
        plansIdentifier: "nnUNetPlansv2.1", dataIdentifier: "nnUNetData_plans_v2.1")
    /// `ExperimentPlanner3D_v21_11GB`.
    public static let large11GB = PlannerConfiguration(
        name: "ExperimentPlanner3D_v21_11GB", dimensionality: .threeD, reference: 520_000_000.0 * 11 / 8,
        plansIdentifier: "nnUNetPlansv2.1_big", dataIdentifier: "nnUNetData_plans_v2.1_big")
    /// `ExperimentPlanner3D_v21_16GB`.
    public static let large16GB = PlannerConfiguration(
        name: "ExperimentPlanner3D_v21_16GB", dimensionality: .threeD, reference: 520_000_000.0 * 16 / 8.5,
        plansIdentifier: "nnUNetPlansv2.1_16GB", dataIdentifier: "nnUNetData_plans_v2.1_16GB")
    /// `ExperimentPlanner3D_v21_32GB`.
    public static let large32GB = PlannerConfiguration(
        name: "ExperimentPlanner3D_v21_32GB", dimensionality: .threeD, reference: 520_000_000.0 * 32 / 8,
        plansIdentifier: "nnUNetPlansv2.1_verybig", dataIdentifier: "nnUNetData_plans_v2.1_verybig")
    /// `ExperimentPlanner2D_v21`: reference 19 739 648 · 50 / 2.
    public static let default2D = PlannerConfiguration(
        name: "ExperimentPlanner2D_v21", dimensionality: .twoD, reference: 19_739_648.0 * 50 / 2,
        plansIdentifier: "nnUNetPlansv2.1", dataIdentifier: "nnUNetData_plans_v2.1_2D")

    /// The v1 planners by class name.
    public static let all: [PlannerConfiguration] = [default3D, large11GB, large16GB, large32GB, default2D]

    /// Looks up a v1 planner class name.
    /// - Throws: ``PlanningError/invalidInput(_:)`` listing the valid names.
    public static func named(_ name: String) throws -> PlannerConfiguration {
        guard let found = all.first(where: { $0.name == name }) else {
            throw PlanningError.invalidInput("Unknown planner '\(name)'. Valid: "
                                             + all.map(\.name).joined(separator: ", ") + ", or None.")
        }
        return found
    }

    /// A 3D planner for a GPU with `gb` gigabytes (v1's 11/32 GB rule: reference 520e6 · G / 8).
    public static func threeD(gpuMemoryGB gb: Double) -> PlannerConfiguration {
        let label = gb == gb.rounded() ? String(Int(gb)) : String(gb)
        return PlannerConfiguration(name: "ExperimentPlanner3D_v21 (\(label) GB)", dimensionality: .threeD,
                                    reference: 520_000_000.0 * gb / 8, plansIdentifier: "nnUNetPlansv2.1_\(label)GB",
                                    dataIdentifier: "nnUNetData_plans_v2.1_\(label)GB")
    }
}
