// Rule 6, safe scale-down: which nodes are unneeded, for how long, and which of them drain now.

extension FleetPlanner {
    /// Rule 6, before rule 2 since it decides which nodes stay: only with fresh metrics (utilisation and every
    /// custom metric), and only when capacity covers the requirement and the nodes the custom metrics ask for, or
    /// the cluster is over `maxNodes`; otherwise the unneeded timers start over.
    func scaleDown(
        _ w: inout ClusterWork,
        shortfall: Resources,
        leaving: Int,
        state: inout PlannerState,
        now: Timestamp,
        cycle: inout CycleTables
    ) {
        let overMax = w.active.count > w.policy.maxNodes
        let stale = w.report.metricsStale || w.sizing.staleMetric != nil
        let covered = shortfall.isZero && w.active.count >= w.sizing.metricNodes
        if !stale && (covered || overMax) {
            selectDrains(
                &w,
                leaving: leaving,
                overMax: overMax,
                state: &state,
                now: now,
                activeNodes: cycle.activeNodes,
                scratch: &cycle.scratch
            )
        } else {
            state.unneededSince[w.report.clusterID] = nil
            if w.report.metricsStale && covered { w.reasons.append("metrics are stale: no scale-down") }
            if let metric = w.sizing.staleMetric, covered {
                w.reasons.append("custom metric '\(metric.name)' is stale: no scale-down")
            }
        }
    }

    func selectDrains(
        _ w: inout ClusterWork,
        leaving: Int,
        overMax: Bool,
        state: inout PlannerState,
        now: Timestamp,
        activeNodes: [ActiveNode],
        scratch: inout PlanScratch
    ) {
        let policy = w.policy
        let cluster = w.report.clusterID
        // Pass A: which nodes are unneeded at all (for the timers).
        let unneeded = greedyRemovals(w, among: nil, overMax: overMax, activeNodes: activeNodes, scratch: &scratch)
        let floor = w.sizing.removalFloor(policy)
        if !overMax, let metric = w.sizing.metric, floor > policy.minNodes, w.active.count - unneeded.count == floor {
            w.reasons.append(
                "custom metric \(metric.describedForReason) needs \(w.sizing.metricNodes) nodes: none removed below that"
            )
        }
        // One hash lookup per cluster: the slot found here is read now and written back below.
        let slot = state.unneededSince.index(forKey: cluster)
        let previous = slot.map { state.unneededSince.values[$0] } ?? []
        // Lists are short; a dictionary only pays off for large ones.
        let lookup: [String: Timestamp]? =
            previous.count > 32 ? Dictionary(previous.map { ($0.name, $0.since) }, uniquingKeysWith: min) : nil
        var sinceOf = scratch.sinceOf.lend(filledWith: now, count: w.active.count)
        defer { scratch.sinceOf = sinceOf }
        var next: [PlannerState.UnneededNode] = []
        next.reserveCapacity(unneeded.count)
        for j in unneeded {
            let name = w.report.nodes[w.active[j]].name
            let since = lookup.map { $0[name] ?? now } ?? (previous.first { $0.name == name }?.since ?? now)
            sinceOf[j] = since
            next.append(PlannerState.UnneededNode(name: name, since: since))
        }
        if let slot {
            if next.isEmpty {
                state.unneededSince.remove(at: slot)
            } else {
                state.unneededSince.values[slot] = next
            }
        } else if !next.isEmpty {
            state.unneededSince[cluster] = next
        }
        guard !unneeded.isEmpty else { return }

        if !overMax, let up = state.lastScaleUpAt[cluster], now - up < policy.scaleDownDelayAfterAdd {
            w.reasons.append(
                "\(unneeded.count) node(s) unneeded, but the cluster grew at \(up): no removal within \(Int(policy.scaleDownDelayAfterAdd.seconds / 60)) min"
            )
            return
        }
        // Pass B: among the nodes unneeded long enough, the removals that are safe together, in preference order.
        var ripe = scratch.flags.lend(filledWith: false, count: w.active.count)
        defer { scratch.flags = ripe }
        var ripeCount = 0
        for j in unneeded where overMax || now - sinceOf[j] >= policy.scaleDownUnneeded {
            ripe[j] = true
            ripeCount += 1
        }
        if ripeCount < unneeded.count {
            w.reasons.append(
                "\(unneeded.count - ripeCount) node(s) unneeded for less than \(Int(policy.scaleDownUnneeded.seconds / 60)) min: kept for now"
            )
        }
        guard ripeCount > 0 else { return }
        // When every unneeded node is ripe, pass B would repeat pass A's choices exactly (each was the best of a
        // superset), so its order is reused.
        let order =
            ripeCount == unneeded.count
            ? unneeded : greedyRemovals(w, among: ripe, overMax: overMax, activeNodes: activeNodes, scratch: &scratch)

        // Disruption budget, eviction cap and the minimum saving of a consolidation.
        let disruption =
            policy.disruptionBudget > 0 ? max(1, Int(Double(w.active.count + leaving) * policy.disruptionBudget)) : 0
        let room = max(0, disruption - leaving)
        let evictedLastHour = (state.evictions[cluster] ?? []).reduce(0) {
            now - $1.at <= .seconds(3_600) ? $0 + $1.pods : $0
        }
        var evictionRoom = policy.maxEvictionsPerHour - evictedLastHour
        var chosen: [Int] = []
        var savingNonEmpty = 0.0
        for j in order {
            if chosen.count >= room {
                w.reasons.append(
                    "disruption budget: at most \(disruption) node(s) draining at once (\(leaving) already leaving)"
                )
                break
            }
            let n = w.report.nodes[w.active[j]]
            if n.podCount > 0 {
                if n.podCount > evictionRoom {
                    w.reasons.append(
                        "eviction cap: \(policy.maxEvictionsPerHour) pods per hour, \(evictedLastHour) evicted in the last hour"
                    )
                    break
                }
                evictionRoom -= n.podCount
                savingNonEmpty += activeNodes[w.activeStart + j].usdPerHour
            }
            chosen.append(j)
        }
        // A consolidation that evicts pods must pay for the disruption (overMax is a cap, not a saving). What it
        // pays with is the whole surplus found safe to remove, not this round's share of it: the disruption budget
        // spreads that surplus over several rounds, and judged round by round a budget of 10 % of the nodes could
        // never reach a saving of 10 % of the cost, so a cluster twice too big would stay so.
        var surplusSaving = 0.0
        for j in order where w.report.nodes[w.active[j]].podCount > 0 {
            surplusSaving += activeNodes[w.activeStart + j].usdPerHour
        }
        if !overMax && savingNonEmpty > 0 && surplusSaving < policy.minConsolidationSaving * w.keptCost {
            if let firstBusy = chosen.firstIndex(where: { w.report.nodes[w.active[$0]].podCount > 0 }) {
                w.reasons.append(
                    "consolidation would save \(usd(surplusSaving))/h, under \(Int((policy.minConsolidationSaving * 100).rounded())) % of the cluster's \(usd(w.keptCost))/h: busy nodes kept"
                )
                chosen.removeSubrange(firstBusy...)
            }
        }
        w.drains = chosen
        // Empty nodes found unneeded together share one reason text, built once.
        var emptyReason: (since: Timestamp, text: String)?
        w.drainReasons = chosen.map { j in
            let podCount = w.report.nodes[w.active[j]].podCount
            if overMax {
                return "over max \(policy.maxNodes) nodes; its \(podCount) pod(s) fit on the nodes that stay"
            }
            guard podCount == 0 else {
                return
                    "unneeded since \(sinceOf[j]); its \(podCount) pod(s) fit on the nodes that stay; \(usd(activeNodes[w.activeStart + j].usdPerHour))/h, the costliest per unit of capacity"
            }
            if let emptyReason, emptyReason.since == sinceOf[j] { return emptyReason.text }
            let text = "empty and unneeded since \(sinceOf[j])"
            emptyReason = (sinceOf[j], text)
            return text
        }
    }

    /// Removes nodes one at a time while capacity stays at or above the requirement (or while over max), floors
    /// and the nodes the custom metrics ask for hold, the removed node's pods fit in the free space of the nodes that stay, and the zone spread and spot
    /// mix do not get worse than one node off. Preference: most-loaded zone, then empty nodes, then the costliest
    /// per unit of capacity. Returns indices into `w.active`, in removal order.
    func greedyRemovals(
        _ w: borrowing ClusterWork,
        among allowedSet: [Bool]?,
        overMax: Bool,
        activeNodes: [ActiveNode],
        scratch: inout PlanScratch
    ) -> [Int] {
        let policy = w.policy
        let nodes = w.report.nodes
        let required = w.sizing.required
        var count = w.active.count
        var capacity = w.capacity
        var free = Resources.zero
        var zoneCount = scratch.zoneCount.lend(filledWith: 0, count: w.zones.count)
        defer { scratch.zoneCount = zoneCount }
        var od = 0
        var spot = 0
        var candidates = scratch.candidates.lend()
        defer { scratch.candidates = candidates }
        for (j, i) in w.active.enumerated() {
            let alloc = nodes[i].allocatable
            let req = nodes[i].requested
            free += alloc - req
            let zone = activeNodes[w.activeStart + j].zone
            if zone >= 0 { zoneCount[zone] += 1 }
            let isSpot = nodes[i].market == .spot
            if isSpot { spot += 1 } else { od += 1 }
            if nodes[i].state == .ready && !nodes[i].hasDrainBlockingPods && (allowedSet?[j] ?? true) {
                let units =
                    Double(alloc.cpuMillicores) / 1000 + Double(alloc.memoryBytes) / Double(4 * Resources.gibibyte)
                candidates.append(
                    RemovalCandidate(
                        j: j,
                        allocatable: alloc,
                        requested: req,
                        spot: isSpot,
                        empty: nodes[i].podCount == 0,
                        zone: zone,
                        unitCost: activeNodes[w.activeStart + j].usdPerHour / max(1e-9, units)
                    )
                )
            }
        }
        guard !candidates.isEmpty else { return [] }
        func spotDeviation(spot: Int, total: Int) -> Int {
            let base = min(policy.onDemandBase, total)
            let target = total > base ? Int((Double(total - base) * policy.targetSpotShare).rounded()) : 0
            return abs(spot - target)
        }
        /// The zone spread (most minus least loaded) with one node taken from zone `minus` (or none).
        func spread(minus: Int) -> Int {
            var hi = Int.min
            var lo = Int.max
            for (z, c) in zoneCount.enumerated() {
                let v = z == minus ? c - 1 : c
                hi = max(hi, v)
                lo = min(lo, v)
            }
            return zoneCount.isEmpty ? 0 : hi - lo
        }
        var removed: [Int] = []
        let floor = w.sizing.removalFloor(policy)
        while !(overMax && count <= policy.maxNodes) && count - 1 >= floor {
            var best: Int? = nil
            var bestKey: (Int, Int, Double) = (0, 0, 0)
            let spreadNow = max(1, spread(minus: -1))
            let deviationNow = max(1, spotDeviation(spot: spot, total: count))
            let odFloorAfter = min(policy.onDemandBase, count - 1)
            for ci in candidates.indices where !candidates[ci].taken {
                let c = candidates[ci]
                if !overMax && !required.fits(in: capacity - c.allocatable) { continue }
                // The node's pods must fit in what the other staying nodes have free.
                if !c.requested.fits(in: free - (c.allocatable - c.requested)) { continue }
                if !c.spot && od - 1 < odFloorAfter { continue }
                if c.zone >= 0 && spread(minus: c.zone) > spreadNow { continue }
                if spotDeviation(spot: c.spot ? spot - 1 : spot, total: count - 1) > deviationNow { continue }
                let key = (c.zone >= 0 ? zoneCount[c.zone] : 0, c.empty ? 1 : 0, c.unitCost)
                if best == nil || key > bestKey {
                    best = ci
                    bestKey = key
                }
            }
            guard let ci = best else { break }
            candidates[ci].taken = true
            let c = candidates[ci]
            removed.append(c.j)
            count -= 1
            capacity -= c.allocatable
            free -= c.allocatable
            if c.zone >= 0 { zoneCount[c.zone] -= 1 }
            if c.spot { spot -= 1 } else { od -= 1 }
        }
        return removed
    }
}

/// A node scale-down may remove, as plain values, so the quadratic loop of `greedyRemovals` touches no strings or
/// reference counts.
struct RemovalCandidate {
    var j: Int
    var allocatable: Resources
    var requested: Resources
    var spot: Bool
    var empty: Bool
    var zone: Int
    var unitCost: Double
    var taken = false
}
