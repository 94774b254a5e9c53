// Rule 1 (demand: requests or forecast, over the target utilisation, and the instance types that can cover it) and
// rule 2 (floors and caps on the node count).

extension FleetPlanner {
    /// Rule 1: the cluster's demand (the larger of now and the forecast one lead time ahead, plus what it carries
    /// for lost clusters), the capacity that needs at the target utilisation with warm headroom, the types it may
    /// launch and the one that covers the short dimension most cheaply. Returns what capacity lacks.
    func demand(
        _ w: inout ClusterWork,
        offers: RegionOffers,
        requested: Resources,
        forecast: Resources?,
        failoverDemand: Resources?
    ) -> Resources {
        let policy = w.policy
        var demand = requested
        if let forecast, !forecast.fits(in: requested) {
            demand = requested.componentMax(forecast)
            w.reasons.append("forecast for the next lead time (\(forecast)) exceeds current requests (\(requested))")
        }
        if let failoverDemand { demand += failoverDemand }
        w.sizing.demand = demand
        var required = demand.scaled(by: 1 / policy.targetUtilisation)
        var headroomNodes = 0
        switch policy.warmHeadroom {
        case .none: break
        case .nodes(let n): headroomNodes = n
        case .shareOfDemand(let s): required = required.scaled(by: 1 + s)
        }
        w.sizing.required = required

        // Instance types the cluster may launch, and the one that covers the short dimension most cheaply.
        let allowed = policy.allowedInstanceTypes
        var eligible = allowed.isEmpty ? offers.standard : offers.all.filter { allowed.contains($0.spec.name) }
        let largest = w.report.pending.largestRequest
        if !largest.isZero {
            let fitting = eligible.filter { largest.fits(in: $0.allocatable) }
            if fitting.isEmpty {
                w.reasons.append("the largest pending pod (\(largest)) fits no allowed instance type; it stays pending")
            } else {
                eligible = fitting
            }
        }
        w.sizing.eligible = eligible
        // Spare nodes are capacity on top of the requirement (not extra launches every cycle): counted in
        // nodes of the cheapest type per vCPU, so they are also kept by scale-down.
        if headroomNodes > 0, let unit = TypeOffer.cheapestPerUnit(eligible, memory: false) {
            required += Resources(
                cpuMillicores: unit.allocatable.cpuMillicores * headroomNodes,
                memoryBytes: unit.allocatable.memoryBytes * headroomNodes
            )
            w.sizing.required = required
            w.reasons.append(
                "warm headroom: capacity for \(headroomNodes) spare \(unit.spec.name) node(s) on top of demand"
            )
        }

        let capacity = w.capacity
        let shortfall = Resources(
            cpuMillicores: max(0, required.cpuMillicores - capacity.cpuMillicores),
            memoryBytes: max(0, required.memoryBytes - capacity.memoryBytes)
        )
        // The short dimension, comparing GiB with vCPUs at the general-purpose ratio of 4 GiB per vCPU.
        w.sizing.shortOfMemory =
            Double(shortfall.memoryBytes) / Double(4 * Resources.gibibyte) > Double(shortfall.cpuMillicores) / 1000
        w.sizing.reference =
            shortfall.isZero
            ? TypeOffer.cheapestPerUnit(eligible, memory: false)
            : TypeOffer.cheapestToCover(shortfall, eligible, memory: w.sizing.shortOfMemory)
        return shortfall
    }

    /// Rule 2, on the nodes that stay after rule 6: the reference nodes that cover the shortfall, clamped to
    /// `maxNodes` and raised to `minNodes`. Sets the launches wanted and the part of them a floor forces.
    func floorsAndCaps(_ w: inout ClusterWork, shortfall: Resources) {
        let policy = w.policy
        let kept = w.active.count - w.drains.count
        var wanted = 0
        if !shortfall.isZero, let ref = w.sizing.reference {
            let byCPU =
                ref.allocatable.cpuMillicores > 0
                ? (shortfall.cpuMillicores + ref.allocatable.cpuMillicores - 1) / ref.allocatable.cpuMillicores : 0
            let byMem =
                ref.allocatable.memoryBytes > 0
                ? (shortfall.memoryBytes + ref.allocatable.memoryBytes - 1) / ref.allocatable.memoryBytes : 0
            wanted = max(byCPU, byMem)
            w.reasons.append(
                "demand \(w.sizing.demand) at \(Int((policy.targetUtilisation * 100).rounded())) % target needs \(w.sizing.required); capacity \(w.capacity) is short by \(shortfall): \(wanted) × \(ref.spec.name) (the cheapest allowed type to cover it that fits the largest pending pod)"
            )
        } else if !shortfall.isZero {
            w.reasons.append(
                "capacity is short by \(shortfall) but no instance type is allowed and priced in \(w.report.region)"
            )
        }
        var target = kept + wanted
        if target > policy.maxNodes {
            w.reasons.append("cap: demand wants \(target) nodes, max is \(policy.maxNodes)")
            target = max(kept, policy.maxNodes)
        }
        if target < policy.minNodes {
            w.reasons.append("floor: min is \(policy.minNodes) nodes, \(kept) stay")
            target = policy.minNodes
        }
        if w.sizing.reference == nil && target > kept {
            w.reasons.append("cannot launch: no allowed instance type is priced in \(w.report.region)")
            target = kept
        }
        w.growth.wanted = target - kept
        w.growth.floorLaunches = max(0, min(w.growth.wanted, policy.minNodes - kept))
        w.growth.chosen = w.growth.wanted
    }
}
