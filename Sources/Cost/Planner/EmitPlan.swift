// Emitting the plan: each cluster's work record becomes its ClusterPlan, and the state learns what was decided.

extension FleetPlanner {
    /// The fleet's plan: every cluster's `ClusterPlan` in report order, the budget outcome, and the fleet reasons
    /// (with a last one when floors and nodes that cannot move put the plan over the allowance).
    func emit(
        _ works: inout [ClusterWork],
        input: PlannerInput,
        state: inout PlannerState,
        cycle: inout CycleTables,
        reasons: [String]
    ) -> FleetPlan {
        var fleetReasons = reasons
        var clusters: [ClusterPlan] = []
        clusters.reserveCapacity(works.count)
        var planned = 0.0
        var forced = 0.0
        var shortfall = 0.0
        var regionalPlanned: [String: Double] = [:]
        for i in works.indices {
            let p = finish(
                &works[i],
                state: &state,
                now: input.now,
                activeNodes: cycle.activeNodes,
                scratch: &cycle.scratch
            )
            works[i].retire()
            planned += p.plannedUSDPerHour
            forced += p.forcedUSDPerHour
            shortfall += p.unfundedUSDPerHour
            if input.allowance.regionalUSDPerHour[p.region] != nil {
                regionalPlanned[p.region, default: 0] += p.plannedUSDPerHour
            }
            clusters.append(p)
        }
        let over = planned > input.allowance.fleetUSDPerHour + 1e-9
        if over {
            fleetReasons.append(
                "budget: plan costs \(usd(planned))/h, over the allowance of \(usd(input.allowance.fleetUSDPerHour))/h, because floors and nodes whose pods cannot move cost \(usd(forced))/h"
            )
        }
        let outcome = BudgetOutcome(
            allowanceUSDPerHour: input.allowance.fleetUSDPerHour,
            plannedUSDPerHour: planned,
            forcedUSDPerHour: forced,
            shortfallUSDPerHour: shortfall,
            overAllowance: over,
            regionalAllowanceUSDPerHour: input.allowance.regionalUSDPerHour,
            regionalPlannedUSDPerHour: regionalPlanned
        )
        return FleetPlan(generation: state.generation, clusters: clusters, budget: outcome, reasons: fleetReasons)
    }

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
        let launches = w.growth.launches.take()
        if !launches.isEmpty { state.lastScaleUpAt[cluster] = now }
        if drains.contains(where: { $0.reason.hasPrefix("budget") }) { state.lastBudgetDrainAt[cluster] = now }
        if w.status == .planned && launches.isEmpty && drains.isEmpty && w.reasons.isEmpty {
            w.reasons.append("steady: capacity covers demand at the target utilisation")
        }
        let floorCost = w.growth.floorLaunches > 0 ? w.growth.floorCost : 0
        return ClusterPlan(
            cluster: cluster,
            region: w.report.region,
            status: w.status,
            priorityClass: w.policy.priorityClass,
            demand: w.sizing.demand,
            requiredCapacity: w.sizing.required,
            reportedNodes: nodes,
            keptNodeIndices: kept,
            launches: launches,
            drains: drains,
            unfundedNodes: w.growth.wanted - w.growth.chosen,
            unfundedUSDPerHour: w.growth.unfundedUSD,
            plannedUSDPerHour: keptCost + w.growth.launchCost,
            forcedUSDPerHour: keptCost + floorCost,
            reasons: w.reasons.take()
        )
    }
}
