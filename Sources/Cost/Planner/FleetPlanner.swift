// The fleet planner: from reports, policies, budget, prices and forecasts to desired nodes and actions.
// Rule numbers are SYSTEM.md §2's (1 demand, 2 floors and caps, 3 budget, 4 spot mix, 5 placement, 6 scale-down,
// 7 failover); docs/planner.md explains each with an example. One file per rule family sits beside this one.

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
    ///
    /// The rules run in the order their inputs need them: events first (they decide which pools may be used),
    /// rule 7 before any cluster is planned (it moves demand between clusters), then each cluster on its own
    /// (rules 1, 6, 2, 4 and 5), then rule 3 over the whole fleet, since the budget compares clusters.
    public func plan(_ input: PlannerInput, state: inout PlannerState) -> FleetPlan {
        state.generation += 1
        var fleetReasons: [String] = []

        // Events and storms: launch failures back pools off, interruptions start and end storms.
        record(events: input, state: &state, reasons: &fleetReasons)

        // Rule 7, failover: which clusters are lost, in a failed region, paused or misconfigured, and who carries
        // the demand of the ones that are down.
        var (works, anyDown) = classify(input)
        let failoverDemand = failover(
            &works,
            anyDown: anyDown,
            reports: input.reports,
            state: &state,
            now: input.now,
            reasons: &fleetReasons
        )

        // Each cluster on its own: its running nodes, rule 1 (demand), rule 6 (scale-down), rule 2 (floors and
        // caps), rules 4 and 5 (spot mix and placement of the launches wanted).
        var cycle = CycleTables(input: input, settings: settings)
        var placement = LaunchPlacement(input: input, state: state, settings: settings)
        let reports = input.reports
        for i in works.indices {
            // The report reaches its work record only now (see `ClusterWork.report`).
            works[i].report = reports[i]
            let id = works[i].report.clusterID
            let offers = cycle.prepare(&works[i])
            let nodes = survey(&works[i], offers: offers, input: input, cycle: &cycle)
            guard works[i].status == .planned else {
                if works[i].status == .paused { works[i].reasons.append("paused by the operator: no changes") }
                continue
            }
            let forecast = input.forecasts.isEmpty ? nil : input.forecasts[id]
            let extra = failoverDemand.isEmpty ? nil : failoverDemand[id]
            let shortfall = demand(
                &works[i],
                offers: offers,
                requested: nodes.requested,
                measured: nodes.measured,
                forecast: forecast,
                failoverDemand: extra
            )
            scaleDown(
                &works[i],
                shortfall: shortfall,
                leaving: nodes.leaving,
                state: &state,
                now: input.now,
                cycle: &cycle
            )
            floorsAndCaps(&works[i], shortfall: shortfall)
            launchWanted(&works[i], placement: &placement, activeNodes: cycle.activeNodes)
        }
        cycle.spotNodes.store(in: &state, now: input.now)

        // Rule 3, budget: regional caps first, then the fleet.
        budget(
            &works,
            input: input,
            state: state,
            placement: consume placement,
            activeNodes: cycle.activeNodes,
            reasons: &fleetReasons
        )

        return emit(&works, input: input, state: &state, cycle: &cycle, reasons: fleetReasons)
    }
}
