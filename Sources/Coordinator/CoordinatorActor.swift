import Clocks
import Cost
import Distributed
import FleetAPI
import Logging
import Wire

/// One coordinator replica's actor: it takes every agent's reports, keeps the fleet registry warm, plans on the
/// planner's schedule and answers the operator's status queries.
///
/// Promise: it never calls EC2 or Kubernetes itself; whatever it decides reaches a cluster only as a command to
/// that cluster's agent, stamped with the leader's epoch.
public distributed actor CoordinatorActor: CoordinatorEndpoint, CoordinatorAdminEndpoint {
    public typealias ActorSystem = WireActorSystem

    /// The clusters, policies, budget and timings this replica plans with.
    public struct Settings: Sendable {
        public var clusters: [ClusterID: (region: String, policy: ClusterPolicy)]
        public var budget: FleetBudget?
        public var planner: PlannerSettings
        public var catalog: PriceCatalog

        public init(
            clusters: [ClusterID: (region: String, policy: ClusterPolicy)],
            budget: FleetBudget?,
            planner: PlannerSettings,
            catalog: PriceCatalog
        ) {
            self.clusters = clusters
            self.budget = budget
            self.planner = planner
            self.catalog = catalog
        }
    }

    let settings: Settings
    /// Measures report ages (monotonic) and stamps budgets and plans (wall time).
    let clock: any FleetClock
    /// Whether this replica may act now, and under which epoch.
    let leadership: any Leadership
    let logger: Logger
    var registry = FleetRegistry<FleetInstant>()
    private var ledger = SpendLedger()
    var spotPrices = SpotPriceCache()
    private var plannerState = PlannerState()
    private var lastPlan: FleetPlan?

    /// - Parameter clock: report ages are measured on its monotonic time, budgets and plans stamped with its wall
    ///   time (`SystemClock` in production, a `ManualClock` in the simulator and the tests).
    /// - Parameter leadership: the lease's say on whether this replica leads (`LeaderElection`), or
    ///   `NeverLeading()` for a replica that runs no election.
    public init(
        actorSystem: WireActorSystem,
        settings: Settings,
        clock: any FleetClock,
        leadership: any Leadership,
        logger: Logger
    ) {
        self.actorSystem = actorSystem
        self.settings = settings
        self.clock = clock
        self.leadership = leadership
        self.logger = logger
    }

    // MARK: CoordinatorEndpoint

    public distributed func report(_ agentReport: AgentReport) async throws -> ReportAcknowledgement {
        let report = agentReport.cluster
        guard settings.clusters[report.clusterID] != nil else {
            throw CommandRejectedError(.wrongCluster, "cluster \(report.clusterID) is not managed by this fleet")
        }
        if registry.record(report, at: clock.now) {
            ledger.record(report, catalog: settings.catalog, spotPrices: spotPrices)
        }
        let epoch = leadership.actingEpoch()
        return ReportAcknowledgement(coordinator: actorSystem.nodeID, isLeader: epoch != nil, epoch: epoch ?? .none)
    }

    // MARK: CoordinatorAdminEndpoint

    public distributed func status() async throws -> FleetStatus {
        let now = clock.now
        let acting = leadership.actingEpoch()
        let plans = Dictionary(
            (lastPlan?.clusters ?? []).map { ($0.cluster, $0) },
            uniquingKeysWith: { first, _ in first }
        )
        let rows = registry.entries.keys.sorted().compactMap { id -> ClusterStatus? in
            guard let entry = registry.entries[id] else { return nil }
            let report = entry.report
            let active = report.nodes.filter(\.isActive)
            let plan = plans[id]
            return ClusterStatus(
                cluster: id,
                region: report.region,
                reportAgeSeconds: (now - entry.receivedAt).seconds,
                onDemandNodes: active.filter { $0.market == .onDemand }.count,
                spotNodes: active.filter { $0.market == .spot }.count,
                pendingPods: report.pending.count,
                cpuUtilisation: report.utilisation.cpu,
                desiredNodes: plan.map { $0.keptNodeCount + $0.launches.reduce(0) { $0 + $1.count } } ?? active.count,
                plannedLaunches: plan?.launches.reduce(0) { $0 + $1.count } ?? 0,
                plannedDrains: plan?.drains.count ?? 0,
                plannedUSDPerHour: plan?.plannedUSDPerHour ?? 0,
                planStatus: plan?.status.rawValue,
                reasons: plan.map { plan in plan.launches.map(\.reason) + plan.drains.map(\.reason) } ?? []
            )
        }
        return FleetStatus(
            coordinator: actorSystem.nodeID,
            isLeader: acting != nil,
            epoch: acting ?? .none,
            planGeneration: lastPlan?.generation ?? 0,
            clusters: rows,
            planReasons: lastPlan?.reasons ?? []
        )
    }

    // MARK: Planning

    /// Plans once from the registry as it stands and keeps the plan for `status`; returns it. Logs one line per
    /// decision with its reason.
    @discardableResult
    public func plan() -> FleetPlan {
        let now = clock.timestamp
        let allowance = settings.budget.map { ledger.allowance(budget: $0, at: now) } ?? .unlimited
        let input = PlannerInput(
            reports: registry.reports,
            policies: settings.clusters.mapValues(\.policy),
            allowance: allowance,
            catalog: settings.catalog,
            spotPrices: spotPrices,
            interruptionRisk: [:],
            forecasts: [:],
            failedRegions: [],
            now: now
        )
        let plan = FleetPlanner(settings: settings.planner).plan(input, state: &plannerState)
        lastPlan = plan
        for launch in plan.launches {
            logger.info(
                "plan: launch",
                metadata: [
                    "ballast.cluster": "\(launch.cluster)", "ballast.generation": "\(plan.generation)",
                    "count": "\(launch.count)", "pool": "\(launch.group)", "reason": "\(launch.reason)",
                ]
            )
        }
        for drain in plan.drains {
            logger.info(
                "plan: drain",
                metadata: [
                    "ballast.cluster": "\(drain.cluster)", "ballast.generation": "\(plan.generation)",
                    "node": "\(drain.nodeName)", "reason": "\(drain.reason)",
                ]
            )
        }
        for reason in plan.reasons {
            logger.notice("plan: fleet", metadata: ["ballast.generation": "\(plan.generation)", "reason": "\(reason)"])
        }
        return plan
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number (for display).
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
