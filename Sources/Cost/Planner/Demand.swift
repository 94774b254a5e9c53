// One cluster: demand, floors and caps, and the launches they want.

extension FleetPlanner {
    func planCluster(
        _ w: inout ClusterWork,
        offers: RegionOffers,
        input: PlannerInput,
        forecast: Resources?,
        extraDemand: Resources?,
        state: inout PlannerState,
        spotNodes: inout SpotNodeCounts,
        activeNodes: inout [ActiveNode],
        scratch: inout PlanScratch
    ) {
        let report = w.report
        let policy = w.policy
        let now = input.now
        let nodes = report.nodes

        // Nodes: the active ones count as capacity; interrupted ones are on their way out.
        var interrupted: Set<String> = []
        if !report.notices.isEmpty {
            for n in report.notices where n.kind == .interruption { interrupted.insert(n.nodeName) }
        }
        var requested = report.pending.totalRequests
        var capacity = Resources.zero
        var leaving = 0
        let names = w.offerNames
        let spotTables = w.zoneSpotPrices
        w.active.reserveCapacity(nodes.count)
        w.activeStart = activeNodes.count
        // The zones are needed per node below (each node's zone is looked up once here, not in every later pass).
        w.zones =
            (policy.allowedZones.isEmpty
                ? report.availabilityZones : report.availabilityZones.filter { policy.allowedZones.contains($0) })
        if w.zones.isEmpty { w.zones = report.availabilityZones }
        let zones = w.zones
        // The spot price tables follow the reported zones; when the cluster may use all of them (the usual case)
        // one scan of the zone names serves both.
        let zonesAreReported = zones == report.availabilityZones
        var typeMemo = scratch.typeMemo.lend()
        defer { scratch.typeMemo = typeMemo }
        // A silent cluster's nodes may be gone and its interruptions would not be seen: no exposure from them.
        let exposed = w.status != .lost && w.status != .regionFailed
        // Indexing rather than iterating: the iterator would copy every node record.
        for i in nodes.indices {
            requested += nodes[i].requested
            // The state alone, not `isActive` on the record: calling that copies the whole node record.
            if nodes[i].state.isActive && (interrupted.isEmpty || !interrupted.contains(nodes[i].name)) {
                w.active.append(i)
                capacity += nodes[i].allocatable
                // Clusters run few types: remember where each sits in the offer list.
                let type = nodes[i].instanceType
                var t = typeMemo.first { $0.type == type }?.index
                if t == nil, let found = names.firstIndex(of: type) {
                    t = found
                    typeMemo.append((type, found))
                }
                let market = nodes[i].market
                let reportedZone = report.availabilityZones.firstIndex(of: nodes[i].availabilityZone)
                let zoneIndex = zonesAreReported ? reportedZone : zones.firstIndex(of: nodes[i].availabilityZone)
                var z: Int? = nil
                if market == .spot {
                    z = reportedZone
                    if exposed {
                        if let t, let z {
                            spotNodes.counts[w.zoneSlots[z]][t] += 1
                        } else {
                            spotNodes.others[
                                SpotPool(
                                    region: report.region,
                                    availabilityZone: nodes[i].availabilityZone,
                                    instanceType: type
                                ),
                                default: 0
                            ] += 1
                        }
                    }
                }
                let hourly = price(
                    type: type,
                    typeIndex: t,
                    zoneIndex: z,
                    market: market,
                    zone: nodes[i].availabilityZone,
                    region: report.region,
                    names: names,
                    spotTables: spotTables,
                    offers: offers,
                    input: input
                )
                activeNodes.append(ActiveNode(usdPerHour: hourly, zone: zoneIndex ?? -1, offer: t ?? -1))
            } else {
                leaving += 1
            }
        }
        w.capacity = capacity
        w.keptCost = activeNodes[w.activeStart...].reduce(0) { $0 + $1.usdPerHour }

        guard w.status == .planned else {
            if w.status == .paused { w.reasons.append("paused by the operator: no changes") }
            return
        }

        // Rule 1: demand, the larger of now and the forecast one lead time ahead, over the target utilisation.
        var demand = requested
        if let forecast, !forecast.fits(in: requested) {
            demand = requested.componentMax(forecast)
            w.reasons.append("forecast for the next lead time (\(forecast)) exceeds current requests (\(requested))")
        }
        if let extraDemand { demand += extraDemand }
        w.demand = demand
        var required = demand.scaled(by: 1 / policy.targetUtilisation)
        var headroomNodes = 0
        switch policy.warmHeadroom {
        case .none: break
        case .nodes(let n): headroomNodes = n
        case .shareOfDemand(let s): required = required.scaled(by: 1 + s)
        }
        w.required = required

        // Instance types the cluster may launch, and the one that covers the short dimension most cheaply.
        let allowed = policy.allowedInstanceTypes
        var eligible = allowed.isEmpty ? offers.standard : offers.all.filter { allowed.contains($0.spec.name) }
        let largest = report.pending.largestRequest
        if !largest.isZero {
            let fitting = eligible.filter { largest.fits(in: $0.allocatable) }
            if fitting.isEmpty {
                w.reasons.append("the largest pending pod (\(largest)) fits no allowed instance type; it stays pending")
            } else {
                eligible = fitting
            }
        }
        w.eligible = eligible
        // Spare nodes are capacity on top of the requirement (not extra launches every cycle): counted in
        // nodes of the cheapest type per vCPU, so they are also kept by scale-down.
        if headroomNodes > 0, let unit = cheapestPerUnit(eligible, memory: false) {
            required += Resources(
                cpuMillicores: unit.allocatable.cpuMillicores * headroomNodes,
                memoryBytes: unit.allocatable.memoryBytes * headroomNodes
            )
            w.required = required
            w.reasons.append(
                "warm headroom: capacity for \(headroomNodes) spare \(unit.spec.name) node(s) on top of demand"
            )
        }

        let shortfall = Resources(
            cpuMillicores: max(0, required.cpuMillicores - capacity.cpuMillicores),
            memoryBytes: max(0, required.memoryBytes - capacity.memoryBytes)
        )
        // The short dimension, comparing GiB with vCPUs at the general-purpose ratio of 4 GiB per vCPU.
        w.shortOfMemory =
            Double(shortfall.memoryBytes) / Double(4 * Resources.gibibyte) > Double(shortfall.cpuMillicores) / 1000
        w.reference =
            shortfall.isZero
            ? cheapestPerUnit(eligible, memory: false) : cheapestToCover(shortfall, eligible, memory: w.shortOfMemory)

        // Rule 6 first (it decides which nodes stay), then rule 2 on the nodes that stay.
        let overMax = w.active.count > policy.maxNodes
        if !report.metricsStale && (shortfall.isZero || overMax) {
            selectDrains(
                &w,
                leaving: leaving,
                overMax: overMax,
                state: &state,
                now: now,
                activeNodes: activeNodes,
                scratch: &scratch
            )
        } else {
            state.unneededSince[report.clusterID] = nil
            if report.metricsStale && shortfall.isZero { w.reasons.append("metrics are stale: no scale-down") }
        }
        let kept = w.active.count - w.drains.count

        var wanted = 0
        if !shortfall.isZero, let ref = w.reference {
            let byCPU =
                ref.allocatable.cpuMillicores > 0
                ? (shortfall.cpuMillicores + ref.allocatable.cpuMillicores - 1) / ref.allocatable.cpuMillicores : 0
            let byMem =
                ref.allocatable.memoryBytes > 0
                ? (shortfall.memoryBytes + ref.allocatable.memoryBytes - 1) / ref.allocatable.memoryBytes : 0
            wanted = max(byCPU, byMem)
            w.reasons.append(
                "demand \(demand) at \(Int((policy.targetUtilisation * 100).rounded())) % target needs \(required); capacity \(capacity) is short by \(shortfall): \(wanted) × \(ref.spec.name) (the cheapest allowed type to cover it that fits the largest pending pod)"
            )
        } else if !shortfall.isZero {
            w.reasons.append(
                "capacity is short by \(shortfall) but no instance type is allowed and priced in \(report.region)"
            )
        }
        // Rule 2: floors and caps.
        var target = kept + wanted
        if target > policy.maxNodes {
            w.reasons.append("cap: demand wants \(target) nodes, max is \(policy.maxNodes)")
            target = max(kept, policy.maxNodes)
        }
        if target < policy.minNodes {
            w.reasons.append("floor: min is \(policy.minNodes) nodes, \(kept) stay")
            target = policy.minNodes
        }
        if w.reference == nil && target > kept {
            w.reasons.append("cannot launch: no allowed instance type is priced in \(report.region)")
            target = kept
        }
        w.wanted = target - kept
        w.floorLaunches = max(0, min(w.wanted, policy.minNodes - kept))
        w.chosen = w.wanted
        // Notes go to a local first: passing `w` and `&w.reasons` together would copy the whole work record.
        var notes: [String] = []
        (w.launches, w.launchCost) = assignLaunches(
            w,
            count: w.wanted,
            input: input,
            state: state,
            activeNodes: activeNodes,
            notes: &notes,
            scratch: &scratch
        )
        w.reasons += notes
    }
}
