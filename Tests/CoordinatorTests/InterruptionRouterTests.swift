import AWSClients
import AWSTestSupport
import BallastTestSupport
import Clocks
import Coordinator
import Cost
import Crypto
import Distributed
import FleetAPI
import Foundation
import Logging
import Testing
import Wire

/// The leader, and a recording agent per cluster, over an in-process hub; the account-wide queue is moto's.
struct RoutingFleet {
    let clock = ManualClock()
    let leadership = ManualLeadership()
    let coordinatorSystem: WireActorSystem
    let coordinator: CoordinatorActor
    let agents: [ClusterID: (system: WireActorSystem, agent: RecordingAgent)]

    /// Clusters and the one instance each reports.
    static let instances: [ClusterID: String] = ["eu-web": "i-0c5ba6d1c1ea8e0b2", "us-api": "i-0b662ef9931388ba0"]

    init() throws {
        let hub = WireHub()
        let secret = SymmetricKey(data: Array("routing-test-secret-0123456789ab".utf8))
        let coordinatorSystem = try WireActorSystem(
            configuration: FleetAPI.wireConfiguration(nodeID: "coord-1", role: .coordinator, secrets: .shared(secret)),
            hub: hub
        )
        self.coordinatorSystem = coordinatorSystem
        let catalog = try PriceCatalog.bundled()
        let (clock, leadership) = (clock, leadership)
        coordinator = coordinatorSystem.withWellKnownName(WireActorSystem.WellKnownName.coordinator) {
            CoordinatorActor(
                actorSystem: coordinatorSystem,
                settings: .init(
                    clusters: Dictionary(
                        uniqueKeysWithValues: Self.instances.keys.map {
                            ($0, (region: "us-east-1", policy: ClusterPolicy()))
                        }
                    ),
                    budget: nil,
                    planner: PlannerSettings(),
                    catalog: catalog
                ),
                clock: clock,
                leadership: leadership,
                logger: Logger(label: "test")
            )
        }
        var agents: [ClusterID: (WireActorSystem, RecordingAgent)] = [:]
        for cluster in Self.instances.keys {
            let system = try WireActorSystem(
                configuration: FleetAPI.wireConfiguration(
                    nodeID: cluster.rawValue,
                    role: .agent,
                    secrets: .shared(secret)
                ),
                hub: hub
            )
            agents[cluster] = (
                system,
                system.withWellKnownName(WireActorSystem.WellKnownName.agent) { RecordingAgent(actorSystem: system) }
            )
        }
        self.agents = agents.mapValues { (system: $0.0, agent: $0.1) }
    }

    /// Each agent reports its cluster with its one instance as a Ready node.
    func reportAll() async throws {
        for (cluster, instanceID) in Self.instances {
            let (system, _) = try #require(agents[cluster])
            let report = ClusterReport(
                clusterID: cluster,
                region: "us-east-1",
                availabilityZones: ["us-east-1a"],
                nodes: [
                    NodeReport(
                        name: "ip-10-0-0-\(cluster == "eu-web" ? 1 : 2)",
                        instanceID: instanceID,
                        instanceType: "m6i.large",
                        market: .spot,
                        availabilityZone: "us-east-1a",
                        state: .ready,
                        launchedAt: clock.timestamp - .seconds(3_600),
                        allocatable: Resources(cpuMillicores: 2_000, memoryBytes: 8 << 30),
                        requested: .zero,
                        podCount: 3
                    )
                ],
                observedAt: clock.timestamp
            )
            let remote = try $CoordinatorEndpoint.resolve(id: coordinator.id, using: system)
            _ = try await remote.report(AgentReport(cluster: report))
        }
    }

    func router(sqs: SQS, queue: String, visibility: Duration = .seconds(2)) -> InterruptionRouter {
        InterruptionRouter(
            settings: .init(
                queues: ["us-east-1": queue],
                waitTime: .seconds(1),
                visibilityTimeout: visibility,
                idlePoll: .milliseconds(50)
            ),
            sqsForRegion: { _ in sqs },
            coordinator: coordinator,
            leadership: leadership,
            clock: SystemClock(),
            logger: Logger(label: "test.router")
        )
    }

    func routed(to cluster: ClusterID) async throws -> [RoutedInterruption] {
        try await #require(agents[cluster]).agent.interruptions()
    }

    func shutdown() async {
        for (system, _) in agents.values { await system.shutdown() }
        await coordinatorSystem.shutdown()
    }
}

@Suite("the leader's interruption router against moto's SQS", .moto)
struct InterruptionRouterTests {
    typealias Samples = EventBridgeSamples

    /// Polls until `count` messages had an outcome, or 10 polls passed.
    static func poll(_ router: InterruptionRouter, count: Int) async throws -> [String: InterruptionRouter.Outcome] {
        var outcomes: [String: InterruptionRouter.Outcome] = [:]
        for _ in 0..<10 where outcomes.count < count {
            outcomes.merge(try await router.poll(region: "us-east-1")) { _, new in new }
        }
        return outcomes
    }

    /// Everything on the queue now (visible), received with a short visibility so it comes back.
    static func remaining(_ sqs: SQS, _ queue: String) async throws -> [SQS.Message] {
        var messages: [SQS.Message] = []
        for _ in 0..<3 {
            messages += try await sqs.receiveMessages(
                .init(queueURL: queue, maxNumberOfMessages: 10, waitTime: .seconds(1), visibilityTimeout: .seconds(30))
            )
        }
        return messages
    }

    @Test("each notice goes to the agent of the cluster that reports its instance, and is deleted once acknowledged")
    func routedToOwner() async throws {
        let moto = try MotoServer.current
        try await withAWSClient(for: moto) { client in
            let sqs = SQS(client: client)
            let queue = try await sqs.createQueue(name: uniqueName("account-interruptions"))
            let fleet = try RoutingFleet()
            fleet.leadership.set(FencingEpoch(4))
            try await fleet.reportAll()
            try await sqs.sendMessage(queueURL: queue, body: Samples.spotInterruption)  // us-api's instance
            try await sqs.sendMessage(queueURL: queue, body: Samples.rebalance)  // eu-web's instance
            let outcomes = try await Self.poll(fleet.router(sqs: sqs, queue: queue), count: 2)
            #expect(Set(outcomes.values) == [.routed(["us-api"]), .routed(["eu-web"])])

            let usAPI = try await fleet.routed(to: "us-api")
            #expect(usAPI.count == 1)
            #expect(usAPI.first?.kind == .spotInterruption)
            #expect(usAPI.first?.instanceIDs == ["i-0b662ef9931388ba0"])
            #expect(usAPI.first?.time == Timestamp(year: 2027, month: 3, day: 1, hour: 10, minute: 2))
            #expect(usAPI.first?.stamp.epoch == FencingEpoch(4))
            let euWeb = try await fleet.routed(to: "eu-web")
            #expect(euWeb.map(\.kind) == [.rebalanceRecommendation])
            #expect(euWeb.first?.instanceIDs == ["i-0c5ba6d1c1ea8e0b2"])
            let journal = try await fleet.coordinator.events(after: 0, cluster: nil, limit: 100)
            #expect(journal.filter { $0.kind == "interruption-routed" }.count == 2)

            // Deleted: after the visibility timeout nothing comes back.
            try await Task.sleep(for: .seconds(3))
            #expect(try await Self.remaining(sqs, queue).isEmpty)
            await fleet.shutdown()
        }
    }

    @Test("a notice for an instance no cluster reports is deleted; one that cannot be read is left for the redrive")
    func unknownDeletedUnreadableLeft() async throws {
        let moto = try MotoServer.current
        try await withAWSClient(for: moto) { client in
            let sqs = SQS(client: client)
            let queue = try await sqs.createQueue(name: uniqueName("account-interruptions"))
            let fleet = try RoutingFleet()
            fleet.leadership.set(FencingEpoch(4))
            try await fleet.reportAll()
            try await sqs.sendMessage(queueURL: queue, body: Samples.stateChange)  // i-0e2a…: nobody's
            let garbage = try await sqs.sendMessage(queueURL: queue, body: Samples.garbage)
            let outcomes = try await Self.poll(fleet.router(sqs: sqs, queue: queue), count: 2)
            #expect(outcomes[garbage] == .left)
            #expect(outcomes.filter { $0.key != garbage }.values.map { $0 } == [.deleted])
            #expect(try await fleet.routed(to: "eu-web").isEmpty)
            #expect(try await fleet.routed(to: "us-api").isEmpty)

            try await Task.sleep(for: .seconds(3))
            let left = try await Self.remaining(sqs, queue)
            #expect(left.map(\.messageID) == [garbage])
            #expect(left.first?.attributes["ApproximateReceiveCount"] == "2")
            await fleet.shutdown()
        }
    }

    @Test("a follower does not receive; the leader does, and stops when its leadership ends")
    func onlyTheLeaderConsumes() async throws {
        let moto = try MotoServer.current
        try await withAWSClient(for: moto) { client in
            let sqs = SQS(client: client)
            let queue = try await sqs.createQueue(name: uniqueName("account-interruptions"))
            let fleet = try RoutingFleet()
            try await fleet.reportAll()
            let sent = try await sqs.sendMessage(queueURL: queue, body: Samples.spotInterruption)
            // The service runs a while as a follower: the message is never received (its receive count stays 0).
            let router = fleet.router(sqs: sqs, queue: queue, visibility: .seconds(30))
            let running = Task { try await router.run() }
            try await Task.sleep(for: .milliseconds(1_500))
            #expect(try await router.poll(region: "us-east-1").isEmpty)
            running.cancel()
            _ = try? await running.value
            #expect(try await fleet.routed(to: "us-api").isEmpty)
            let seen = try await sqs.receiveMessages(
                .init(queueURL: queue, maxNumberOfMessages: 10, waitTime: .seconds(1), visibilityTimeout: .seconds(1))
            )
            #expect(seen.map(\.messageID) == [sent])
            #expect(seen.first?.attributes["ApproximateReceiveCount"] == "1")

            // Leading, the running service routes it; once leadership ends it receives no more.
            try await Task.sleep(for: .seconds(2))
            fleet.leadership.set(FencingEpoch(2))
            let leading = Task { try await router.run() }
            var routed: [RoutedInterruption] = []
            for _ in 0..<100 where routed.isEmpty {
                try await Task.sleep(for: .milliseconds(100))
                routed = try await fleet.routed(to: "us-api")
            }
            #expect(routed.map(\.instanceIDs) == [["i-0b662ef9931388ba0"]])
            fleet.leadership.set(nil)
            try await Task.sleep(for: .milliseconds(1_500))  // Any receive under way ends (wait time 1 s).
            let later = try await sqs.sendMessage(queueURL: queue, body: Samples.rebalance)
            try await Task.sleep(for: .milliseconds(1_000))
            leading.cancel()
            _ = try? await leading.value
            #expect(try await fleet.routed(to: "eu-web").isEmpty)
            let after = try await Self.remaining(sqs, queue)
            #expect(after.map(\.messageID) == [later])
            #expect(after.first?.attributes["ApproximateReceiveCount"] == "1")
            await fleet.shutdown()
        }
    }
}
