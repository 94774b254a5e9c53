import Clocks
import ClusterAgent
import Cost
import Crypto
import FleetAPI
import Foundation
import Logging
import Simulation
import Testing
import Wire
import WireFormat

/// One agent on a simulated cluster, reachable over an in-process hub from a coordinator's system, in virtual time.
struct AgentFixture {
    let clock = ManualClock()
    let coordinatorSystem: WireActorSystem
    let agentSystem: WireActorSystem
    let cloud: SimulatedCloud
    let cluster: SimulatedCluster
    let ledger = AgentLedger()
    let fence: EpochFence
    let drains: DrainService
    let agent: ClusterAgentActor
    let remote: any ClusterAgentEndpoint
    let trigger = ReportTrigger()
    static let zones = ["eu-west-1a", "eu-west-1b"]
    static let pool = SimulatedCloud.Pool(instanceType: "m6i.large", market: .spot, availabilityZone: "eu-west-1a")

    init(
        store: any EpochStore = InMemoryEpochStore(),
        workers: Int = 3,
        maxConcurrentDrains: Int = 3,
        bootDelay: ClosedRange<Duration> = .seconds(60)...(.seconds(90))
    ) async throws {
        let hub = WireHub()
        func configuration(_ node: String, _ role: WireRole) -> WireActorSystem.Configuration {
            FleetAPI.wireConfiguration(
                nodeID: node,
                role: role,
                secrets: .shared(SymmetricKey(data: Array("agent-test-secret-0123456789abcd".utf8)))
            )
        }
        coordinatorSystem = try WireActorSystem(configuration: configuration("coord-1", .coordinator), hub: hub)
        agentSystem = try WireActorSystem(configuration: configuration("eu-web", .agent), hub: hub)
        cloud = SimulatedCloud(clusterID: "eu-web", clock: clock, bootDelay: bootDelay, seed: 7)
        cloud.seedRunning(Self.pool, count: workers, launchedAt: clock.timestamp - .seconds(3_600))
        cluster = SimulatedCluster(
            cloud: cloud,
            clock: clock,
            nodeReadyDelay: .seconds(20),
            terminationGrace: .seconds(5)
        )
        fence = try EpochFence(store: store)
        let logger = Logger(label: "test")
        drains = DrainService(
            kube: cluster,
            cloud: cloud,
            clock: clock,
            fence: fence,
            ledger: ledger,
            trigger: trigger,
            maxConcurrent: maxConcurrentDrains,
            random: SeededRandom(seed: 3),
            logger: logger
        )
        let (agentSystem, fence, ledger, cloud, cluster, drains, clock, trigger) = (
            agentSystem, fence, ledger, cloud, cluster, drains, clock, trigger
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
                trigger: trigger,
                logger: logger
            )
        }
        remote = try $ClusterAgentEndpoint.resolve(
            id: WireActorSystem.wellKnownID(node: "eu-web", name: WireActorSystem.WellKnownName.agent),
            using: coordinatorSystem
        )
    }

    func shutdown() async {
        await coordinatorSystem.shutdown()
        await agentSystem.shutdown()
    }

    static func stamp(_ epoch: UInt64, generation: UInt64 = 1) -> CommandStamp {
        CommandStamp(epoch: FencingEpoch(epoch), generation: generation, leader: "coord-1")
    }

    static func launch(
        epoch: UInt64,
        generation: UInt64 = 1,
        count: Int = 2,
        zone: String = "eu-west-1a"
    ) -> LaunchCommand {
        LaunchCommand(
            stamp: stamp(epoch, generation: generation),
            cluster: "eu-web",
            instanceType: "m6i.large",
            market: .spot,
            availabilityZone: zone,
            count: count,
            token: .derive(cluster: "eu-web", epoch: FencingEpoch(epoch), generation: generation, slot: 0),
            reason: "test"
        )
    }

    static func drain(_ node: String, epoch: UInt64, deadline: Int = 300) -> DrainCommand {
        DrainCommand(stamp: stamp(epoch), cluster: "eu-web", nodeName: node, deadlineSeconds: deadline, reason: "test")
    }

    /// Moves virtual time in steps, letting the drains run between them.
    func advance(by total: Duration, step: Duration = .milliseconds(500)) async {
        var elapsed = Duration.zero
        while elapsed < total {
            for _ in 0..<50 { await Task.yield() }
            clock.advance(by: step)
            elapsed += step
        }
        for _ in 0..<50 { await Task.yield() }
    }

    /// Moves virtual time in steps until `condition` holds, giving the agent's tasks every chance to run before
    /// each step (so a busy machine slows the test down but does not change what it sees). Returns false when
    /// `limit` of virtual time passed first.
    func advance(
        until condition: () async -> Bool,
        limit: Duration,
        step: Duration = .milliseconds(500)
    ) async -> Bool {
        var elapsed = Duration.zero
        while true {
            if await Self.settle(condition) { return true }
            guard elapsed < limit else { return false }
            clock.advance(by: step)
            elapsed += step
        }
    }

    /// Yields until `condition` holds, at most `maxYields` times.
    static func settle(_ condition: () async -> Bool, maxYields: Int = 500) async -> Bool {
        for _ in 0..<maxYields {
            if await condition() { return true }
            await Task.yield()
        }
        return await condition()
    }

    /// Whether the drain of `node` has ended.
    func drainEnded(_ node: String) async -> Bool { await drains.outcome(of: node) != nil }

    /// Runs `body` with the drain service running.
    func withDrains(_ body: () async throws -> Void) async throws {
        let service = drains
        let task = Task { try await service.run() }
        defer { task.cancel() }
        try await body()
    }

    func nodeNames() async throws -> [String] { try await cluster.nodes().map(\.name) }
}

@Suite("cluster agent actor")
struct ClusterAgentActorTests {
    @Test("a command for another cluster is refused")
    func wrongCluster() async throws {
        let fixture = try await AgentFixture()
        var command = AgentFixture.launch(epoch: 1)
        command.cluster = "us-api"
        await #expect(throws: CommandRejectedError.self) { try await fixture.remote.launch(command) }
        #expect(fixture.cloud.launchCalls == 0)
        await fixture.shutdown()
    }

    @Test("a lower epoch is refused, a higher one persisted before acting")
    func staleEpoch() async throws {
        let store = InMemoryEpochStore()
        let fixture = try await AgentFixture(store: store)
        _ = try await fixture.remote.launch(AgentFixture.launch(epoch: 5))
        #expect(try store.load() == FencingEpoch(5))
        await #expect(throws: StaleEpochError(presented: FencingEpoch(4), highestSeen: FencingEpoch(5))) {
            try await fixture.remote.launch(AgentFixture.launch(epoch: 4, generation: 9))
        }
        #expect(fixture.cloud.launchCalls == 1)
        await fixture.shutdown()
    }

    @Test("the epoch survives a restart: a new agent on the same epoch file still refuses the old leader")
    func epochSurvivesRestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agent-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try await AgentFixture(store: FileEpochStore(directory: directory))
        _ = try await first.remote.launch(AgentFixture.launch(epoch: 7))
        await first.shutdown()
        #expect(try String(contentsOfFile: directory + "/highest-epoch", encoding: .utf8) == "7\n")

        let restarted = try await AgentFixture(store: FileEpochStore(directory: directory))
        await #expect(throws: StaleEpochError(presented: FencingEpoch(6), highestSeen: FencingEpoch(7))) {
            try await restarted.remote.drain(AgentFixture.drain("any", epoch: 6))
        }
        await restarted.shutdown()
    }

    @Test("a launch retried with the same token reaches the cloud once and answers the same instances")
    func launchIdempotent() async throws {
        let fixture = try await AgentFixture()
        let command = AgentFixture.launch(epoch: 3)
        async let a = fixture.remote.launch(command)
        async let b = fixture.remote.launch(command)
        let (first, second) = try await (a, b)
        let third = try await fixture.remote.launch(command)
        #expect(first.instanceIDs.count == 2)
        #expect(second == first)
        #expect(third == first)
        #expect(fixture.cloud.launchCalls == 1)
        await fixture.shutdown()
    }

    @Test("a capacity error answers a typed error and is reported as a launch failure")
    func capacityError() async throws {
        let fixture = try await AgentFixture()
        fixture.cloud.injectFailure(
            CloudError(.insufficientCapacity, cloudCode: "InsufficientInstanceCapacity", "no capacity"),
            for: AgentFixture.pool
        )
        await #expect(
            throws: LaunchFailedError(
                code: "insufficient-capacity",
                cloudCode: "InsufficientInstanceCapacity",
                message: "no capacity"
            )
        ) {
            try await fixture.remote.launch(AgentFixture.launch(epoch: 1))
        }
        let failures = fixture.ledger.reportable(at: fixture.clock.timestamp).failures
        #expect(failures.map(\.reason) == ["InsufficientInstanceCapacity"])
        #expect(failures.first?.availabilityZone == "eu-west-1a")
        await fixture.shutdown()
    }

    @Test("a drain of an unknown node is refused; a repeated drain answers already-draining")
    func drainAcceptance() async throws {
        let fixture = try await AgentFixture()
        await #expect(throws: CommandRejectedError.self) {
            try await fixture.remote.drain(AgentFixture.drain("db-1", epoch: 1))
        }
        let node = try #require(try await fixture.nodeNames().first)
        let first = try await fixture.remote.drain(AgentFixture.drain(node, epoch: 1))
        let again = try await fixture.remote.drain(AgentFixture.drain(node, epoch: 1))
        #expect(first == DrainReceipt(nodeName: node, alreadyDraining: false))
        #expect(again == DrainReceipt(nodeName: node, alreadyDraining: true))
        await fixture.shutdown()
    }

    @Test("a drain honours the budget, skips DaemonSet pods, then terminates the instance and deletes the node")
    func drainHonoursBudget() async throws {
        let fixture = try await AgentFixture(workers: 3)
        await fixture.cluster.addDaemonSet(
            "node-exporter",
            podRequest: Resources(cpuMillicores: 50, memoryBytes: 64 << 20)
        )
        await fixture.cluster.addWorkload(.init(name: "web", replicas: 6, podRequest: .vcpu(0.25, gib: 0.5)))
        await fixture.cluster.addDisruptionBudget(workload: "web", maxUnavailable: 1)
        let node = try #require(try await fixture.nodeNames().first)
        let onNode = try await fixture.cluster.pods(onNode: node)
        #expect(onNode.filter { !$0.isDaemonSetPod }.count == 6)  // first fit puts all six on the first node
        try await fixture.withDrains {
            _ = try await fixture.remote.drain(AgentFixture.drain(node, epoch: 2, deadline: 900))
            #expect(await fixture.advance(until: { await fixture.drainEnded(node) }, limit: .seconds(600)))
        }
        #expect(await fixture.drains.outcome(of: node) == .completed(evictions: 6))
        #expect(await fixture.cluster.maxDisrupted["web"] == 1)
        #expect(await fixture.cluster.evictions.allSatisfy { !$0.name.hasPrefix("node-exporter") })
        #expect(await fixture.cluster.runningPods(of: "web") == 6)
        #expect(try await fixture.nodeNames().contains(node) == false)
        #expect(fixture.cloud.terminateCalls.count == 1)
        await fixture.shutdown()
    }

    @Test("the deadline leaves the node cordoned and its instance running when pods cannot be evicted")
    func drainDeadline() async throws {
        let fixture = try await AgentFixture(workers: 1)
        await fixture.cluster.addWorkload(.init(name: "db", replicas: 2, podRequest: .vcpu(0.25, gib: 0.5)))
        await fixture.cluster.addDisruptionBudget(workload: "db", maxUnavailable: 0)
        let node = try #require(try await fixture.nodeNames().first)
        try await fixture.withDrains {
            _ = try await fixture.remote.drain(AgentFixture.drain(node, epoch: 1, deadline: 30))
            #expect(await fixture.advance(until: { await fixture.drainEnded(node) }, limit: .seconds(60)))
        }
        let outcome = try #require(await fixture.drains.outcome(of: node))
        #expect(!outcome.terminated)
        guard case .abandoned = outcome else {
            Issue.record("expected the deadline to abandon the drain, got \(outcome)")
            return
        }
        #expect(fixture.cloud.terminateCalls.isEmpty)
        let kept = try #require(try await fixture.cluster.nodes().first { $0.name == node })
        #expect(kept.unschedulable)
        #expect(fixture.ledger.drainProblems[node] != nil)
        await fixture.shutdown()
    }

    @Test("an HTTP 500 from the Eviction API stops the drain at once")
    func drainServerError() async throws {
        let fixture = try await AgentFixture(workers: 2)
        await fixture.cluster.addWorkload(.init(name: "web", replicas: 2, podRequest: .vcpu(0.25, gib: 0.5)))
        await fixture.cluster.setFailingEvictions(["web"])
        let node = try #require(try await fixture.nodeNames().first)
        try await fixture.withDrains {
            _ = try await fixture.remote.drain(AgentFixture.drain(node, epoch: 1))
            #expect(await fixture.advance(until: { await fixture.drainEnded(node) }, limit: .seconds(2)))
        }
        guard case .failed = try #require(await fixture.drains.outcome(of: node)) else {
            Issue.record("expected the drain to fail")
            return
        }
        #expect(await fixture.cluster.evictions.isEmpty)
        #expect(fixture.cloud.terminateCalls.isEmpty)
        await fixture.shutdown()
    }

    @Test("a newer epoch seen mid-drain stops it before its next eviction")
    func drainSuperseded() async throws {
        let fixture = try await AgentFixture(workers: 2)
        await fixture.cluster.addWorkload(.init(name: "web", replicas: 4, podRequest: .vcpu(0.25, gib: 0.5)))
        await fixture.cluster.addDisruptionBudget(workload: "web", maxUnavailable: 1)
        let node = try #require(try await fixture.nodeNames().first)
        await fixture.advance(by: .seconds(15))  // the pods start
        try await fixture.withDrains {
            _ = try await fixture.remote.drain(AgentFixture.drain(node, epoch: 2))
            #expect(
                await fixture.advance(
                    until: { await !fixture.cluster.evictions.isEmpty },
                    limit: .seconds(1),
                    step: .milliseconds(100)
                )
            )
            let evictedBefore = await fixture.cluster.evictions.count
            #expect(evictedBefore == 1)  // the budget holds the rest until the replacement has started
            // A new leader's command raises the epoch.
            _ = try await fixture.remote.launch(AgentFixture.launch(epoch: 3))
            #expect(await fixture.advance(until: { await fixture.drainEnded(node) }, limit: .seconds(60)))
            await fixture.advance(by: .seconds(60))
            #expect(await fixture.cluster.evictions.count == evictedBefore)
        }
        guard case .stopped = try #require(await fixture.drains.outcome(of: node)) else {
            Issue.record("expected the drain to stop")
            return
        }
        #expect(fixture.cloud.terminateCalls.isEmpty)
        await fixture.shutdown()
    }

    @Test("at most the configured number of drains run at once")
    func drainCap() async throws {
        let fixture = try await AgentFixture(workers: 4, maxConcurrentDrains: 2)
        await fixture.cluster.addWorkload(.init(name: "db", replicas: 8, podRequest: .vcpu(0.9, gib: 0.5)))
        await fixture.cluster.addDisruptionBudget(workload: "db", maxUnavailable: 0)
        let nodes = try await fixture.nodeNames()
        try await fixture.withDrains {
            for node in nodes.prefix(3) { _ = try await fixture.remote.drain(AgentFixture.drain(node, epoch: 1)) }
            #expect(await fixture.advance(until: { await fixture.drains.runningCount == 2 }, limit: .seconds(5)))
            // The budget holds every pod, so the two run on; the third waits its turn.
            await fixture.advance(by: .seconds(30))
            #expect(await fixture.drains.runningCount == 2)
            #expect(await fixture.drains.draining.count == 3)
            #expect(await fixture.drains.outcome(of: nodes[2]) == nil)
        }
        await fixture.shutdown()
    }
}
