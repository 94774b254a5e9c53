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
    var demand = Resources.zero
    var required = Resources.zero
    var zones: [String] = []
    /// Fresh spot prices per reported zone (same order as `report.availabilityZones`), by offer index; -1 = none.
    var zoneSpotPrices: [(zone: String, quotes: [SpotQuote])] = []
    /// The `SpotNodeCounts` slot of each reported zone (same order).
    var zoneSlots: [Int] = []
    /// Names of the region's offers, by offer index.
    var offerNames: [String] = []
    var eligible: [TypeOffer] = []
    var reference: TypeOffer?
    var shortOfMemory = false
    /// Indices into `active` drained by this plan, and why.
    var drains: [Int] = []
    var drainReasons: [String] = []
    /// Launches wanted before the budget, the part a floor forces, and the number funded.
    var wanted = 0
    var floorLaunches = 0
    var chosen = 0
    var floorCost = 0.0
    var launches: [LaunchOrder] = []
    var launchCost = 0.0
    var unfundedUSD = 0.0

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
        eligible = []
        drains = []
        drainReasons = []
        launches = []
    }
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
