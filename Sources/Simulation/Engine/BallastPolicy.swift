import Clocks
import ClusterAgent
import Consensus
import Coordinator
import Cost
import Crypto
import Distributed
import FleetAPI
import Logging
import Scenarios
import Synchronization
import Wire

/// Ballast itself: the real `CoordinatorActor` with its `PlanningService`, and per cluster the real
/// `ClusterAgentActor` with its `ReportingService`, `ChangeWatchService`, `DrainService` and interruption handler,
/// talking through a `WireHub` (the same actors and encoding as over TCP) on the world's virtual clock. One
/// replica leads under epoch 1 for the whole run (elections and takeovers are proven by the end-to-end tests);
/// operator events go through the admin endpoint, as `coordctl` sends them.
public final class BallastPolicy: ScalingPolicy {
    public let name = "ballast"
    public let title = "Ballast: the real coordinator and agents (planner, budget, spot share, failover)"
    public let tickInterval: Duration? = nil
    /// The leader's plan interval and the agents' report interval.
    public let planInterval: Duration
    public let reportInterval: Duration
    private let parts = Mutex<Parts?>(nil)

    struct Parts: @unchecked Sendable {
        var systems: [WireActorSystem]
        var coordinator: CoordinatorActor
        var admin: WireActorSystem
        var agents: [ClusterAgentActor]
        var interruptions: [ClusterID: InterruptionService]
    }

    public init(planInterval: Duration = .seconds(30), reportInterval: Duration = .seconds(15)) {
        self.planInterval = planInterval
        self.reportInterval = reportInterval
    }

    public func start(in world: SimulationWorld) async throws -> [@Sendable () async -> Void] {
        let hub = WireHub()
        let secret = WireSecrets.shared(SymmetricKey(data: Array("ballast-simulation-shared-secret!".utf8)))
        let clock = world.clock
        let coordinatorSystem = try WireActorSystem(
            configuration: FleetAPI.wireConfiguration(nodeID: "coord-sim", role: .coordinator, secrets: secret),
            hub: hub,
            clock: clock,
            logger: quietLogger
        )
        var clusters: [ClusterID: (region: String, policy: ClusterPolicy)] = [:]
        for cluster in world.clusters {
            clusters[cluster.spec.id] = (cluster.spec.region, Self.policy(for: cluster.spec))
        }
        let budget = world.scenario.budget.map {
            FleetBudget(monthlyUSD: $0.monthlyUSD, regionalMonthlyUSD: $0.regions)
        }
        let (roundRequests, requestRound) = PlanningService.makeRoundRequests()
        // The month the run starts in may be partly spent: the leader finds that in its stored ledger, as a
        // coordinator that took over mid-month would.
        let stateStore = InMemoryFleetStateStore()
        if let spent = world.scenario.budget?.spentBeforeUSD, spent > 0 {
            let month = Timestamp(secondsSinceEpoch: world.scenario.start).month
            _ = await stateStore.save(
                spend: SpendLedger.Snapshot(month: month, monthToDateUSD: [.fleet: spent]),
                epoch: FencingEpoch(rawValue: 1)
            )
        }
        let coordinator = coordinatorSystem.withWellKnownName(WireActorSystem.WellKnownName.coordinator) {
            CoordinatorActor(
                actorSystem: coordinatorSystem,
                settings: .init(
                    clusters: clusters,
                    budget: budget,
                    planner: PlannerSettings(),
                    catalog: world.catalog
                ),
                clock: clock,
                leadership: SimulatedLeadership(epoch: FencingEpoch(rawValue: 1)),
                stateStore: stateStore,
                requestRound: requestRound,
                logger: quietLogger
            )
        }
        let admin = try WireActorSystem(
            configuration: FleetAPI.wireConfiguration(nodeID: "coordctl-sim", role: .admin, secrets: secret),
            hub: hub,
            clock: clock,
            logger: quietLogger
        )
        var services: [@Sendable () async -> Void] = []
        let planning = PlanningService(
            coordinator: coordinator,
            interval: planInterval,
            spotPrices: world.market,
            roundRequests: roundRequests,
            clock: clock,
            logger: quietLogger
        )
        services.append { try? await planning.run() }
        var systems = [coordinatorSystem, admin]
        var agents: [ClusterAgentActor] = []
        var interruptions: [ClusterID: InterruptionService] = [:]
        for cluster in world.clusters {
            let id = cluster.spec.id
            let system = try WireActorSystem(
                configuration: FleetAPI.wireConfiguration(nodeID: id.rawValue, role: .agent, secrets: secret),
                hub: hub,
                clock: clock,
                logger: quietLogger
            )
            systems.append(system)
            let agent = system.withWellKnownName(WireActorSystem.WellKnownName.agent) {
                ClusterAgentActor(
                    actorSystem: system,
                    settings: .init(clusterID: id),
                    fence: cluster.fence,
                    ledger: cluster.ledger,
                    cloud: cluster.cloud,
                    kube: cluster.kube,
                    drains: cluster.drains,
                    clock: clock,
                    trigger: cluster.trigger,
                    logger: quietLogger
                )
            }
            agents.append(agent)
            let observer = PortsObserver(
                settings: .init(clusterID: id, region: cluster.spec.region, availabilityZones: cluster.spec.zones),
                kube: cluster.kube,
                cloud: cluster.cloud,
                metrics: cluster.kube,
                ledger: cluster.ledger,
                drains: cluster.drains,
                logger: quietLogger
            )
            let reporting = ReportingService(
                system: system,
                observer: OutageAwareObserver(observer: observer, cluster: cluster),
                interval: reportInterval,
                clock: clock,
                logger: quietLogger,
                trigger: cluster.trigger,
                fence: cluster.fence,
                ledger: cluster.ledger
            )
            let watch = ChangeWatchService(
                observer: observer,
                trigger: cluster.trigger,
                interval: .seconds(5),
                clock: clock
            )
            services.append { try? await reporting.run() }
            services.append { try? await watch.run() }
            interruptions[id] = InterruptionService(
                source: cluster.queue,
                kube: cluster.kube,
                cloud: cluster.cloud,
                drains: cluster.drains,
                ledger: cluster.ledger,
                trigger: cluster.trigger,
                rebalance: .ignore,
                clock: clock,
                logger: quietLogger
            )
        }
        parts.withLock {
            $0 = Parts(
                systems: systems,
                coordinator: coordinator,
                admin: admin,
                agents: agents,
                interruptions: interruptions
            )
        }
        return services
    }

    public func tick(in world: SimulationWorld) async {}

    public func interruption(_ message: InterruptionMessage, in cluster: WorldCluster, world: SimulationWorld) async {
        guard !cluster.isDown, let service = parts.withLock({ $0?.interruptions[cluster.spec.id] }) else { return }
        await service.handleAndAcknowledge(message)
    }

    public func operatorEvent(_ event: ScenarioEvent.Kind, world: SimulationWorld) async {
        guard let parts = parts.withLock({ $0 }) else { return }
        do {
            let admin = try $CoordinatorAdminEndpoint.resolve(id: parts.coordinator.id, using: parts.admin)
            switch event {
            case .budgetChange(let region, let usd):
                var budget = try await admin.budget() ?? FleetBudget(monthlyUSD: usd)
                if let region { budget.regionalMonthlyUSD[region] = usd } else { budget.monthlyUSD = usd }
                _ = try await admin.setBudget(budget)
            case .failover(let from, let to):
                _ = try await admin.failover(Self.request(from: from, world: world, targets: [to]))
            case .failback(let from):
                _ = try await admin.failback(Self.request(from: from, world: world, targets: []))
            default:
                return
            }
        } catch {
            quietLogger.warning("operator event failed", metadata: ["error": "\(error)"])
        }
    }

    public func quiesce() async {
        guard let parts = parts.withLock({ $0 }) else { return }
        // A hop onto each actor waits out whatever it is running now.
        _ = await parts.coordinator.whenLocal { $0.commands.launches.count }
        for agent in parts.agents { _ = await agent.whenLocal { _ in 0 } }
    }

    /// The journal as the run ended (read before the replicas stop).
    public var finalJournal: [JournalEntry] { ended.withLock { $0 } }
    private let ended = Mutex<[JournalEntry]>([])

    public func stop() async {
        let journal = await journal()
        ended.withLock { $0 = journal }
        guard let parts = parts.withLock({ $0 }) else { return }
        for system in parts.systems { await system.shutdown() }
    }

    /// The leader's decision journal, read through the admin endpoint as `coordctl events` reads it.
    public func journal(cluster: ClusterID? = nil) async -> [JournalEntry] {
        guard let parts = parts.withLock({ $0 }),
            let admin = try? $CoordinatorAdminEndpoint.resolve(id: parts.coordinator.id, using: parts.admin)
        else { return [] }
        return (try? await admin.events(after: 0, cluster: cluster, limit: 10_000)) ?? []
    }

    static func request(from: String, world: SimulationWorld, targets: [ClusterID]) -> FailoverRequest {
        if world.scenario.clusters.contains(where: { $0.id.rawValue == from }) {
            return FailoverRequest(cluster: ClusterID(from), targets: targets)
        }
        return FailoverRequest(region: from, targets: targets)
    }

    static func policy(for spec: ScenarioCluster) -> ClusterPolicy {
        var policy = ClusterPolicy()
        policy.minNodes = spec.minNodes
        policy.maxNodes = spec.maxNodes
        policy.onDemandBase = spec.onDemandBase
        policy.targetSpotShare = spec.spotShare
        if let target = spec.targetUtilisation { policy.targetUtilisation = target }
        policy.allowedInstanceTypes = spec.instanceTypes
        policy.allowedZones = spec.zones
        policy.priorityClass = PriorityClass(rawValue: max(0, min(3, spec.priority + 1))) ?? .normal
        policy.failoverTargets = spec.failoverTargets
        return policy
    }
}

/// The simulator's one replica: it leads under a fixed epoch from start to end.
public struct SimulatedLeadership: Leadership {
    public let epoch: FencingEpoch

    public init(epoch: FencingEpoch) { self.epoch = epoch }

    public func actingEpoch() -> FencingEpoch? { epoch }

    public func currentLease() async -> LeaseRecord? {
        LeaseRecord(
            fleet: "simulation",
            holder: LeaseHolder(id: "coord-sim", address: "in-process"),
            version: RecordVersion(rawValue: "1"),
            leaseDuration: .seconds(3_600),
            epoch: epoch
        )
    }
}

/// The agent's view of its cluster, which goes dark while the cluster's master is down (its region is out):
/// then nothing is reported and the leader finds the cluster silent.
struct OutageAwareObserver: ClusterObserver {
    let observer: PortsObserver
    let cluster: WorldCluster

    func observe(at now: Timestamp) async throws -> ClusterReport {
        if cluster.isDown { throw ClusterDownError() }
        return try await observer.observe(at: now)
    }
}

struct ClusterDownError: Error, CustomStringConvertible {
    var description: String { "the cluster's master is down" }
}
