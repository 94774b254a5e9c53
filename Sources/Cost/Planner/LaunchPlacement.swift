// Markets, pools and zones for new nodes.

extension FleetPlanner {
    /// Rules 4 and 5 for the launches the cluster wants: markets, pools and zones, and what they cost.
    func launchWanted(_ w: inout ClusterWork, input: PlannerInput, state: PlannerState, cycle: inout CycleTables) {
        // Notes go to a local first: passing `w` and `&w.reasons` together would copy the whole work record.
        var notes: [String] = []
        (w.launches, w.launchCost) = assignLaunches(
            w,
            count: w.wanted,
            input: input,
            state: state,
            activeNodes: cycle.activeNodes,
            notes: &notes,
            scratch: &cycle.scratch
        )
        w.reasons += notes
    }

    func assignLaunches(
        _ w: borrowing ClusterWork,
        count k: Int,
        input: PlannerInput,
        state: PlannerState,
        activeNodes: [ActiveNode],
        notes: inout [String],
        scratch: inout PlanScratch
    ) -> ([LaunchOrder], Double) {
        guard k > 0, let ref = w.reference else { return ([], 0) }
        let report = w.report
        let policy = w.policy
        let now = input.now
        let nodes = report.nodes
        var zoneCount = scratch.zoneCount.lend(filledWith: 0, count: w.zones.count)
        defer { scratch.zoneCount = zoneCount }
        var od = 0
        var spot = 0
        // Spot nodes per pool (zone × offer index), for spreading spot over several pools.
        let offerCount = w.offerNames.count
        var poolUse = scratch.poolUse.lend(filledWith: 0, count: w.zones.count * max(1, offerCount))
        defer { scratch.poolUse = poolUse }
        var drained = scratch.flags.lend(filledWith: false, count: w.active.count)
        defer { scratch.flags = drained }
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
        let total = od + spot + k
        let base = min(policy.onDemandBase, total)
        let odNeeded = min(k, max(0, base - od))
        let desiredSpot = total > base ? Int((Double(total - base) * policy.targetSpotShare).rounded()) : 0
        let spotSlots = min(k - odNeeded, max(0, desiredSpot - spot))
        // Only types at least as large as the reference in both dimensions, so `k` nodes still cover the shortfall.
        let substitutes = w.eligible.filter { ref.allocatable.fits(in: $0.allocatable) }
        // Pool-level state is usually empty: skip building pool keys then.
        let checkPools = !state.storming.isEmpty || !state.poolFailures.isEmpty || !input.interruptionRisk.isEmpty

        // A cluster's launches fall in a few groups: a short list searched in place costs less than hashing
        // three strings per new node. Each group keeps the price of its first node.
        var orders: [(group: NodeGroup, count: Int, price: Double)] = []
        var cost = 0.0
        var spotFallback = 0
        var spotTotal = spot
        var zoneOrder = Array(w.zones.indices)
        for slot in 0..<k {
            // Zones by load, least first (ties by name): an insertion sort in place, as there are only a few.
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
                    let prices = w.zoneSpotPrices[zi].quotes
                    var best: (TypeOffer, Double, Double)? = nil
                    for o in substitutes {
                        let quote = prices[o.index]
                        guard quote.fresh else { continue }
                        let price = quote.usdPerHour
                        var risk = settings.defaultInterruptionRisk
                        if checkPools {
                            let pool = SpotPool(
                                region: report.region,
                                availabilityZone: zone,
                                instanceType: o.spec.name
                            )
                            if !state.storming.isEmpty && state.storming.contains(pool) { continue }
                            if let until = state.backedOffUntil(pool, market: .spot, settings: settings), until > now {
                                continue
                            }
                            risk = input.interruptionRisk[pool] ?? risk
                        }
                        let share = spotTotal > 0 ? Double(poolUse[z * offerCount + o.index]) / Double(spotTotal) : 0
                        let score =
                            price / o.units(memory: w.shortOfMemory) * (1 + settings.riskWeight * risk)
                            * (1 + settings.poolConcentrationPenalty * share)
                        // Ties (sizes of one family cost the same per unit) go to the smaller type.
                        if best == nil || score < best!.2 * (1 - 1e-9)
                            || (score <= best!.2 * (1 + 1e-9)
                                && o.allocatable.cpuMillicores < best!.0.allocatable.cpuMillicores)
                        {
                            best = (o, price, score)
                        }
                    }
                    if let best {
                        placed = (
                            NodeGroup(instanceType: best.0.spec.name, market: .spot, availabilityZone: zone), best.1, z
                        )
                        offerIndex = best.0.index
                        break
                    }
                }
                if placed == nil { spotFallback += 1 }
            }
            if placed == nil {
                // On-demand: the reference type, or the next cheapest per unit where it is backed off.
                for z in zoneOrder {
                    let zone = w.zones[z]
                    let usable =
                        !checkPools
                        ? substitutes
                        : substitutes.filter { o in
                            let pool = SpotPool(
                                region: report.region,
                                availabilityZone: zone,
                                instanceType: o.spec.name
                            )
                            if let until = state.backedOffUntil(pool, market: .onDemand, settings: settings),
                                until > now
                            {
                                return false
                            }
                            return true
                        }
                    if let o = cheapestPerUnit(usable, memory: w.shortOfMemory) {
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
