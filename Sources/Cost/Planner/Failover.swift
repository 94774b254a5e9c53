// Rule 7, failover: which clusters are down (silent agent, failed region), and the hand-over of their demand to a
// healthy target; also the other reasons a cluster is not planned (paused, invalid policy).

extension FleetPlanner {
    /// Each cluster's status before anything is planned: an invalid policy, a failed region, a silent agent or an
    /// operator pause each take it out of planning. Returns a work record per report (same order) and whether any
    /// cluster is down (lost or in a failed region).
    func classify(_ input: PlannerInput) -> (works: [ClusterWork], anyDown: Bool) {
        let now = input.now
        var works: [ClusterWork] = []
        works.reserveCapacity(input.reports.count)
        var anyDown = false
        // Each report's fields are read in place and the report itself reaches its work record only when the
        // cluster is planned (see `ClusterWork.report`): copying it here would touch its node list once more, and
        // on a large fleet that list has left the cache again by the time planning reads it.
        let reports = input.reports
        for r in reports.indices {
            let id = reports[r].clusterID
            var policy = input.policies[id] ?? ClusterPolicy()
            var status = ClusterPlanStatus.planned
            var policyError: CostError?
            do {
                try policy.validate(cluster: id)
            } catch {
                // Plan nothing on a policy that makes no sense; defaults keep the arithmetic below finite.
                policyError = error
                policy = ClusterPolicy()
            }
            if policyError != nil {
                status = .invalidPolicy
            } else if input.failedRegions.contains(reports[r].region) {
                status = .regionFailed
            } else if input.failedClusters.contains(reports[r].clusterID) {
                status = .failedOver
            } else if now - reports[r].observedAt > settings.clusterLostAfter {
                status = .lost
            } else if policy.paused {
                status = .paused
            }
            if status.isDown { anyDown = true }
            works.append(ClusterWork(policy: policy, status: status))
            if let policyError { works[works.count - 1].reasons.append("policy refused, no changes: \(policyError)") }
        }
        return (works, anyDown)
    }

    /// Rule 7: hands the demand of each cluster that is down to its first healthy failover target (once; the
    /// hand-over stays until `PlannerState.failBack(_:)`). Returns the demand each target carries this cycle.
    func failover(
        _ works: inout [ClusterWork],
        anyDown: Bool,
        reports: [ClusterReport],
        state: inout PlannerState,
        now: Timestamp,
        reasons: inout [String]
    ) -> [ClusterID: Resources] {
        // The cluster index is only needed when something failed over.
        var indexOf: [ClusterID: Int] = [:]
        if anyDown || !state.failovers.isEmpty {
            indexOf.reserveCapacity(works.count)
            for r in reports.indices { indexOf[reports[r].clusterID] = r }
        }
        if anyDown {
            assignFailovers(&works, reports: reports, indexOf: indexOf, state: &state, now: now, reasons: &reasons)
        }
        var carried: [ClusterID: Resources] = [:]
        for (lost, f) in state.failovers.sorted(by: { $0.key < $1.key }) {
            carried[f.target, default: .zero] += f.demand
            if let t = indexOf[f.target] {
                works[t].reasons.append("failover: carrying \(f.demand) of demand for \(lost) until it is failed back")
            }
        }
        return carried
    }

    func assignFailovers(
        _ works: inout [ClusterWork],
        reports: [ClusterReport],
        indexOf: [ClusterID: Int],
        state: inout PlannerState,
        now: Timestamp,
        reasons: inout [String]
    ) {
        for i in works.indices where works[i].status.isDown {
            let id = reports[i].clusterID
            let why =
                switch works[i].status {
                case .lost: "silent since \(reports[i].observedAt)"
                case .failedOver: "failed over by the operator"
                default: "region \(reports[i].region) failed"
                }
            if let f = state.failovers[id] {
                works[i].reasons.append("\(why); failed over to \(f.target) since \(f.since)")
                continue
            }
            guard !works[i].policy.failoverTargets.isEmpty else {
                works[i].reasons.append("\(why); no failover targets set, its demand is not moved")
                continue
            }
            let target = works[i].policy.failoverTargets.first { t in
                guard let j = indexOf[t] else { return false }
                return works[j].status == .planned
            }
            guard let target else {
                works[i].reasons.append(
                    "\(why); none of its failover targets \(works[i].policy.failoverTargets) is healthy"
                )
                reasons.append("failover of \(id) impossible: no healthy target")
                continue
            }
            let r = reports[i]
            var demand = r.pending.totalRequests
            for n in r.nodes { demand += n.requested }
            state.failovers[id] = PlannerState.Failover(target: target, demand: demand, since: now)
            works[i].reasons.append("\(why); demand \(demand) handed to \(target)")
            reasons.append("failover: \(id) (\(why)) → \(target)")
        }
    }
}
