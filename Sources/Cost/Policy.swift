// What the operator sets: per-cluster policy and the fleet budget. Defaults follow SYSTEM.md §2.

/// How important a cluster is when the budget cannot pay for every cluster's demand. Higher classes are served
/// first; within a class the budget is shared by weight.
public enum PriorityClass: Int, Codable, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    case low = 0
    case normal = 1
    case high = 2
    case critical = 3
    public static func < (a: PriorityClass, b: PriorityClass) -> Bool { a.rawValue < b.rawValue }
    public var description: String {
        switch self {
        case .low: "low"
        case .normal: "normal"
        case .high: "high"
        case .critical: "critical"
        }
    }
}

/// Spare capacity kept ready ahead of demand.
public enum WarmHeadroom: Codable, Sendable, Hashable {
    case none
    /// This many spare nodes above what demand needs.
    case nodes(Int)
    /// This share of demand on top of it (0.2 = 20 % more capacity).
    case shareOfDemand(Double)
}

/// The operator's rules for one cluster. Every field has the default SYSTEM.md gives; `validate()` names the
/// first field that is out of range.
public struct ClusterPolicy: Codable, Sendable, Hashable {
    /// Fewest nodes the cluster may have (default 1).
    public var minNodes: Int = 1
    /// Most nodes the cluster may have (default 100).
    public var maxNodes: Int = 100
    /// Nodes kept on-demand whatever the spot share (default 2).
    public var onDemandBase: Int = 2
    /// Share of the nodes above the on-demand base that run on spot (0…1, default 0.7).
    public var targetSpotShare: Double = 0.7
    /// Requested / allocatable the planner aims for (0 < x ≤ 1, default 0.75).
    public var targetUtilisation: Double = 0.75
    /// Instance types the planner may launch; empty = every type in the catalog.
    public var allowedInstanceTypes: [String] = []
    /// Zones the planner may launch in; empty = every zone the cluster reports.
    public var allowedZones: [String] = []
    public var priorityClass: PriorityClass = .normal
    /// Share of the budget within the priority class, relative to other clusters (> 0, default 1).
    public var weight: Double = 1
    /// Clusters that take over this one's demand if it is lost, in order of preference.
    public var failoverTargets: [ClusterID] = []
    /// Spare capacity kept warm (default none).
    public var warmHeadroom: WarmHeadroom = .none
    /// Largest share of the cluster's nodes that may drain at once (default 0.1; at least one node).
    public var disruptionBudget: Double = 0.1
    /// A consolidation that evicts pods must save at least this share of the cluster's hourly cost (default 0.1).
    public var minConsolidationSaving: Double = 0.1
    /// Most pods the planner may evict from this cluster in any hour (default 100).
    public var maxEvictionsPerHour: Int = 100
    /// A node must have been unneeded this long before it is removed (default 10 min).
    public var scaleDownUnneeded: Duration = .seconds(600)
    /// No removal this soon after the cluster last grew (default 10 min).
    public var scaleDownDelayAfterAdd: Duration = .seconds(600)
    /// When set, the planner changes nothing for this cluster (operator pause).
    public var paused: Bool = false

    public init() {}

    private enum CodingKeys: String, CodingKey {
        case minNodes, maxNodes, onDemandBase, targetSpotShare, targetUtilisation, allowedInstanceTypes, allowedZones
        case priorityClass, weight, failoverTargets, warmHeadroom, disruptionBudget, minConsolidationSaving
        case maxEvictionsPerHour, scaleDownUnneeded, scaleDownDelayAfterAdd, paused
    }

    /// Decodes a policy in which every key is optional: a missing key keeps its default, so an operator's file
    /// names only what differs.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ClusterPolicy()
        minNodes = try c.decodeIfPresent(Int.self, forKey: .minNodes) ?? d.minNodes
        maxNodes = try c.decodeIfPresent(Int.self, forKey: .maxNodes) ?? d.maxNodes
        onDemandBase = try c.decodeIfPresent(Int.self, forKey: .onDemandBase) ?? d.onDemandBase
        targetSpotShare = try c.decodeIfPresent(Double.self, forKey: .targetSpotShare) ?? d.targetSpotShare
        targetUtilisation = try c.decodeIfPresent(Double.self, forKey: .targetUtilisation) ?? d.targetUtilisation
        allowedInstanceTypes =
            try c.decodeIfPresent([String].self, forKey: .allowedInstanceTypes) ?? d.allowedInstanceTypes
        allowedZones = try c.decodeIfPresent([String].self, forKey: .allowedZones) ?? d.allowedZones
        priorityClass = try c.decodeIfPresent(PriorityClass.self, forKey: .priorityClass) ?? d.priorityClass
        weight = try c.decodeIfPresent(Double.self, forKey: .weight) ?? d.weight
        failoverTargets = try c.decodeIfPresent([ClusterID].self, forKey: .failoverTargets) ?? d.failoverTargets
        warmHeadroom = try c.decodeIfPresent(WarmHeadroom.self, forKey: .warmHeadroom) ?? d.warmHeadroom
        disruptionBudget = try c.decodeIfPresent(Double.self, forKey: .disruptionBudget) ?? d.disruptionBudget
        minConsolidationSaving =
            try c.decodeIfPresent(Double.self, forKey: .minConsolidationSaving) ?? d.minConsolidationSaving
        maxEvictionsPerHour = try c.decodeIfPresent(Int.self, forKey: .maxEvictionsPerHour) ?? d.maxEvictionsPerHour
        scaleDownUnneeded = try c.decodeIfPresent(Duration.self, forKey: .scaleDownUnneeded) ?? d.scaleDownUnneeded
        scaleDownDelayAfterAdd =
            try c.decodeIfPresent(Duration.self, forKey: .scaleDownDelayAfterAdd) ?? d.scaleDownDelayAfterAdd
        paused = try c.decodeIfPresent(Bool.self, forKey: .paused) ?? d.paused
    }

    /// Checks every field; the error names the first one out of range.
    public func validate(cluster: ClusterID) throws(CostError) {
        func fail(_ key: String, _ message: String) -> CostError {
            CostError(.invalidPolicy, context: "cluster \(cluster), \(key)", message: message, field: key)
        }
        if minNodes < 0 { throw fail("minNodes", "must be 0 or more, is \(minNodes)") }
        if maxNodes < minNodes { throw fail("maxNodes", "must be at least minNodes (\(minNodes)), is \(maxNodes)") }
        if onDemandBase < 0 { throw fail("onDemandBase", "must be 0 or more, is \(onDemandBase)") }
        if !(0...1).contains(targetSpotShare) {
            throw fail("targetSpotShare", "must be within 0…1, is \(targetSpotShare)")
        }
        if !(targetUtilisation > 0 && targetUtilisation <= 1) {
            throw fail("targetUtilisation", "must be within (0, 1], is \(targetUtilisation)")
        }
        if !(weight > 0) { throw fail("weight", "must be greater than 0, is \(weight)") }
        if !(0...1).contains(disruptionBudget) {
            throw fail("disruptionBudget", "must be within 0…1, is \(disruptionBudget)")
        }
        if !(0...1).contains(minConsolidationSaving) {
            throw fail("minConsolidationSaving", "must be within 0…1, is \(minConsolidationSaving)")
        }
        if maxEvictionsPerHour < 0 { throw fail("maxEvictionsPerHour", "must be 0 or more, is \(maxEvictionsPerHour)") }
        switch warmHeadroom {
        case .none: break
        case .nodes(let n): if n < 0 { throw fail("warmHeadroom", "spare nodes must be 0 or more, is \(n)") }
        case .shareOfDemand(let s): if !(s >= 0) { throw fail("warmHeadroom", "share must be 0 or more, is \(s)") }
        }
    }
}

/// The fleet's monthly spending limits in USD.
///
/// Money is `Double` USD throughout Cost: list prices have at most four decimals and a month of a large fleet
/// stays far inside the 15–16 significant digits a Double holds exactly enough for cents; `Decimal` would need
/// Foundation and is much slower in the planner's inner loop.
public struct FleetBudget: Codable, Sendable, Hashable {
    /// Monthly limit for the whole fleet (USD per calendar month, UTC).
    public var monthlyUSD: Double
    /// Optional tighter monthly limits per region (USD per month).
    public var regionalMonthlyUSD: [String: Double]

    public init(monthlyUSD: Double, regionalMonthlyUSD: [String: Double] = [:]) {
        self.monthlyUSD = monthlyUSD
        self.regionalMonthlyUSD = regionalMonthlyUSD
    }

    /// The one rule for a budget, wherever it comes from (configuration, coordctl, the simulator): the fleet's
    /// monthly limit is positive (a fleet that may spend nothing is paused, not budgeted); a region's cap is 0 or
    /// more (0 closes the region to new spend).
    public func validate() throws(CostError) {
        if !(monthlyUSD > 0) || !monthlyUSD.isFinite {
            throw CostError(
                .invalidBudget,
                context: "monthlyUSD",
                message: "must be a positive amount of USD, is \(monthlyUSD)",
                field: "monthlyUSD"
            )
        }
        for (region, usd) in regionalMonthlyUSD.sorted(by: { $0.key < $1.key }) where !(usd >= 0) || !usd.isFinite {
            throw CostError(
                .invalidBudget,
                context: "regionalMonthlyUSD.\(region)",
                message: "must be 0 or more USD, is \(usd)",
                field: "regionalMonthlyUSD.\(region)"
            )
        }
    }
}
