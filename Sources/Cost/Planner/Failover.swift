// Failover: a lost cluster or failed region hands its demand to a healthy target.

extension FleetPlanner {
    func assignFailovers(
        _ works: inout [ClusterWork],
        reports: [ClusterReport],
        indexOf: [ClusterID: Int],
        state: inout PlannerState,
        now: Timestamp,
        reasons: inout [String]
    ) {
        for i in works.indices where works[i].status == .lost || works[i].status == .regionFailed {
            let id = reports[i].clusterID
            let why =
                works[i].status == .lost
                ? "silent since \(reports[i].observedAt)" : "region \(reports[i].region) failed"
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
