// Rules 4 (spot mix) and 5 (placement): the market, pool and zone of every new node.

/// Places a cluster's new nodes: how many go on-demand and how many on spot (rule 4: the on-demand base, then the
/// spot share), and for each the least-loaded allowed zone with a usable pool (rule 5), choosing the pool by
/// effective price (see `cheapestSpotPool`).
///
/// One value serves a whole cycle: the planner asks it for the launches each cluster wants, and the budget squeeze
/// asks it again for every smaller count it tries. It holds what the choice reads besides the cluster (settings,
/// the pools backed off or storming, interruption risk) as of the cycle's events, and the working arrays it
/// reuses from one call to the next.
struct LaunchPlacement {
    let settings: PlannerSettings
    let now: Timestamp
    let interruptionRisk: [SpotPool: Double]
    /// Pools in an interruption storm, and pools backed off after launch failures (the cycle's events are recorded
    /// before the value is made, and nothing changes them later in the cycle).
    let storming: Set<SpotPool>
    let poolFailures: [PlannerState.PoolKey: PlannerState.FailureRecord]
    /// Pool-level state is usually empty: no pool keys are built then.
    let checkPools: Bool
    private var zoneCount: [Int] = []
    private var poolUse: [Int] = []
    private var drained: [Bool] = []

    init(input: PlannerInput, state: PlannerState, settings: PlannerSettings) {
        self.settings = settings
        now = input.now
        interruptionRisk = input.interruptionRisk
        storming = state.storming
        poolFailures = state.poolFailures
        checkPools = !state.storming.isEmpty || !state.poolFailures.isEmpty || !input.interruptionRisk.isEmpty
    }

    /// When a pool may be used again after launch failures, or nil if it is not backed off.
    func backedOffUntil(_ pool: SpotPool, market: Market) -> Timestamp? {
        guard let r = poolFailures[PlannerState.PoolKey(pool: pool, market: market)] else { return nil }
        return r.lastAt + PlannerState.backoff(count: r.count, settings: settings)
    }

    /// The launches that give the cluster `k` new nodes, grouped and sorted, and their hourly cost. Notes say when
    /// spot nodes went on-demand or no pool was usable at all.
    mutating func launches(
        _ w: borrowing ClusterWork,
        count k: Int,
        activeNodes: [ActiveNode],
        notes: inout [String]
    ) -> ([LaunchOrder], Double) {
        guard k > 0, let ref = w.sizing.reference else { return ([], 0) }
        let report = w.report
        let policy = w.policy
        let nodes = report.nodes
        var zoneCount = zoneCount.lend(filledWith: 0, count: w.zones.count)
        defer { self.zoneCount = zoneCount }
        var od = 0
        var spot = 0
        // Spot nodes per pool (zone × offer index), for spreading spot over several pools.
        let offerCount = w.offerNames.count
        var poolUse = poolUse.lend(filledWith: 0, count: w.zones.count * max(1, offerCount))
        defer { self.poolUse = poolUse }
        var drained = drained.lend(filledWith: false, count: w.active.count)
        defer { self.drained = drained }
        for j in w.drains { drained[j] = true }
        for (j, i) in w.active.enumerated() where !drained[j] {
            let a = activeNodes[w.activeStart + j]
            if a.zone >= 0 { zoneCount[a.zone] += 1 }
            if nodes[i].market == .spot {
                spot += 1
                if a.zone >= 0 && a.offer >= 0 { poolUse[a.zone * offerCount + a.offer] += 1 }
            } else {
                od += 1
            }
        }
        // Rule 4: the first `onDemandBase` nodes on-demand, then the spot share of the rest.
        let total = od + spot + k
        let base = min(policy.onDemandBase, total)
        let odNeeded = min(k, max(0, base - od))
        let desiredSpot = total > base ? Int((Double(total - base) * policy.targetSpotShare).rounded()) : 0
        let spotSlots = min(k - odNeeded, max(0, desiredSpot - spot))
        // Only types at least as large as the reference in both dimensions, so `k` nodes still cover the shortfall.
        let substitutes = w.sizing.eligible.filter { ref.allocatable.fits(in: $0.allocatable) }

        // A cluster's launches fall in a few groups: a short list searched in place costs less than hashing
        // three strings per new node. Each group keeps the price of its first node.
        var orders: [(group: NodeGroup, count: Int, price: Double)] = []
        var cost = 0.0
        var spotFallback = 0
        var spotTotal = spot
        var zoneOrder = Array(w.zones.indices)
        for slot in 0..<k {
            // Rule 5: zones by load, least first (ties by name): an insertion sort in place, as there are only a few.
            for a in 1..<max(1, zoneOrder.count) {
                var b = a
                while b > 0
                    && (zoneCount[zoneOrder[b]], w.zones[zoneOrder[b]]) < (
                        zoneCount[zoneOrder[b - 1]], w.zones[zoneOrder[b - 1]]
                    )
                {
                    zoneOrder.swapAt(b, b - 1)
                    b -= 1
                }
            }
            var placed: (NodeGroup, Double, Int)? = nil
            var offerIndex = 0
            if slot >= k - spotSlots {
                // Spot: the cheapest effective price per unit in the least-loaded zone that has a usable pool.
                for z in zoneOrder {
                    let zone = w.zones[z]
                    guard let zi = w.zoneSpotPrices.firstIndex(where: { $0.zone == zone }) else { continue }
                    if let best = cheapestSpotPool(
                        region: report.region,
                        zone: zone,
                        quotes: w.zoneSpotPrices[zi].quotes,
                        among: substitutes,
                        memory: w.sizing.shortOfMemory,
                        poolUse: poolUse,
                        poolBase: z * offerCount,
                        spotTotal: spotTotal
                    ) {
                        placed = (
                            NodeGroup(instanceType: best.offer.spec.name, market: .spot, availabilityZone: zone),
                            best.usdPerHour, z
                        )
                        offerIndex = best.offer.index
                        break
                    }
                }
                if placed == nil { spotFallback += 1 }
            }
            if placed == nil {
                // On-demand: the reference type, or the next cheapest per unit where it is backed off.
                for z in zoneOrder {
                    let zone = w.zones[z]
                    if let o = cheapestOnDemand(
                        region: report.region,
                        zone: zone,
                        among: substitutes,
                        memory: w.sizing.shortOfMemory
                    ) {
                        placed = (
                            NodeGroup(instanceType: o.spec.name, market: .onDemand, availabilityZone: zone),
                            o.onDemandUSDPerHour, z
                        )
                        offerIndex = o.index
                        break
                    }
                }
            }
            guard let (group, price, z) = placed else {
                notes.append("no usable pool in any allowed zone for \(k - slot) node(s): every one is backed off")
                break
            }
            zoneCount[z] += 1
            if group.market == .spot {
                poolUse[z * offerCount + offerIndex] += 1
                spotTotal += 1
            }
            if let o = orders.firstIndex(where: { $0.group == group }) {
                orders[o].count += 1
            } else {
                orders.append((group, 1, price))
            }
            cost += price
        }
        if spotFallback > 0 {
            notes.append(
                "\(spotFallback) spot node(s) went on-demand: no spot pool with a fresh price, outside back-off and storms"
            )
        }
        orders.sort { $0.group < $1.group }
        let launches = orders.map { o in
            LaunchOrder(cluster: report.clusterID, group: o.group, count: o.count, usdPerHourEach: o.price)
        }
        return (launches, cost)
    }
}

extension FleetPlanner {
    /// Rules 4 and 5 for the launches the cluster wants: markets, pools and zones, and what they cost.
    func launchWanted(_ w: inout ClusterWork, placement: inout LaunchPlacement, activeNodes: [ActiveNode]) {
        // Notes go to a local first: passing `w` and `&w.reasons` together would copy the whole work record.
        var notes: [String] = []
        (w.growth.launches, w.growth.launchCost) = placement.launches(
            w,
            count: w.growth.wanted,
            activeNodes: activeNodes,
            notes: &notes
        )
        w.reasons += notes
    }
}
