// Emitting the plan: each cluster's work record becomes its ClusterPlan, and the state learns what was decided.

extension FleetPlanner {
    func finish(
        _ w: inout ClusterWork,
        state: inout PlannerState,
        now: Timestamp,
        activeNodes: [ActiveNode],
        scratch: inout PlanScratch
    ) -> ClusterPlan {
        // The plan takes the record's arrays over instead of sharing them (the record is retired next): sharing
        // would write each one's reference count, and on a large fleet their storage has long left the cache by
        // the time pass 4 comes back to the cluster.
        let nodes = w.report.nodes.take()
        let cluster = w.report.clusterID
        var kept: [Int]
        var keptCost = 0.0
        if w.drains.isEmpty {
            kept = w.active.take()  // nothing to copy when nothing drains
            keptCost = w.keptCost
        } else {
            var drained = scratch.flags.lend(filledWith: false, count: w.active.count)
            defer { scratch.flags = drained }
            for j in w.drains { drained[j] = true }
            kept = []
            kept.reserveCapacity(w.active.count)
            for (j, i) in w.active.enumerated() where !drained[j] {
                kept.append(i)
                keptCost += activeNodes[w.activeStart + j].usdPerHour
            }
        }
        var drains: [DrainOrder] = []
        var evicted = 0
        for (k, j) in w.drains.enumerated() {
            let n = nodes[w.active[j]]
            drains.append(
                DrainOrder(
                    cluster: cluster,
                    nodeName: n.name,
                    instanceID: n.instanceID,
                    usdPerHour: activeNodes[w.activeStart + j].usdPerHour,
                    reason: w.drainReasons[k]
                )
            )
            evicted += n.podCount
        }
        // Drained nodes leave the unneeded list (one lookup per cluster, not per drain).
        if !drains.isEmpty, let slot = state.unneededSince.index(forKey: cluster) {
            state.unneededSince.values[slot].removeAll { u in drains.contains { $0.nodeName == u.name } }
        }
        if evicted > 0 {
            var log = (state.evictions[cluster] ?? []).filter { now - $0.at <= .seconds(3_600) }
            log.append(PlannerState.Eviction(at: now, pods: evicted))
            state.evictions[cluster] = log
        }
        let launches = w.launches.take()
        if !launches.isEmpty { state.lastScaleUpAt[cluster] = now }
        if w.status == .planned && launches.isEmpty && drains.isEmpty && w.reasons.isEmpty {
            w.reasons.append("steady: capacity covers demand at the target utilisation")
        }
        let floorCost = w.floorLaunches > 0 ? w.floorCost : 0
        return ClusterPlan(
            cluster: cluster,
            region: w.report.region,
            status: w.status,
            priorityClass: w.policy.priorityClass,
            demand: w.demand,
            requiredCapacity: w.required,
            reportedNodes: nodes,
            keptNodeIndices: kept,
            launches: launches,
            drains: drains,
            unfundedNodes: w.wanted - w.chosen,
            unfundedUSDPerHour: w.unfundedUSD,
            plannedUSDPerHour: keptCost + w.launchCost,
            forcedUSDPerHour: keptCost + floorCost,
            reasons: w.reasons.take()
        )
    }
}
