// Inputs, outputs and memory of the fleet planner.

/// Knobs of the planner that are fleet-wide rather than per cluster. Defaults follow SYSTEM.md.
public struct PlannerSettings: Codable, Sendable, Hashable {
    /// A cluster whose last report is older than this is lost (default 60 s).
    public var clusterLostAfter: Duration = .seconds(60)
    /// First back-off for a pool whose launch failed; doubles on each repeat (default 3 min).
    public var poolBackoff: Duration = .seconds(180)
    /// The back-off never grows past this (default 1 h).
    public var poolBackoffMax: Duration = .seconds(3_600)
    /// A spot price older than this is not trusted for a new launch (default 1 h).
    public var spotPriceMaxAge: Duration = .seconds(3_600)
    /// Interruption risk assumed for a pool with no risk figure (0…1, default 0.1).
    public var defaultInterruptionRisk: Double = 0.1
    /// How much interruption risk weighs against price: effective price = price × (1 + riskWeight × risk).
    public var riskWeight: Double = 1.0
    /// Penalty per share of the cluster's spot nodes already in a pool, so spot spreads over several pools.
    public var poolConcentrationPenalty: Double = 0.5
    /// When a pool's interruption rate counts as a storm (its short-window rate jumps against its baseline); a
    /// storming pool gets no new capacity until the storm is over.
    public var storm = StormSettings()

    public init() {}
}

/// Everything the planner looks at in one cycle. Nothing else is read: no clock, no I/O.
public struct PlannerInput: Sendable {
    /// The latest report of each cluster.
    public var reports: [ClusterReport]
    /// Each cluster's policy; a cluster without one gets `ClusterPolicy()`.
    public var policies: [ClusterID: ClusterPolicy]
    /// What the budget allows per hour for the rest of the month.
    public var allowance: BudgetAllowance
    public var catalog: PriceCatalog
    public var spotPrices: SpotPriceCache
    /// Interruption frequency per pool (0…1, e.g. from the Spot Instance Advisor); missing pools get the default.
    public var interruptionRisk: [SpotPool: Double]
    /// Each cluster's demand forecast for one lead time ahead (its launch-to-Ready p90), already in requests.
    public var forecasts: [ClusterID: Resources]
    /// Regions marked failed by the operator or by health checks.
    public var failedRegions: Set<String>
    /// Clusters the operator failed over (`coordctl failover CLUSTER`), whatever their reports say.
    public var failedClusters: Set<ClusterID>
    public var now: Timestamp

    public init(
        reports: [ClusterReport],
        policies: [ClusterID: ClusterPolicy] = [:],
        allowance: BudgetAllowance = .unlimited,
        catalog: PriceCatalog,
        spotPrices: SpotPriceCache = SpotPriceCache(),
        interruptionRisk: [SpotPool: Double] = [:],
        forecasts: [ClusterID: Resources] = [:],
        failedRegions: Set<String> = [],
        failedClusters: Set<ClusterID> = [],
        now: Timestamp
    ) {
        self.reports = reports
        self.policies = policies
        self.allowance = allowance
        self.catalog = catalog
        self.spotPrices = spotPrices
        self.interruptionRisk = interruptionRisk
        self.forecasts = forecasts
        self.failedRegions = failedRegions
        self.failedClusters = failedClusters
        self.now = now
    }
}

/// A set of nodes that are interchangeable for planning: same type, market and zone.
public struct NodeGroup: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public var instanceType: String
    public var market: Market
    public var availabilityZone: String

    public init(instanceType: String, market: Market, availabilityZone: String) {
        self.instanceType = instanceType
        self.market = market
        self.availabilityZone = availabilityZone
    }
    public static func < (a: NodeGroup, b: NodeGroup) -> Bool {
        (a.availabilityZone, a.market.rawValue, a.instanceType) < (
            b.availabilityZone, b.market.rawValue, b.instanceType
        )
    }
    public var description: String { "\(instanceType)/\(market)/\(availabilityZone)" }
}

/// Launch `count` nodes of one group in one cluster.
public struct LaunchOrder: Codable, Sendable, Hashable {
    public var cluster: ClusterID
    public var group: NodeGroup
    public var count: Int
    /// The price each new node is expected to cost (spot: the pool's current price).
    public var usdPerHourEach: Double

    public init(cluster: ClusterID, group: NodeGroup, count: Int, usdPerHourEach: Double) {
        self.cluster = cluster
        self.group = group
        self.count = count
        self.usdPerHourEach = usdPerHourEach
    }

    /// Why, in words; derived from the fields (the cluster's reasons say why it grows).
    public var reason: String { "\(count) × \(group) at \(usd(usdPerHourEach))/h each" }
}

/// Drain (then terminate) one node.
public struct DrainOrder: Codable, Sendable, Hashable {
    public var cluster: ClusterID
    public var nodeName: String
    public var instanceID: String
    public var usdPerHour: Double
    public var reason: String
}

/// What the planner concluded about one cluster.
public enum ClusterPlanStatus: String, Codable, Sendable, Hashable {
    /// Planned normally.
    case planned
    /// The operator paused it: nothing changes.
    case paused
    /// Its agent is silent past `clusterLostAfter`: no commands; its demand goes to its failover targets.
    case lost
    /// Its region is marked failed: no commands; its demand goes to its failover targets.
    case regionFailed = "region-failed"
    /// The operator failed it over: no commands; its demand goes to its failover targets.
    case failedOver = "failed-over"

    /// Down for planning: lost, its region failed, or failed over; its demand goes to its failover targets.
    public var isDown: Bool { self == .lost || self == .regionFailed || self == .failedOver }
    /// Its policy is out of range: no changes until the operator fixes it (the reason names the field).
    case invalidPolicy = "invalid-policy"
}

/// The desired state of one cluster and the actions that move it there.
public struct ClusterPlan: Codable, Sendable, Hashable {
    public var cluster: ClusterID
    public var region: String
    public var status: ClusterPlanStatus
    public var priorityClass: PriorityClass
    /// Requests the plan provides for (running + pending, forecast, failover), before the utilisation target.
    public var demand: Resources
    /// Capacity needed: demand / target utilisation, plus warm headroom.
    public var requiredCapacity: Resources
    /// The nodes of the report this plan was made from, and which of them stay (active, not drained): kept as
    /// indices so a cycle over a large fleet copies no node records.
    var reportedNodes: [NodeReport]
    var keptNodeIndices: [Int]
    /// The nodes that stay after the plan.
    public var keptNodes: [NodeReport] { keptNodeIndices.map { reportedNodes[$0] } }
    /// The node groups of the nodes that stay, one entry per node.
    public var keptGroups: [NodeGroup] {
        keptNodeIndices.map {
            let n = reportedNodes[$0]
            return NodeGroup(instanceType: n.instanceType, market: n.market, availabilityZone: n.availabilityZone)
        }
    }
    public var keptNodeCount: Int { keptNodeIndices.count }
    public var launches: [LaunchOrder]
    public var drains: [DrainOrder]
    /// Nodes the plan wanted but the budget did not fund (and their hourly cost).
    public var unfundedNodes: Int
    public var unfundedUSDPerHour: Double
    /// Hourly cost of the nodes the cluster will have after the plan.
    public var plannedUSDPerHour: Double
    /// Hourly cost the plan cannot avoid: floors and nodes whose pods cannot move.
    public var forcedUSDPerHour: Double
    /// One line per decision, in the order made.
    public var reasons: [String]

    /// Counts per instance type, market and zone after the plan.
    public var desired: [NodeGroup: Int] {
        var counts: [NodeGroup: Int] = [:]
        for g in keptGroups { counts[g, default: 0] += 1 }
        for l in launches { counts[l.group, default: 0] += l.count }
        return counts
    }
    public var desiredNodeCount: Int { keptNodeIndices.count + launches.reduce(0) { $0 + $1.count } }
    public func desiredCount(market: Market) -> Int {
        keptNodeIndices.reduce(0) { $0 + (reportedNodes[$1].market == market ? 1 : 0) }
            + launches.reduce(0) { $0 + ($1.group.market == market ? $1.count : 0) }
    }
    public func desiredCount(zone: String) -> Int {
        keptNodeIndices.reduce(0) { $0 + (reportedNodes[$1].availabilityZone == zone ? 1 : 0) }
            + launches.reduce(0) { $0 + ($1.group.availabilityZone == zone ? $1.count : 0) }
    }
}

/// How the plan sits against the budget.
public struct BudgetOutcome: Codable, Sendable, Hashable {
    public var allowanceUSDPerHour: Double
    public var plannedUSDPerHour: Double
    /// The part of the planned cost no plan could avoid (floors, nodes whose pods cannot move).
    public var forcedUSDPerHour: Double
    /// Cost of the demand the budget did not fund.
    public var shortfallUSDPerHour: Double
    /// The plan exceeds the allowance because forced costs alone exceed it.
    public var overAllowance: Bool
    public var regionalAllowanceUSDPerHour: [String: Double]
    public var regionalPlannedUSDPerHour: [String: Double]
}

/// One planning cycle's result for the whole fleet.
public struct FleetPlan: Codable, Sendable, Hashable {
    /// Increases by one per cycle; stamped on commands with the fencing epoch.
    public var generation: UInt64
    public var clusters: [ClusterPlan]
    public var budget: BudgetOutcome
    /// Fleet-level decisions (budget squeeze, failovers, storms).
    public var reasons: [String]

    public func plan(for cluster: ClusterID) -> ClusterPlan? { clusters.first { $0.cluster == cluster } }
    public var launches: [LaunchOrder] { clusters.flatMap(\.launches) }
    public var drains: [DrainOrder] { clusters.flatMap(\.drains) }
}

/// What the planner remembers between cycles: timers, pool back-offs, storms, evictions, failovers.
///
/// Promise: only `FleetPlanner.plan` and the explicit operator calls here change it; it is Codable so the leader
/// persists it and a new leader resumes with the same timers.
public struct PlannerState: Codable, Sendable, Hashable {
    public internal(set) var generation: UInt64 = 0
    /// Per cluster: the nodes found unneeded and since when (a short list; clusters rarely have many).
    var unneededSince: [ClusterID: [UnneededNode]] = [:]
    struct UnneededNode: Codable, Sendable, Hashable {
        var name: String
        var since: Timestamp
    }
    /// When each cluster last grew.
    var lastScaleUpAt: [ClusterID: Timestamp] = [:]
    /// When rule 3 last drained a cluster's running nodes for money: it gets no growth for
    /// `scaleDownDelayAfterAdd` after that (the pods it left waiting must not buy the capacity back at once).
    var lastBudgetDrainAt: [ClusterID: Timestamp] = [:]
    struct PoolKey: Codable, Sendable, Hashable {
        var pool: SpotPool
        var market: Market
    }
    struct FailureRecord: Codable, Sendable, Hashable {
        var count: Int
        var lastAt: Timestamp
    }
    var poolFailures: [PoolKey: FailureRecord] = [:]
    /// Interruption rates per spot pool (every pool that ran spot nodes or was interrupted lately).
    var poolRates: [SpotPool: PoolInterruptionRate] = [:]
    /// The pools in a storm, kept with `poolRates` so the per-launch check is one lookup (and none without storms).
    var storming: Set<SpotPool> = []
    /// The cycle up to which spot exposure has been credited.
    var exposureAsOf: Timestamp?
    var seenEvents: [String: Timestamp] = [:]
    struct Eviction: Codable, Sendable, Hashable {
        var at: Timestamp
        var pods: Int
    }
    var evictions: [ClusterID: [Eviction]] = [:]
    /// A lost cluster's demand handed to a target; kept until `failBack` is called.
    public struct Failover: Codable, Sendable, Hashable {
        public var target: ClusterID
        public var demand: Resources
        public var since: Timestamp
    }
    public internal(set) var failovers: [ClusterID: Failover] = [:]

    public init() {}

    /// Ends a failover: the target stops carrying the lost cluster's demand (failback is explicit).
    @discardableResult
    public mutating func failBack(_ cluster: ClusterID) -> Failover? { failovers.removeValue(forKey: cluster) }

    /// When a pool may be used again after launch failures, or nil if it is not backed off.
    public func backedOffUntil(_ pool: SpotPool, market: Market, settings: PlannerSettings) -> Timestamp? {
        guard let r = poolFailures[PoolKey(pool: pool, market: market)] else { return nil }
        return r.lastAt + backoff(count: r.count, settings: settings)
    }

    func backoff(count: Int, settings: PlannerSettings) -> Duration { Self.backoff(count: count, settings: settings) }

    /// The back-off after `count` launch failures in a row: `poolBackoff`, doubling per repeat up to the maximum.
    static func backoff(count: Int, settings: PlannerSettings) -> Duration {
        var d = settings.poolBackoff
        var i = 1
        while i < count && d < settings.poolBackoffMax {
            d = d * 2
            i += 1
        }
        return min(d, settings.poolBackoffMax)
    }

    /// Whether the pool is in an interruption storm (it gets no new capacity).
    public func isStorming(_ pool: SpotPool) -> Bool { storming.contains(pool) }

    /// The pools in an interruption storm.
    public var stormingPools: Set<SpotPool> { storming }

    /// Each pool's monthly interruption risk measured from the notices the agents reported (the planner's
    /// `interruptionRisk` input): every pool with history, blended with `defaultInterruptionRisk` worth a
    /// node-week of exposure (`measuredRiskPriorNodeHours`), so one notice in a pool run for a few hours does not
    /// condemn it, and a day of calm over many nodes brings a pool under the default.
    public func measuredInterruptionRisk(now: Timestamp, settings: PlannerSettings) -> [SpotPool: Double] {
        var risk: [SpotPool: Double] = [:]
        risk.reserveCapacity(poolRates.count)
        for (pool, rate) in poolRates {
            risk[pool] = rate.monthlyRisk(
                now: now,
                settings: settings.storm,
                prior: settings.defaultInterruptionRisk,
                priorNodeHours: Self.measuredRiskPriorNodeHours
            )
        }
        return risk
    }

    /// What the default risk is worth in the measured risk, in node-hours of exposure (a node-week).
    public static let measuredRiskPriorNodeHours = 168.0

    /// The pool's interruption history, or nil if it has none worth keeping.
    public func interruptionRate(_ pool: SpotPool) -> PoolInterruptionRate? { poolRates[pool] }
}
