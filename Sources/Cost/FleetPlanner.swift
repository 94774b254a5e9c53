// The fleet planner: from reports, policies, budget, prices and forecasts to desired nodes and actions.
// Rules follow SYSTEM.md §2 (Plan) in order; docs/planner.md explains each with an example.

/// Decides, for every cluster, how many nodes of which type, market and zone it should have, and the launches
/// and drains that get it there, with a reason for each decision.
///
/// Promises (checked by property tests): a plan never goes below a cluster's floor, never above a cap it could
/// meet, never above the hourly budget allowance unless floors and nodes whose pods cannot move force it (and it
/// says so), moves the spot share above the on-demand base and the zone spread toward within one node, and never
/// drains a node whose pods would not fit on the nodes that stay.
public struct FleetPlanner: Sendable {
    public var settings: PlannerSettings

    public init(settings: PlannerSettings = PlannerSettings()) { self.settings = settings }

    /// One planning cycle. `state` carries timers and back-offs between cycles and is updated in place.
    public func plan(_ input: PlannerInput, state: inout PlannerState) -> FleetPlan {
        state.generation += 1
        let now = input.now
        var fleetReasons: [String] = []
        record(events: input, state: &state, reasons: &fleetReasons)

        // Offers per region, built once per cycle: every priced type, and the default set (no burstables).
        var offersByRegion: [String: RegionOffers] = [:]
        func offers(_ region: String) -> RegionOffers {
            if let o = offersByRegion[region] { return o }
            var all: [TypeOffer] = []
            for spec in input.catalog.instanceTypes(in: region) {
                guard let p = input.catalog.onDemandUSDPerHour(region: region, instanceType: spec.name) else {
                    continue
                }
                all.append(
                    TypeOffer(
                        spec: spec,
                        allocatable: spec.estimatedAllocatable,
                        onDemandUSDPerHour: p,
                        index: all.count
                    )
                )
            }
            // Burstable families (t3, t3a) sustain only a fraction of their vCPUs; they are used when a policy names them.
            let o = RegionOffers(
                all: all,
                standard: all.filter { !$0.spec.family.hasPrefix("t") },
                names: all.map(\.spec.name)
            )
            offersByRegion[region] = o
            return o
        }

        // Fresh spot prices per zone, indexed like the region's offers; built once per zone per cycle so the
        // per-slot pool choice does no hashing.
        var spotByZone: [String: [SpotQuote]] = [:]
        func spotTable(region: String, zone: String, offers: RegionOffers) -> [SpotQuote] {
            if let t = spotByZone[zone] { return t }
            let t = offers.all.map { o -> SpotQuote in
                guard
                    let p = input.spotPrices.price(
                        for: SpotPool(region: region, availabilityZone: zone, instanceType: o.spec.name)
                    )
                else {
                    return SpotQuote(usdPerHour: -1, fresh: false)
                }
                return SpotQuote(usdPerHour: p.usdPerHour, fresh: now - p.observedAt <= settings.spotPriceMaxAge)
            }
            spotByZone[zone] = t
            return t
        }

        var tablesByRegion: [String: (zones: [String], tables: [(zone: String, quotes: [SpotQuote])], slots: [Int])] =
            [:]
        // Spot nodes per pool this cycle, for the interruption rates (exposure).
        var spotNodes = SpotNodeCounts()

        // Buffers the per-cluster steps reuse, so a large fleet does not allocate them again for every cluster.
        var scratch = PlanScratch()

        // Pass 1: classify every cluster (lost, failed region, paused) and hand lost demand to failover targets.
        var works: [ClusterWork] = []
        works.reserveCapacity(input.reports.count)
        var anyDown = false
        // Each report's fields are read in place and the report itself reaches its work record only in pass 2 (see
        // `ClusterWork.report`): copying it here would touch its node list once more, and on a large fleet that
        // list has left the cache again by the time pass 2 reads it.
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
            } else if now - reports[r].observedAt > settings.clusterLostAfter {
                status = .lost
            } else if policy.paused {
                status = .paused
            }
            if status == .lost || status == .regionFailed { anyDown = true }
            works.append(ClusterWork(policy: policy, status: status))
            if let policyError { works[works.count - 1].reasons.append("policy refused, no changes: \(policyError)") }
        }
        // The cluster index is only needed when something failed over.
        var indexOf: [ClusterID: Int] = [:]
        if anyDown || !state.failovers.isEmpty {
            indexOf.reserveCapacity(works.count)
            for r in reports.indices { indexOf[reports[r].clusterID] = r }
        }
        if anyDown {
            assignFailovers(&works, reports: reports, indexOf: indexOf, state: &state, now: now, reasons: &fleetReasons)
        }
        var extraDemand: [ClusterID: Resources] = [:]
        for (lost, f) in state.failovers.sorted(by: { $0.key < $1.key }) {
            extraDemand[f.target, default: .zero] += f.demand
            if let t = indexOf[f.target] {
                works[t].reasons.append("failover: carrying \(f.demand) of demand for \(lost) until it is failed back")
            }
        }

        // Every cluster's active nodes in one array, each work record knowing where its own start: one growing
        // allocation for the fleet instead of one per cluster, and nothing per cluster to free once the plan is built.
        var activeNodes: [ActiveNode] = []

        // Pass 2: each cluster on its own: demand, floors and caps, scale-down, launches wanted.
        for i in works.indices {
            works[i].report = reports[i]
            // Locals first: reading works[i] inside a closure or beside &works[i] would copy the whole element.
            let region = works[i].report.region
            let id = works[i].report.clusterID
            let offers = offers(region)
            // Clusters of a region mostly list the same zones: share one table list between them.
            let zones = works[i].report.availabilityZones
            var tables: [(zone: String, quotes: [SpotQuote])]
            var slots: [Int]
            if let cached = tablesByRegion[region], cached.zones == zones {
                tables = cached.tables
                slots = cached.slots
            } else {
                tables = []
                tables.reserveCapacity(zones.count)
                slots = []
                for zone in zones {
                    tables.append((zone, spotTable(region: region, zone: zone, offers: offers)))
                    slots.append(spotNodes.slot(region: region, zone: zone, names: offers.names))
                }
                tablesByRegion[region] = (zones, tables, slots)
            }
            works[i].offerNames = offers.names
            works[i].zoneSpotPrices = tables
            works[i].zoneSlots = slots
            let forecast = input.forecasts.isEmpty ? nil : input.forecasts[id]
            let extra = extraDemand.isEmpty ? nil : extraDemand[id]
            planCluster(
                &works[i],
                offers: offers,
                input: input,
                forecast: forecast,
                extraDemand: extra,
                state: &state,
                spotNodes: &spotNodes,
                activeNodes: &activeNodes,
                scratch: &scratch
            )
        }
        spotNodes.store(in: &state, now: now)

        // Pass 3: the budget, regional caps first, then the fleet.
        let squeeze = BudgetSqueeze(planner: self, input: input, state: state, activeNodes: activeNodes)
        for (region, allowance) in input.allowance.regionalUSDPerHour.sorted(by: { $0.key < $1.key }) {
            let members = works.indices.filter { works[$0].report.region == region }
            squeeze.apply(
                to: members,
                allowance: allowance,
                scope: "region \(region)",
                works: &works,
                reasons: &fleetReasons
            )
        }
        squeeze.apply(
            to: Array(works.indices),
            allowance: input.allowance.fleetUSDPerHour,
            scope: "fleet",
            works: &works,
            reasons: &fleetReasons
        )

        // Pass 4: emit.
        var clusters: [ClusterPlan] = []
        clusters.reserveCapacity(works.count)
        var planned = 0.0
        var forced = 0.0
        var shortfall = 0.0
        var regionalPlanned: [String: Double] = [:]
        for i in works.indices {
            let p = finish(&works[i], state: &state, now: now, activeNodes: activeNodes, scratch: &scratch)
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

    // MARK: Events: launch failures and interruptions feed pool back-off and storm detection.

    private func record(events input: PlannerInput, state: inout PlannerState, reasons: inout [String]) {
        let now = input.now
        let storm = settings.storm
        let horizon = max(settings.poolBackoffMax, storm.window + storm.coolDown)
        // Forget events old enough that they can no longer matter, so the state stays bounded.
        if state.generation % 64 == 1 {
            state.seenEvents = state.seenEvents.filter { now - $0.value <= horizon }
            state.poolRates = state.poolRates.filter { !$0.value.isForgettable(now: now, settings: storm) }
        }
        // Exposure since the last cycle: the spot nodes each pool ran then, over the time since.
        if let last = state.exposureAsOf, now > last {
            for i in state.poolRates.indices where state.poolRates.values[i].spotNodes > 0 {
                let nodes = state.poolRates.values[i].spotNodes
                state.poolRates.values[i].recordExposure(nodes: nodes, from: last, to: now, settings: storm)
            }
        }
        for report in input.reports where !(report.launchFailures.isEmpty && report.notices.isEmpty) {
            for f in report.launchFailures {
                let key =
                    "f|\(report.clusterID)|\(f.instanceType)|\(f.market)|\(f.availabilityZone)|\(f.failedAt.sinceEpoch)"
                guard state.seenEvents.updateValue(f.failedAt, forKey: key) == nil else { continue }
                let pool = SpotPool(
                    region: report.region,
                    availabilityZone: f.availabilityZone,
                    instanceType: f.instanceType
                )
                let k = PlannerState.PoolKey(pool: pool, market: f.market)
                var r = state.poolFailures[k] ?? PlannerState.FailureRecord(count: 0, lastAt: f.failedAt)
                // A failure long after the last back-off ended starts the count over.
                if f.failedAt - r.lastAt > state.backoff(count: r.count, settings: settings) + .seconds(3_600) {
                    r.count = 0
                }
                r.count += 1
                r.lastAt = max(r.lastAt, f.failedAt)
                state.poolFailures[k] = r
                reasons.append(
                    "pool \(pool) (\(f.market)) failed with \(f.reason) in \(report.clusterID): avoided until \(r.lastAt + state.backoff(count: r.count, settings: settings))"
                )
            }
            for n in report.notices where n.kind == .interruption {
                let key = "i|\(report.clusterID)|\(n.nodeName)|\(n.receivedAt.sinceEpoch)"
                guard state.seenEvents.updateValue(n.receivedAt, forKey: key) == nil else { continue }
                let pool = SpotPool(
                    region: report.region,
                    availabilityZone: n.availabilityZone,
                    instanceType: n.instanceType
                )
                state.poolRates[pool, default: PoolInterruptionRate()]
                    .recordInterruption(at: n.receivedAt, now: now, settings: storm)
            }
        }
        // Storms start, go on or end; every pool is looked at, as a rate can cross a threshold without a new event
        // (the window moves on, the baseline decays).
        var stormNotes: [(pool: SpotPool, text: String)] = []
        for i in state.poolRates.indices {
            let pool = state.poolRates.keys[i]
            switch state.poolRates.values[i].evaluate(now: now, settings: storm) {
            case .started(let r):
                state.storming.insert(pool)
                stormNotes.append(
                    (
                        pool,
                        "spot storm in \(pool): \(r) (over \(plainNumber(storm.startFactor))×); no new capacity there until the rate stays under \(plainNumber(storm.clearFactor))× the baseline for \(minutes(storm.coolDown)) min"
                    )
                )
            case .ended(let r, let since):
                state.storming.remove(pool)
                stormNotes.append(
                    (
                        pool,
                        "spot storm in \(pool) over (since \(since)): \(r), under \(plainNumber(storm.clearFactor))× for \(minutes(storm.coolDown)) min; new capacity may go there again"
                    )
                )
            case nil:
                if let since = state.poolRates.values[i].stormSince {
                    let r = state.poolRates.values[i].rates(now: now, settings: storm)
                    stormNotes.append((pool, "spot storm in \(pool) since \(since): \(r); no new capacity there"))
                }
            }
        }
        reasons += stormNotes.sorted { $0.pool < $1.pool }.map(\.text)
    }

    // MARK: Failover

    private func assignFailovers(
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

    // MARK: One cluster

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

    /// A running node's hourly price: through the per-cycle tables (a short scan of small strings, no hashing),
    /// falling back to the catalog and the cache for types or zones outside them.
    func price(
        type: String,
        typeIndex: Int? = nil,
        zoneIndex: Int? = nil,
        market: Market,
        zone: String,
        region: String,
        names: [String],
        spotTables: [(zone: String, quotes: [SpotQuote])],
        offers: RegionOffers,
        input: PlannerInput
    ) -> Double {
        guard let t = typeIndex ?? names.firstIndex(of: type) else {
            return nodePrice(type: type, market: market, zone: zone, region: region, input: input)
        }
        let od = offers.all[t].onDemandUSDPerHour
        guard market == .spot else { return od }
        guard let z = zoneIndex ?? spotTables.firstIndex(where: { $0.zone == zone }) else {
            return nodePrice(type: type, market: market, zone: zone, region: region, input: input)
        }
        let q = spotTables[z].quotes[t]
        return q.usdPerHour > 0 ? q.usdPerHour : od
    }

    func nodePrice(type: String, market: Market, zone: String, region: String, input: PlannerInput) -> Double {
        let od = input.catalog.onDemandUSDPerHour(region: region, instanceType: type) ?? 0
        guard market == .spot else { return od }
        let pool = SpotPool(region: region, availabilityZone: zone, instanceType: type)
        return input.spotPrices.price(for: pool)?.usdPerHour ?? od
    }

    /// The type that covers `shortfall` for the least money (whole nodes, both dimensions); ties go to the
    /// cheaper per unit of the short dimension, then to the smaller type.
    func cheapestToCover(_ shortfall: Resources, _ offers: [TypeOffer], memory: Bool) -> TypeOffer? {
        var best: TypeOffer?
        var bestKey = (Double.infinity, Double.infinity, Int.max)
        for o in offers {
            let n = max(
                (shortfall.cpuMillicores + o.allocatable.cpuMillicores - 1) / max(1, o.allocatable.cpuMillicores),
                (shortfall.memoryBytes + o.allocatable.memoryBytes - 1) / max(1, o.allocatable.memoryBytes)
            )
            let key = (
                (Double(n) * o.onDemandUSDPerHour * 1e6).rounded(),
                (o.onDemandUSDPerHour / o.units(memory: memory) * 1e9).rounded(), o.allocatable.cpuMillicores
            )
            if key < bestKey {
                best = o
                bestKey = key
            }
        }
        return best
    }

    func cheapestPerUnit(_ offers: [TypeOffer], memory: Bool) -> TypeOffer? {
        var best: TypeOffer?
        var bestScore = Double.infinity
        for o in offers {
            let s = o.onDemandUSDPerHour / o.units(memory: memory)
            // Ties go to the smaller type: finer steps, less waste.
            if s < bestScore - 1e-12
                || (abs(s - bestScore) <= 1e-12
                    && o.allocatable.cpuMillicores < (best?.allocatable.cpuMillicores ?? .max))
            {
                best = o
                bestScore = s
            }
        }
        return best
    }

    // MARK: Rules 4 and 5: markets, pools and zones for `count` new nodes.

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

    // MARK: Rule 6: safe scale-down.

    private func selectDrains(
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
        // A consolidation that evicts pods must pay for the disruption (overMax is a cap, not a saving).
        if !overMax && savingNonEmpty > 0 && savingNonEmpty < policy.minConsolidationSaving * w.keptCost {
            if let firstBusy = chosen.firstIndex(where: { w.report.nodes[w.active[$0]].podCount > 0 }) {
                w.reasons.append(
                    "consolidation would save \(usd(savingNonEmpty))/h, under \(Int((policy.minConsolidationSaving * 100).rounded())) % of the cluster's \(usd(w.keptCost))/h: busy nodes kept"
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
    /// hold, the removed node's pods fit in the free space of the nodes that stay, and the zone spread and spot
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
        let required = w.required
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
        while !(overMax && count <= policy.maxNodes) && count - 1 >= policy.minNodes {
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

    // MARK: Emit

    private func finish(
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

/// The latest spot price of a pool, and whether it is fresh enough to launch on.
struct SpotQuote: Sendable {
    var usdPerHour: Double
    var fresh: Bool
}

/// The instance types priced in one region: all of them, and the default set for policies that name none.
struct RegionOffers: Sendable {
    var all: [TypeOffer]
    var standard: [TypeOffer]
    var names: [String]
}

/// An instance type as the planner sees it in one region.
struct TypeOffer: Sendable {
    var spec: InstanceSpec
    var allocatable: Resources
    var onDemandUSDPerHour: Double
    /// Position in the region's list of offers (indexes the per-zone spot price tables).
    var index: Int

    /// Capacity in the dimension that is short: vCPUs or GiB.
    func units(memory: Bool) -> Double {
        memory ? Double(allocatable.memoryBytes) / Double(Resources.gibibyte) : Double(allocatable.cpuMillicores) / 1000
    }
}

/// The planner's scratch space for one cluster during a cycle.
struct ClusterWork {
    /// The cluster's report, set when pass 2 reaches the cluster (pass 1 reads the fleet's reports in place), then
    /// read-only until `retire()`.
    var report = ClusterReport.placeholder
    let policy: ClusterPolicy
    var status: ClusterPlanStatus
    var reasons: [String] = []
    /// Indices into `report.nodes` of nodes that count as capacity.
    var active: [Int] = []
    /// Where this cluster's entries start in the cycle's array of `ActiveNode`s (one per entry of `active`, same
    /// order): what the later passes need of each active node, worked out once.
    var activeStart = 0
    var keptCost = 0.0
    var capacity = Resources.zero
    var demand = Resources.zero
    var required = Resources.zero
    var zones: [String] = []
    /// Fresh spot prices per reported zone (same order as `report.availabilityZones`), by offer index; -1 = none.
    var zoneSpotPrices: [(zone: String, quotes: [SpotQuote])] = []
    /// The `SpotNodeCounts` slot of each reported zone (same order).
    var zoneSlots: [Int] = []
    /// Names of the region's offers, by offer index.
    var offerNames: [String] = []
    var eligible: [TypeOffer] = []
    var reference: TypeOffer?
    var shortOfMemory = false
    /// Indices into `active` drained by this plan, and why.
    var drains: [Int] = []
    var drainReasons: [String] = []
    /// Launches wanted before the budget, the part a floor forces, and the number funded.
    var wanted = 0
    var floorLaunches = 0
    var chosen = 0
    var floorCost = 0.0
    var launches: [LaunchOrder] = []
    var launchCost = 0.0
    var unfundedUSD = 0.0

    init(policy: ClusterPolicy, status: ClusterPlanStatus) {
        self.policy = policy
        self.status = status
    }

    /// Lets go of the cluster's arrays once its plan is built, while they are still in cache. Left to the end of
    /// the cycle, releasing them walks every cluster's records again, and on a large fleet those have long left the
    /// cache by then.
    mutating func retire() {
        report = .placeholder
        reasons = []
        active = []
        zones = []
        eligible = []
        drains = []
        drainReasons = []
        launches = []
    }
}

extension ClusterReport {
    /// Stands in for a report in a work record before pass 2 and after `retire()`: empty lists, nothing to release.
    static let placeholder = ClusterReport(
        clusterID: "",
        region: "",
        availabilityZones: [],
        nodes: [],
        observedAt: Timestamp(sinceEpoch: .zero)
    )
}

/// An active node's price and where it sits in the cluster's zones and the region's offers, so scale-down and
/// launch placement compare small integers instead of strings for every node.
struct ActiveNode {
    var usdPerHour: Double
    /// Index into `ClusterWork.zones`, or -1 when the node's zone is not one the cluster may use.
    var zone: Int
    /// Index into the region's offers, or -1 when its type is not priced there.
    var offer: Int
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

/// Working arrays the per-cluster steps need only while they run. One set serves a whole cycle: each step lends an
/// array out (emptied, its storage kept) and puts it back when done, so a fleet of thousands of clusters does not
/// allocate and free them once per cluster.
struct PlanScratch {
    var typeMemo: [(type: String, index: Int)] = []
    var zoneCount: [Int] = []
    var poolUse: [Int] = []
    var flags: [Bool] = []
    var sinceOf: [Timestamp] = []
    var candidates: [RemovalCandidate] = []
}

extension Array {
    /// The array's value, moved out and replaced by an empty array, without touching its reference count.
    mutating func take() -> [Element] {
        var taken: [Element] = []
        swap(&taken, &self)
        return taken
    }

    /// This array's storage, emptied, leaving an empty array in its place: the lender holds no reference meanwhile,
    /// so appending to the loan copies nothing. Put it back by assigning it when done.
    mutating func lend() -> [Element] {
        var loan: [Element] = []
        swap(&loan, &self)
        loan.removeAll(keepingCapacity: true)
        return loan
    }

    /// A loan (see `lend()`) holding `count` copies of `value`.
    mutating func lend(filledWith value: Element, count: Int) -> [Element] {
        var loan = lend()
        loan.append(contentsOf: repeatElement(value, count: count))
        return loan
    }
}

/// Spot nodes per pool in one cycle, counted by zone slot and offer index while the planner walks the nodes anyway,
/// so no pool key is built or hashed per node; `store` hands them to the pools' interruption rates.
struct SpotNodeCounts {
    var slots: [(region: String, zone: String, names: [String])] = []
    var counts: [[Int]] = []
    var slotOfZone: [String: Int] = [:]
    /// Nodes whose type or zone is outside the per-cycle tables.
    var others: [SpotPool: Int] = [:]

    mutating func slot(region: String, zone: String, names: [String]) -> Int {
        if let s = slotOfZone[zone] { return s }
        slots.append((region, zone, names))
        counts.append([Int](repeating: 0, count: names.count))
        slotOfZone[zone] = slots.count - 1
        return slots.count - 1
    }

    /// Sets every pool's spot node count to this cycle's, so the next cycle credits their exposure.
    func store(in state: inout PlannerState, now: Timestamp) {
        for i in state.poolRates.indices { state.poolRates.values[i].spotNodes = 0 }
        for (s, slot) in slots.enumerated() {
            for (t, n) in counts[s].enumerated() where n > 0 {
                let pool = SpotPool(region: slot.region, availabilityZone: slot.zone, instanceType: slot.names[t])
                state.poolRates[pool, default: PoolInterruptionRate()].spotNodes += n
            }
        }
        for (pool, n) in others { state.poolRates[pool, default: PoolInterruptionRate()].spotNodes += n }
        state.exposureAsOf = max(state.exposureAsOf ?? now, now)
    }
}
