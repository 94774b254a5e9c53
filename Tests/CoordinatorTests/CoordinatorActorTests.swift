import Clocks
import ClusterAgent
import Consensus
import Coordinator
import Cost
import Crypto
import FleetAPI
import Logging
import Synchronization
import Testing
import Wire
import WireFormat

/// A cluster that always looks the same: 3 busy workers and 10 pending pods.
struct FixedCluster: ClusterObserver {
    var id: ClusterID = "eu-web"

    func observe(at now: Timestamp) async throws -> ClusterReport {
        let nodes = (0..<3).map { index in
            NodeReport(
                name: "worker-\(index)",
                instanceID: "i-\(index)",
                instanceType: "m6i.large",
                market: index < 2 ? .onDemand : .spot,
                availabilityZone: ["eu-west-1a", "eu-west-1b", "eu-west-1c"][index],
                state: .ready,
                launchedAt: now - .seconds(7200),
                allocatable: .vcpu(2, gib: 8),
                requested: .vcpu(1.9, gib: 6),
                podCount: 8
            )
        }
        return ClusterReport(
            clusterID: id,
            region: "eu-west-1",
            availabilityZones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
            nodes: nodes,
            pending: PendingPods(count: 10, totalRequests: .vcpu(5, gib: 10), largestRequest: .vcpu(0.5, gib: 1)),
            utilisation: Utilisation(cpu: 0.95, memory: 0.75),
            observedAt: now
        )
    }
}

@Suite("coordinator actor")
struct CoordinatorActorTests {
    static func systems(hub: WireHub = WireHub()) throws -> (coordinator: WireActorSystem, agent: WireActorSystem) {
        func configuration(_ node: String, _ role: WireRole) -> WireActorSystem.Configuration {
            FleetAPI.wireConfiguration(
                nodeID: node,
                role: role,
                secrets: .shared(SymmetricKey(data: Array("coordinator-test-secret-01234567".utf8)))
            )
        }
        return (
            try WireActorSystem(configuration: configuration("coord-1", .coordinator), hub: hub),
            try WireActorSystem(configuration: configuration("eu-web", .agent), hub: hub)
        )
    }

    static func admin(on hub: WireHub) throws -> WireActorSystem {
        let configuration = FleetAPI.wireConfiguration(
            nodeID: "coordctl-1",
            role: .admin,
            secrets: .shared(SymmetricKey(data: Array("coordinator-test-secret-01234567".utf8)))
        )
        return try WireActorSystem(configuration: configuration, hub: hub)
    }

    static func coordinator(on system: WireActorSystem) throws -> CoordinatorActor {
        let catalog = try PriceCatalog.bundled()
        return system.withWellKnownName(WireActorSystem.WellKnownName.coordinator) {
            CoordinatorActor(
                actorSystem: system,
                settings: .init(
                    clusters: ["eu-web": (region: "eu-west-1", policy: ClusterPolicy())],
                    budget: nil,
                    planner: PlannerSettings(),
                    catalog: catalog
                ),
                clock: SystemClock(),
                leadership: NeverLeading(),
                logger: Logger(label: "test")
            )
        }
    }

    @Test("an agent's report reaches the coordinator, the plan adds capacity for pending pods, status shows both")
    func reportPlanStatus() async throws {
        let (coordinatorSystem, agentSystem) = try Self.systems()
        let coordinator = try Self.coordinator(on: coordinatorSystem)
        let reporting = ReportingService(
            system: agentSystem,
            observer: FixedCluster(),
            interval: .seconds(5),
            clock: SystemClock(),
            logger: Logger(label: "test")
        )
        await reporting.reportOnce()
        #expect(await reporting.delivered == 1)

        let plan = await coordinator.whenLocal { $0.plan() }
        let launched = plan?.launches.reduce(0) { $0 + $1.count } ?? 0
        #expect(launched >= 3)  // 5 vCPU pending at 75 % target utilisation needs at least 3 more 2-vCPU workers.

        let status = try await coordinator.status()
        let row = try #require(status.clusters.first)
        #expect(row.cluster == "eu-web")
        #expect(row.onDemandNodes == 2)
        #expect(row.spotNodes == 1)
        #expect(row.pendingPods == 10)
        #expect(row.plannedLaunches == launched)
        #expect(row.desiredNodes == 3 + launched)
        #expect(status.planGeneration == plan?.generation)
        await agentSystem.shutdown()
        await coordinatorSystem.shutdown()
    }

    @Test("a report from a cluster the fleet does not manage is refused with a typed error")
    func unknownCluster() async throws {
        let (coordinatorSystem, agentSystem) = try Self.systems()
        let coordinator = try Self.coordinator(on: coordinatorSystem)
        let remote = try $CoordinatorEndpoint.resolve(id: coordinator.id, using: agentSystem)
        let report = try await FixedCluster(id: "stranger").observe(at: SystemClock().timestamp)
        await #expect(throws: CommandRejectedError.self) { try await remote.report(AgentReport(cluster: report)) }
        #expect(try await coordinator.status().clusters.isEmpty)
        await agentSystem.shutdown()
        await coordinatorSystem.shutdown()
    }

    @Test("only an operator may ask for status; an agent may report but not use the admin endpoint")
    func rolesPerEndpoint() async throws {
        let hub = WireHub()
        let (coordinatorSystem, agentSystem) = try Self.systems(hub: hub)
        let adminSystem = try Self.admin(on: hub)
        let coordinator = try Self.coordinator(on: coordinatorSystem)
        let asAdmin = try $CoordinatorAdminEndpoint.resolve(id: coordinator.id, using: adminSystem)
        #expect(try await asAdmin.status().coordinator == "coord-1")

        let asAgent = try $CoordinatorAdminEndpoint.resolve(id: coordinator.id, using: agentSystem)
        await #expect {
            _ = try await asAgent.status()
        } throws: { ($0 as? WireCallError)?.code == .unknownTarget }
        // Nor through the actor's own type, which would bypass the endpoint's roles.
        let direct = try CoordinatorActor.resolve(id: coordinator.id, using: agentSystem)
        await #expect {
            _ = try await direct.status()
        } throws: { ($0 as? WireCallError)?.code == .unknownTarget }
        // An operator cannot pose as an agent either.
        let adminAsAgent = try $CoordinatorEndpoint.resolve(id: coordinator.id, using: adminSystem)
        let report = try await FixedCluster().observe(at: SystemClock().timestamp)
        await #expect {
            _ = try await adminAsAgent.report(AgentReport(cluster: report))
        } throws: { ($0 as? WireCallError)?.code == .unknownTarget }
        await adminSystem.shutdown()
        await agentSystem.shutdown()
        await coordinatorSystem.shutdown()
    }

    /// Every pool at 30 % of its on-demand price.
    struct CheapSpot: SpotPriceSource {
        let catalog: PriceCatalog
        func prices(for pools: [SpotPool], at now: Timestamp) async throws -> [SpotPool: Double] {
            var prices: [SpotPool: Double] = [:]
            for pool in pools {
                prices[pool] = catalog.onDemandUSDPerHour(region: pool.region, instanceType: pool.instanceType).map {
                    $0 * 0.3
                }
            }
            return prices
        }
    }

    @Test("with spot prices known, capacity above the on-demand base goes to spot")
    func spotAfterRefresh() async throws {
        let (coordinatorSystem, agentSystem) = try Self.systems()
        let coordinator = try Self.coordinator(on: coordinatorSystem)
        let reporting = ReportingService(
            system: agentSystem,
            observer: FixedCluster(),
            interval: .seconds(5),
            clock: SystemClock(),
            logger: Logger(label: "test")
        )
        await reporting.reportOnce()
        let withoutPrices = await coordinator.whenLocal { $0.plan() }
        #expect(withoutPrices?.launches.allSatisfy { $0.group.market == .onDemand } == true)

        let catalog = try PriceCatalog.bundled()
        let plan = await coordinator.whenLocal { coordinator in
            await coordinator.refreshSpotPrices(from: CheapSpot(catalog: catalog))
            return coordinator.plan()
        }
        let spot = plan?.launches.filter { $0.group.market == .spot }.reduce(0) { $0 + $1.count } ?? 0
        #expect(spot > 0)
        await agentSystem.shutdown()
        await coordinatorSystem.shutdown()
    }
}

/// A leadership a test sets by hand.
final class ManualLeadership: Leadership {
    private let epoch = Mutex<FencingEpoch?>(nil)

    func set(_ epoch: FencingEpoch?) { self.epoch.withLock { $0 = epoch } }
    func actingEpoch() -> FencingEpoch? { epoch.withLock { $0 } }
    func currentLease() async -> LeaseRecord? {
        epoch.withLock { $0 }.map {
            LeaseRecord(
                fleet: "test",
                holder: LeaseHolder(id: "coord-1#test", address: "127.0.0.1:7400"),
                version: RecordVersion(rawValue: "v"),
                leaseDuration: .seconds(10),
                epoch: $0
            )
        }
    }
}

@Suite("coordinator leadership")
struct CoordinatorLeadershipTests {
    @Test("the lease's epoch is what the coordinator answers with while it leads, and nothing once it stops")
    func epochFromLeadership() async throws {
        let (coordinatorSystem, agentSystem) = try CoordinatorActorTests.systems()
        let leadership = ManualLeadership()
        let catalog = try PriceCatalog.bundled()
        let coordinator = coordinatorSystem.withWellKnownName(WireActorSystem.WellKnownName.coordinator) {
            CoordinatorActor(
                actorSystem: coordinatorSystem,
                settings: .init(
                    clusters: ["eu-web": (region: "eu-west-1", policy: ClusterPolicy())],
                    budget: nil,
                    planner: PlannerSettings(),
                    catalog: catalog
                ),
                clock: ManualClock(),
                leadership: leadership,
                logger: Logger(label: "test")
            )
        }
        let reporting = ReportingService(
            system: agentSystem,
            observer: FixedCluster(),
            interval: .seconds(5),
            clock: ManualClock(),
            logger: Logger(label: "test")
        )
        await reporting.reportOnce()
        #expect(await reporting.highestEpochSeen == .none)
        #expect(try await coordinator.status().isLeader == false)

        leadership.set(FencingEpoch(4))
        await reporting.reportOnce()
        #expect(await reporting.highestEpochSeen == FencingEpoch(4))
        let leading = try await coordinator.status()
        #expect(leading.isLeader && leading.epoch == FencingEpoch(4))

        leadership.set(nil)
        let stopped = try await coordinator.status()
        #expect(!stopped.isLeader && stopped.epoch == .none)
        // The agent keeps the highest epoch it has seen.
        await reporting.reportOnce()
        #expect(await reporting.highestEpochSeen == FencingEpoch(4))
        await agentSystem.shutdown()
        await coordinatorSystem.shutdown()
    }
}
