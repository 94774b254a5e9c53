// Rule 1 (demand: requests, measured use or forecast, over the target utilisation, the nodes the custom metrics ask
// for, and the instance types that can cover it) and rule 2 (floors and caps on the node count).

extension FleetPlanner {
    /// Rule 1: the cluster's demand (the largest of its requests, its measured use and the forecast one lead time
    /// ahead, plus what it carries for lost clusters), the capacity that needs at the target utilisation with warm
    /// headroom, the nodes its fresh custom metrics ask for, the types it may launch and the one that covers the
    /// short dimension most cheaply. Returns what capacity lacks.
    ///
    /// - Parameter measured: allocatable of the nodes the reported utilisation is measured over.
    func demand(
        _ w: inout ClusterWork,
        offers: RegionOffers,
        requested: Resources,
        measured: Resources,
        forecast: Resources?,
        failoverDemand: Resources?
    ) -> Resources {
        let policy = w.policy
        var demand = requested
        // Measured use (utilisation × allocatable) above the requests: pods using more than they asked for. Stale
        // utilisation is an old figure, not a reason to buy capacity.
        if !w.report.metricsStale {
            let used = w.report.utilisation.share(of: measured)
            if !used.fits(in: requested) {
                demand = requested.componentMax(used)
                w.reasons.append("measured use (\(used)) exceeds requests (\(requested))")
            }
        }
        if let forecast, !forecast.fits(in: demand) {
            demand = demand.componentMax(forecast)
            w.reasons.append("forecast for the next lead time (\(forecast)) exceeds current requests (\(requested))")
        }
        customMetricNodes(&w)
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

    /// Rule 1's custom term: the largest `ceil(value / targetPerNode)` of the fresh custom metrics, KEDA style. A
    /// stale one asks for nothing (its value is an old one) and, as stale utilisation does, stops scale-down.
    func customMetricNodes(_ w: inout ClusterWork) {
        let metrics = w.report.customMetrics
        guard !metrics.isEmpty else { return }
        for metric in metrics {
            if metric.stale {
                if w.sizing.staleMetric == nil { w.sizing.staleMetric = metric }
                continue
            }
            guard let nodes = metric.nodesWanted else {
                w.reasons.append(
                    "custom metric '\(metric.name)' = \(metric.value) at \(metric.targetPerNode) per node gives no node count: ignored"
                )
                continue
            }
            if nodes > w.sizing.metricNodes {
                w.sizing.metricNodes = nodes
                w.sizing.metric = metric
            }
        }
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
        if w.sizing.metricNodes > target, let metric = w.sizing.metric {
            w.reasons.append(
                "custom metric \(metric.describedForReason) needs \(w.sizing.metricNodes) nodes, more than requests and use (\(target)): \(w.sizing.metricNodes - target) more\(w.sizing.reference.map { " × \($0.spec.name)" } ?? "")"
            )
            target = w.sizing.metricNodes
        }
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
