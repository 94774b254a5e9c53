import Clocks
import ClusterAgent
import Coordinator
import Cost
import Crypto
import Distributed
import FleetAPI
import Logging
import Simulation
import Testing
import Wire

/// The leader and a real agent on a simulated cloud and cluster, over an in-process hub, in virtual time: the agent
/// reports what `PortsObserver` sees, the leader plans and commands.
struct OrphanFleet {
    let clock = ManualClock()
    let leadership = ManualLeadership()
    let coordinatorSystem: WireActorSystem
    let agentSystem: WireActorSystem
    let coordinator: CoordinatorActor
    let agent: ClusterAgentActor
    let fence: EpochFence
    let cloud: SimulatedCloud
    let cluster: SimulatedCluster
    let observer: PortsObserver

    /// - Parameter boot: how long a new instance takes to boot (and so to become a node).
    init(boot: Duration) throws {
        let hub = WireHub()
        let secret = SymmetricKey(data: Array("orphan-test-secret-0123456789abc".utf8))
        coordinatorSystem = try WireActorSystem(
            configuration: FleetAPI.wireConfiguration(nodeID: "coord-1", role: .coordinator, secrets: .shared(secret)),
            hub: hub
        )
        agentSystem = try WireActorSystem(
            configuration: FleetAPI.wireConfiguration(nodeID: "eu-web", role: .agent, secrets: .shared(secret)),
            hub: hub
        )
        let logger = Logger(label: "test")
        let (clock, leadership, coordinatorSystem, agentSystem) = (clock, leadership, coordinatorSystem, agentSystem)
        let catalog = try PriceCatalog.bundled()
        coordinator = coordinatorSystem.withWellKnownName(WireActorSystem.WellKnownName.coordinator) {
            CoordinatorActor(
                actorSystem: coordinatorSystem,
                settings: .init(
                    clusters: ["eu-web": (region: "eu-west-1", policy: ClusterPolicy())],
                    budget: nil,
                    planner: PlannerSettings(),
                    catalog: catalog
                ),
                clock: clock,
                leadership: leadership,
                logger: logger
            )
        }
        let cloud = SimulatedCloud(clusterID: "eu-web", clock: clock, bootDelay: boot...boot, seed: 11)
        cloud.seedRunning(
            SimulatedCloud.Pool(instanceType: "m6i.large", market: .onDemand, availabilityZone: "eu-west-1a"),
            count: 2,
            launchedAt: clock.timestamp - .seconds(3_600)
        )
        let cluster = SimulatedCluster(cloud: cloud, clock: clock)
        let fence = try EpochFence(store: InMemoryEpochStore())
        let ledger = AgentLedger()
        let drains = DrainService(
            kube: cluster,
            cloud: cloud,
            clock: clock,
            fence: fence,
            ledger: ledger,
            trigger: nil,
            maxConcurrent: 1,
            logger: logger
        )
        agent = agentSystem.withWellKnownName(WireActorSystem.WellKnownName.agent) {
            ClusterAgentActor(
                actorSystem: agentSystem,
                settings: .init(clusterID: "eu-web"),
                fence: fence,
                ledger: ledger,
                cloud: cloud,
                kube: cluster,
                drains: drains,
                clock: clock,
                trigger: nil,
                logger: logger
            )
        }
        observer = PortsObserver(
            settings: .init(clusterID: "eu-web", region: "eu-west-1", availabilityZones: ["eu-west-1a"]),
            kube: cluster,
            cloud: cloud,
            metrics: cluster,
            ledger: ledger,
            drains: drains,
            logger: logger
        )
        (self.fence, self.cloud, self.cluster) = (fence, cloud, cluster)
    }

    /// An instance launched now that no node will come of before `boot` passes.
    func launchInstance() async throws -> String {
        let instances = try await cloud.launch(
            InstanceLaunchRequest(
                instanceType: "m6i.large",
                market: .spot,
                availabilityZone: "eu-west-1a",
                count: 1,
                token: LaunchToken(rawValue: "bl-orphan-test"),
                generation: 1
            )
        )
        return try #require(instances.first?.instanceID)
    }

    /// The agent reports its cluster as it is now, through the wire; returns the orphans it named.
    @discardableResult
    func report() async throws -> [String] {
        let report = try await observer.observe(at: clock.timestamp)
        let remote = try $CoordinatorEndpoint.resolve(id: coordinator.id, using: agentSystem)
        _ = try await remote.report(AgentReport(cluster: report, highestEpochSeen: fence.highestSeen))
        return report.orphans
    }

    func round() async -> FleetPlan? {
        await coordinator.whenLocal { await $0.planAndCommand() } ?? nil
    }

    func journal(_ kind: String) async throws -> [String] {
        try await coordinator.events(after: 0, cluster: nil, limit: 100).filter { $0.kind == kind }.map(\.message)
    }

    func confirmed() async -> [String] {
        await coordinator.whenLocal { $0.commands.confirmedOrphans["eu-web"] ?? [] } ?? []
    }

    func shutdown() async {
        await agentSystem.shutdown()
        await coordinatorSystem.shutdown()
    }
}

@Suite("orphan termination, leader to agent")
struct OrphanTerminationTests {
    @Test(
        "an orphan named by one report is left alone; named by the next, the leader has it terminated and journals it"
    )
    func terminatedAfterConfirmation() async throws {
        let fleet = try OrphanFleet(boot: .seconds(3_600))
        fleet.leadership.set(FencingEpoch(3))
        let orphan = try await fleet.launchInstance()
        fleet.clock.advance(by: .seconds(901))
        #expect(try await fleet.report() == [orphan])
        _ = await fleet.round()
        #expect(fleet.cloud.terminateCalls.isEmpty)

        fleet.clock.advance(by: .seconds(5))
        #expect(try await fleet.report() == [orphan])
        #expect(await fleet.confirmed() == [orphan])
        let plan = try #require(await fleet.round())
        #expect(fleet.cloud.terminateCalls == [[orphan]])
        #expect(fleet.cloud.isTerminated(orphan))
        let told = try await fleet.journal("orphan-terminated")
        #expect(told.count == 1)
        #expect(told.first?.contains(orphan) == true)
        #expect(plan.generation > 0)

        // The next report names it no more; another round sends nothing.
        fleet.clock.advance(by: .seconds(5))
        #expect(try await fleet.report().isEmpty)
        _ = await fleet.round()
        #expect(fleet.cloud.terminateCalls.count == 1)
        #expect(await fleet.coordinator.whenLocal { $0.commands.orphanTerminations.isEmpty } == true)
        await fleet.shutdown()
    }

    @Test("the confirmation is sent once while the reports name the orphan, not every round")
    func sentOnce() async throws {
        let fleet = try OrphanFleet(boot: .seconds(3_600))
        let orphan = try await fleet.launchInstance()
        fleet.clock.advance(by: .seconds(901))
        try await fleet.report()
        fleet.clock.advance(by: .seconds(5))
        try await fleet.report()
        // A follower confirms too (a new leader acts at once), but sends nothing.
        #expect(await fleet.round() == nil)
        #expect(await fleet.confirmed() == [orphan])
        #expect(fleet.cloud.terminateCalls.isEmpty)
        fleet.leadership.set(FencingEpoch(4))
        _ = await fleet.round()
        _ = await fleet.round()
        #expect(fleet.cloud.terminateCalls == [[orphan]])
        await fleet.shutdown()
    }

    @Test("a deposed leader's confirmation is refused by the agent (stale epoch) and nothing is terminated")
    func staleEpoch() async throws {
        let fleet = try OrphanFleet(boot: .seconds(3_600))
        _ = try fleet.fence.admit(FencingEpoch(9))
        fleet.leadership.set(FencingEpoch(8))  // This replica still believes it leads under 8.
        let orphan = try await fleet.launchInstance()
        fleet.clock.advance(by: .seconds(901))
        try await fleet.report()
        fleet.clock.advance(by: .seconds(5))
        try await fleet.report()
        _ = await fleet.round()
        #expect(fleet.cloud.terminateCalls.isEmpty)
        #expect(!fleet.cloud.isTerminated(orphan))
        let refused = try await fleet.journal("refused")
        #expect(refused.contains { $0.contains("orphan termination of \(orphan)") && $0.contains("stale-epoch") })
        await fleet.shutdown()
    }

    @Test("an orphan whose node appeared after the second report is kept by the agent, and the journal says why")
    func nodeAppeared() async throws {
        let fleet = try OrphanFleet(boot: .seconds(930))
        fleet.leadership.set(FencingEpoch(3))
        let orphan = try await fleet.launchInstance()
        fleet.clock.advance(by: .seconds(901))
        try await fleet.report()
        fleet.clock.advance(by: .seconds(5))
        #expect(try await fleet.report() == [orphan])
        // It boots at 930 s: its node joins before the leader's round.
        fleet.clock.advance(by: .seconds(30))
        _ = await fleet.round()
        #expect(fleet.cloud.terminateCalls.isEmpty)
        #expect(!fleet.cloud.isTerminated(orphan))
        let told = try await fleet.journal("orphan-terminated")
        #expect(told.first?.contains("kept \(orphan) (node ") == true)
        await fleet.shutdown()
    }
}
