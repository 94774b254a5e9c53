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
}
