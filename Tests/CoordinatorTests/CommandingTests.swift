import Clocks
import ClusterAgent
import Coordinator
import Cost
import Crypto
import Distributed
import FleetAPI
import Logging
import Synchronization
import Testing
import Wire
import WireFormat

/// A simulated agent for the coordinator's tests: keeps the highest epoch it has seen and refuses lower ones, as
/// the real agent does, and records every command it executed (launches by token).
distributed actor RecordingAgent: ClusterAgentEndpoint {
    typealias ActorSystem = WireActorSystem
    private var highest = FencingEpoch.none
    private(set) var launches: [LaunchToken: LaunchCommand] = [:]
    private(set) var launchCalls = 0
    private(set) var drains: [String: DrainCommand] = [:]
    private(set) var refusedStale = 0
    private(set) var orphanTerminations: [TerminateOrphansCommand] = []
    private(set) var routedInterruptions: [RoutedInterruption] = []

    distributed func launch(_ command: LaunchCommand) async throws -> LaunchReceipt {
        launchCalls += 1
        try admit(command.stamp.epoch)
        launches[command.token] = command
        return LaunchReceipt(
            token: command.token,
            instanceIDs: (0..<command.count).map { "i-\(command.token.rawValue.suffix(8))-\($0)" }
        )
    }

    distributed func drain(_ command: DrainCommand) async throws -> DrainReceipt {
        try admit(command.stamp.epoch)
        let already = drains[command.nodeName] != nil
        drains[command.nodeName] = command
        return DrainReceipt(nodeName: command.nodeName, alreadyDraining: already)
    }

    distributed func terminateOrphans(_ command: TerminateOrphansCommand) async throws -> OrphanTerminationReceipt {
        try admit(command.stamp.epoch)
        orphanTerminations.append(command)
        return OrphanTerminationReceipt(terminated: command.instanceIDs)
    }

    distributed func acceptInterruption(_ notice: RoutedInterruption) async throws -> RoutedInterruptionReceipt {
        try admit(notice.stamp.epoch)
        routedInterruptions.append(notice)
        return RoutedInterruptionReceipt(messageID: notice.messageID, handled: notice.instanceIDs)
    }

    distributed func sawEpoch(_ epoch: FencingEpoch) { highest = max(highest, epoch) }
    distributed func interruptions() -> [RoutedInterruption] { routedInterruptions }
    distributed func orphanCommands() -> [TerminateOrphansCommand] { orphanTerminations }
    distributed func launchedNodes() -> Int { launches.values.reduce(0) { $0 + $1.count } }
    distributed func launchCommands() -> [LaunchCommand] { Array(launches.values) }
    distributed func calls() -> Int { launchCalls }
    distributed func staleRefusals() -> Int { refusedStale }

    private func admit(_ epoch: FencingEpoch) throws(StaleEpochError) {
        guard epoch >= highest else {
            refusedStale += 1
            throw StaleEpochError(presented: epoch, highestSeen: highest)
        }
        highest = epoch
    }
}

@Suite("coordinator commands")
struct CommandingTests {
    struct Fleet {
        let hub: WireHub
        let coordinatorSystem: WireActorSystem
        let agentSystem: WireActorSystem
        let coordinator: CoordinatorActor
        let agent: RecordingAgent
        let leadership: ManualLeadership
        let clock: ManualClock

        func shutdown() async {
            await agentSystem.shutdown()
            await coordinatorSystem.shutdown()
        }

        func planAndCommand() async -> FleetPlan? {
            await coordinator.whenLocal { await $0.planAndCommand() } ?? nil
        }

        func launchesInFlight() async -> Int {
            await coordinator.whenLocal { $0.commands.launches.count } ?? -1
        }

        /// The agent reports its cluster through the wire, as the reporting service does.
        func report(_ report: ClusterReport) async throws {
            let remote = try $CoordinatorEndpoint.resolve(id: coordinator.id, using: agentSystem)
            _ = try await remote.report(AgentReport(cluster: report))
        }
    }

    static func fleet(
        cluster: ClusterID = "eu-web",
        notifier: any Notifier = NoNotifier(),
        requestRound: @escaping @Sendable () -> Void = {}
    ) throws -> Fleet {
        let hub = WireHub()
        let secret = SymmetricKey(data: Array("commanding-test-secret-012345678".utf8))
        let coordinatorSystem = try WireActorSystem(
            configuration: FleetAPI.wireConfiguration(nodeID: "coord-1", role: .coordinator, secrets: .shared(secret)),
            hub: hub
        )
        let agentSystem = try WireActorSystem(
            configuration: FleetAPI.wireConfiguration(nodeID: cluster.rawValue, role: .agent, secrets: .shared(secret)),
            hub: hub
        )
        let leadership = ManualLeadership()
        let clock = ManualClock()
        let catalog = try PriceCatalog.bundled()
        let coordinator = coordinatorSystem.withWellKnownName(WireActorSystem.WellKnownName.coordinator) {
            CoordinatorActor(
                actorSystem: coordinatorSystem,
                settings: .init(
                    clusters: [cluster: (region: "eu-west-1", policy: ClusterPolicy())],
                    budget: nil,
                    planner: PlannerSettings(),
                    catalog: catalog
                ),
                clock: clock,
                leadership: leadership,
                notifier: notifier,
                requestRound: requestRound,
                logger: Logger(label: "test")
            )
        }
        let agent = agentSystem.withWellKnownName(WireActorSystem.WellKnownName.agent) {
            RecordingAgent(actorSystem: agentSystem)
        }
        return Fleet(
            hub: hub,
            coordinatorSystem: coordinatorSystem,
            agentSystem: agentSystem,
            coordinator: coordinator,
            agent: agent,
            leadership: leadership,
            clock: clock,
        )
    }

    static func busyCluster(at now: Timestamp, extraNodes: [NodeReport] = []) async throws -> ClusterReport {
        var report = try await FixedCluster().observe(at: now)
        report.nodes += extraNodes
        return report
    }

    @Test("the leader sends the plan's launches stamped with the lease's epoch and the plan's generation")
    func leaderSendsLaunches() async throws {
        let fleet = try Self.fleet()
        fleet.leadership.set(FencingEpoch(3))
        try await fleet.report(try await Self.busyCluster(at: fleet.clock.timestamp))
        let plan = try #require(await fleet.planAndCommand())
        let planned = plan.launches.reduce(0) { $0 + $1.count }
        #expect(planned >= 3)
        let sent = try await fleet.agent.launchCommands()
        #expect(sent.reduce(0) { $0 + $1.count } == planned)
        for command in sent {
            #expect(command.stamp.epoch == FencingEpoch(3))
            #expect(command.stamp.generation == plan.generation)
            #expect(command.stamp.leader == "coord-1")
        }
        // The tokens are those derived from (cluster, epoch, generation, slot).
        let expected = Set(
            plan.launches.indices.map {
                LaunchToken.derive(cluster: "eu-web", epoch: FencingEpoch(3), generation: plan.generation, slot: $0)
            }
        )
        #expect(Set(sent.map(\.token)) == expected)
        await fleet.shutdown()
    }

    @Test("launches in flight count as capacity: the next round, before the nodes appear, launches nothing more")
    func inFlightCountsAsCapacity() async throws {
        let fleet = try Self.fleet()
        fleet.leadership.set(FencingEpoch(3))
        try await fleet.report(try await Self.busyCluster(at: fleet.clock.timestamp))
        _ = await fleet.planAndCommand()
        let first = try await fleet.agent.launchedNodes()
        #expect(first >= 3)
        fleet.clock.advance(by: .seconds(5))
        // The same picture again: the new nodes are still booting.
        try await fleet.report(try await Self.busyCluster(at: fleet.clock.timestamp))
        let second = try #require(await fleet.planAndCommand())
        #expect(second.launches.isEmpty)
        #expect(try await fleet.agent.launchedNodes() == first)
        await fleet.shutdown()
    }

    @Test("what the leader does is told: taking over, and each launch with its reason")
    func notifications() async throws {
        let told = RecordingNotifier()
        let fleet = try Self.fleet(notifier: told)
        fleet.leadership.set(FencingEpoch(3))
        try await fleet.report(try await Self.busyCluster(at: fleet.clock.timestamp))
        _ = await fleet.planAndCommand()
        let kinds = told.notifications.map(\.kind)
        #expect(kinds.first == .leader)
        #expect(kinds.contains(.scaleUp))
        #expect(told.notifications.filter { $0.kind == .scaleUp }.allSatisfy { $0.text.hasPrefix("eu-web: ") })
        await fleet.shutdown()
    }

    @Test("a report that matters asks the leader for a round at once; the same picture again does not")
    func reportThatMatters() async throws {
        let requests = Mutex(0)
        let fleet = try Self.fleet(requestRound: { requests.withLock { $0 += 1 } })
        try await fleet.report(try await Self.busyCluster(at: fleet.clock.timestamp))
        #expect(requests.withLock { $0 } == 0)  // A follower does not plan.
        fleet.leadership.set(FencingEpoch(2))
        fleet.clock.advance(by: .seconds(1))
        var report = try await Self.busyCluster(at: fleet.clock.timestamp)
        report.pending.count += 5
        try await fleet.report(report)
        #expect(requests.withLock { $0 } == 1)  // More pods pending.
        fleet.clock.advance(by: .seconds(1))
        report.observedAt = fleet.clock.timestamp
        try await fleet.report(report)
        #expect(requests.withLock { $0 } == 1)  // Nothing new.
        fleet.clock.advance(by: .seconds(1))
        report.observedAt = fleet.clock.timestamp
        report.nodes[0].state = .notReady
        try await fleet.report(report)
        #expect(requests.withLock { $0 } == 2)  // A node is no longer Ready.
        await fleet.shutdown()
    }

    @Test("a follower plans nothing and sends nothing")
    func followerIsSilent() async throws {
        let fleet = try Self.fleet()
        try await fleet.report(try await Self.busyCluster(at: fleet.clock.timestamp))
        #expect(await fleet.planAndCommand() == nil)
        #expect(try await fleet.agent.calls() == 0)
        await fleet.shutdown()
    }

    @Test("an agent that has seen a newer epoch refuses a deposed leader's commands, and nothing is launched")
    func staleLeaderRefused() async throws {
        let fleet = try Self.fleet()
        try await fleet.agent.sawEpoch(FencingEpoch(9))
        fleet.leadership.set(FencingEpoch(8))  // This replica still believes it leads under 8.
        try await fleet.report(try await Self.busyCluster(at: fleet.clock.timestamp))
        _ = await fleet.planAndCommand()
        #expect(try await fleet.agent.launchedNodes() == 0)
        #expect(try await fleet.agent.staleRefusals() > 0)
        // A refusal is not retried: one call per planned launch.
        #expect(try await fleet.agent.calls() == (try await fleet.agent.staleRefusals()))
        // And the refused launches do not count as capacity.
        #expect(await fleet.launchesInFlight() == 0)
        await fleet.shutdown()
    }

    @Test("a replica that stops leading sends nothing more, even from a plan made while it led")
    func stopsWhenLeadershipEnds() async throws {
        let fleet = try Self.fleet()
        fleet.leadership.set(FencingEpoch(3))
        try await fleet.report(try await Self.busyCluster(at: fleet.clock.timestamp))
        let plan = try #require(await fleet.coordinator.whenLocal { $0.plan() })
        fleet.leadership.set(nil)
        await fleet.coordinator.whenLocal { await $0.sendCommands(for: plan, epoch: FencingEpoch(3)) }
        #expect(try await fleet.agent.calls() == 0)
        await fleet.shutdown()
    }

    @Test("an agent may report only for its own cluster")
    func reportIdentity() async throws {
        let fleet = try Self.fleet(cluster: "eu-web")
        var report = try await Self.busyCluster(at: fleet.clock.timestamp)
        report.clusterID = "us-api"
        await #expect {
            try await fleet.report(report)
        } throws: {
            ($0 as? CommandRejectedError)?.reason == .identityMismatch
                || ($0 as? CommandRejectedError)?.reason == .wrongCluster
        }
        await fleet.shutdown()
    }
}

@Suite("command ledger")
struct CommandLedgerTests {
    static let stamp = CommandStamp(epoch: FencingEpoch(2), generation: 7, leader: "coord-1")
    static func launch(slot: Int, count: Int = 2) -> LaunchCommand {
        LaunchCommand(
            stamp: stamp,
            cluster: "eu-web",
            instanceType: "m6i.large",
            market: .spot,
            availabilityZone: "eu-west-1a",
            count: count,
            token: LaunchToken.derive(cluster: "eu-web", epoch: FencingEpoch(2), generation: 7, slot: slot),
            reason: "test"
        )
    }
    static let t0 = Timestamp(sinceEpoch: .seconds(1_790_000_000))
    static func report(nodes: [NodeReport]) -> ClusterReport {
        ClusterReport(
            clusterID: "eu-web",
            region: "eu-west-1",
            availabilityZones: ["eu-west-1a"],
            nodes: nodes,
            observedAt: t0
        )
    }
    static func node(_ name: String, id: String) -> NodeReport {
        NodeReport(
            name: name,
            instanceID: id,
            instanceType: "m6i.large",
            market: .spot,
            availabilityZone: "eu-west-1a",
            state: .ready,
            launchedAt: t0,
            allocatable: .vcpu(2, gib: 8),
            requested: .zero,
            podCount: 0
        )
    }

    @Test("a launch in flight shows as launching nodes until its instances are reported, then stops counting")
    func launchLifecycle() throws {
        var ledger = CommandLedger()
        let catalog = try PriceCatalog.bundled()
        ledger.launchSent(Self.launch(slot: 0), at: FleetInstant(offset: .zero), time: Self.t0)
        var seen = ledger.overlay(Self.report(nodes: []), catalog: catalog)
        #expect(seen.nodes.count == 2)
        #expect(seen.nodes.allSatisfy { $0.state == .launching && $0.allocatable.cpuMillicores > 0 })
        ledger.launchAccepted(LaunchReceipt(token: Self.launch(slot: 0).token, instanceIDs: ["i-1", "i-2"]))
        // One of the two has joined: only the other is still launching.
        seen = ledger.overlay(Self.report(nodes: [Self.node("n1", id: "i-1")]), catalog: catalog)
        #expect(seen.nodes.filter { $0.state == .launching }.map(\.instanceID) == ["i-2"])
        _ = ledger.reconcile(
            with: Self.report(nodes: [Self.node("n1", id: "i-1"), Self.node("n2", id: "i-2")]),
            at: FleetInstant(offset: .seconds(90))
        )
        #expect(ledger.launches.isEmpty)
    }

    @Test("an instance the agent reports still booting counts with its type's allocatable once the launch is settled")
    func bootingInstanceCounts() throws {
        var ledger = CommandLedger()
        let catalog = try PriceCatalog.bundled()
        ledger.launchSent(Self.launch(slot: 0, count: 1), at: FleetInstant(offset: .zero), time: Self.t0)
        ledger.launchAccepted(LaunchReceipt(token: Self.launch(slot: 0, count: 1).token, instanceIDs: ["i-1"]))
        var booting = Self.node("i-1", id: "i-1")
        booting.state = .launching
        booting.allocatable = .zero  // The agent knows no allocatable before the node joins.
        let report = Self.report(nodes: [booting])
        _ = ledger.reconcile(with: report, at: FleetInstant(offset: .seconds(20)))
        #expect(ledger.launches.isEmpty)
        let seen = ledger.overlay(report, catalog: catalog)
        #expect(seen.nodes.count == 1)
        #expect(seen.nodes[0].allocatable.cpuMillicores > 0)
    }

    @Test("an unanswered launch is sent again unchanged; a launch never seen stops counting after the grace")
    func unansweredAndExpired() {
        var ledger = CommandLedger(launchGrace: .seconds(900))
        ledger.launchSent(Self.launch(slot: 0), at: FleetInstant(offset: .zero), time: Self.t0)
        ledger.launchSent(Self.launch(slot: 1), at: FleetInstant(offset: .zero), time: Self.t0)
        ledger.launchAccepted(LaunchReceipt(token: Self.launch(slot: 1).token, instanceIDs: ["i-9", "i-8"]))
        #expect(ledger.unconfirmed(under: FencingEpoch(2)).launches == [Self.launch(slot: 0)])
        #expect(ledger.unconfirmed(under: FencingEpoch(3)).launches.isEmpty)
        _ = ledger.reconcile(with: Self.report(nodes: []), at: FleetInstant(offset: .seconds(899)))
        #expect(ledger.launches.count == 2)
        _ = ledger.reconcile(with: Self.report(nodes: []), at: FleetInstant(offset: .seconds(901)))
        #expect(ledger.launches.isEmpty)
    }

    @Test("a node being drained is not counted or drained again; past its deadline it is reported stuck once")
    func drainLifecycle() throws {
        var ledger = CommandLedger(drainGrace: .seconds(60))
        let drain = DrainCommand(
            stamp: Self.stamp,
            cluster: "eu-web",
            nodeName: "n1",
            deadlineSeconds: 600,
            reason: "test"
        )
        ledger.drainSent(drain, at: FleetInstant(offset: .zero))
        #expect(ledger.isDraining("n1", in: "eu-web"))
        let seen = ledger.overlay(Self.report(nodes: [Self.node("n1", id: "i-1")]), catalog: try PriceCatalog.bundled())
        #expect(seen.nodes[0].state == .draining)
        let report = Self.report(nodes: [Self.node("n1", id: "i-1")])
        #expect(ledger.reconcile(with: report, at: FleetInstant(offset: .seconds(600))).isEmpty)
        #expect(ledger.reconcile(with: report, at: FleetInstant(offset: .seconds(661))).map(\.nodeName) == ["n1"])
        #expect(ledger.reconcile(with: report, at: FleetInstant(offset: .seconds(700))).isEmpty)
        #expect(ledger.isDraining("n1", in: "eu-web"))  // Stuck is reported, never resent blindly.
        _ = ledger.reconcile(with: Self.report(nodes: []), at: FleetInstant(offset: .seconds(800)))
        #expect(!ledger.isDraining("n1", in: "eu-web"))
    }
}

final class RecordingNotifier: Notifier {
    private let told = Mutex<[FleetNotification]>([])
    var notifications: [FleetNotification] { told.withLock { $0 } }
    func notify(_ notification: FleetNotification) { told.withLock { $0.append(notification) } }
}
