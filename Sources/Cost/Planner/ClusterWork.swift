// The per-cluster work record of one planning cycle.

/// The planner's scratch space for one cluster during a cycle.
struct ClusterWork {
    /// The cluster's report, set when pass 2 reaches the cluster (pass 1 reads the fleet's reports in place), then
    /// read-only until `retire()`.
    var report = ClusterReport.placeholder
    let policy: ClusterPolicy
    var status: ClusterPlanStatus
    var reasons: [String] = []
    /// Indices into `report.nodes` of nodes that count as capacity.
    var active: [Int] = []
    /// Where this cluster's entries start in the cycle's array of `ActiveNode`s (one per entry of `active`, same
    /// order): what the later passes need of each active node, worked out once.
    var activeStart = 0
    var keptCost = 0.0
    var capacity = Resources.zero
    var zones: [String] = []
    /// Fresh spot prices per reported zone (same order as `report.availabilityZones`), by offer index; -1 = none.
    var zoneSpotPrices: [(zone: String, quotes: [SpotQuote])] = []
    /// The `SpotNodeCounts` slot of each reported zone (same order).
    var zoneSlots: [Int] = []
    /// Names of the region's offers, by offer index.
    var offerNames: [String] = []
    /// Rule 1's conclusions (set for planned clusters only).
    var sizing = Sizing()
    /// Indices into `active` drained by this plan, and why.
    var drains: [Int] = []
    var drainReasons: [String] = []
    /// The launches rules 2 to 5 decide (set for planned clusters only).
    var growth = Growth()

    init(policy: ClusterPolicy, status: ClusterPlanStatus) {
        self.policy = policy
        self.status = status
    }

    /// Lets go of the cluster's arrays once its plan is built, while they are still in cache. Left to the end of
    /// the cycle, releasing them walks every cluster's records again, and on a large fleet those have long left the
    /// cache by then.
    mutating func retire() {
        report = .placeholder
        reasons = []
        active = []
        zones = []
        sizing.eligible = []
        sizing.metric = nil
        sizing.staleMetric = nil
        drains = []
        drainReasons = []
        growth.launches = []
    }
}

/// What rule 1 concluded for one cluster: its demand, the capacity that needs, the types it may launch and the
/// reference type the shortfall is counted in.
struct Sizing {
    /// Requests to provide for (running and pending, forecast, failover), before the utilisation target.
    var demand = Resources.zero
    /// Capacity needed: demand over the target utilisation, plus warm headroom.
    var required = Resources.zero
    /// The types the cluster may launch that hold its largest pending pod.
    var eligible: [TypeOffer] = []
    /// The type that covers the shortfall most cheaply (or the cheapest per vCPU when nothing is short).
    var reference: TypeOffer?
    /// Memory, not CPU, is the short dimension (GiB against vCPUs at 4 GiB per vCPU).
    var shortOfMemory = false
    /// Workers the fresh custom metrics ask for (the largest `ceil(value / targetPerNode)`), 0 with none.
    var metricNodes = 0
    /// The custom metric that asks for `metricNodes`.
    var metric: CustomMetricReport?
    /// A custom metric is stale: no scale-down.
    var staleMetric: CustomMetricReport?

    /// The fewest nodes scale-down may leave: the floor, or what the custom metrics ask for within the cap.
    func removalFloor(_ policy: ClusterPolicy) -> Int {
        max(policy.minNodes, min(metricNodes, policy.maxNodes))
    }
}

/// One cluster's growth: the launches rule 2 wants, the part a floor forces, how many of them rule 3 funds, and the
/// launches rules 4 and 5 place for that count with their cost.
struct Growth {
    /// New nodes wanted before the budget.
    var wanted = 0
    /// The part of `wanted` a floor forces (the budget always funds it).
    var floorLaunches = 0
    /// New nodes funded (`wanted` until the budget cuts it).
    var chosen = 0
    /// Hourly cost of the floor launches alone, worked out when a squeeze needs it.
    var floorCost = 0.0
    /// The launches for `chosen` nodes, and their hourly cost.
    var launches: [LaunchOrder] = []
    var launchCost = 0.0
    /// Hourly cost of the wanted nodes the budget did not fund.
    var unfundedUSD = 0.0
}

extension ClusterReport {
    /// Stands in for a report in a work record before pass 2 and after `retire()`: empty lists, nothing to release.
    static let placeholder = ClusterReport(
        clusterID: "",
        region: "",
        availabilityZones: [],
        nodes: [],
        observedAt: Timestamp(sinceEpoch: .zero)
    )
}

/// An active node's price and where it sits in the cluster's zones and the region's offers, so scale-down and
/// launch placement compare small integers instead of strings for every node.
struct ActiveNode {
    var usdPerHour: Double
    /// Index into `ClusterWork.zones`, or -1 when the node's zone is not one the cluster may use.
    var zone: Int
    /// Index into the region's offers, or -1 when its type is not priced there.
    var offer: Int
}
