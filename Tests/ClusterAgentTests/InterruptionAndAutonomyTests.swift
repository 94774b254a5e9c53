import Clocks
import ClusterAgent
import Cost
import FleetAPI
import Logging
import Simulation
import Synchronization
import Testing

/// An interruption queue held in memory: what was acknowledged is recorded.
final class QueuedInterruptions: InterruptionSource {
    private let acknowledged = Mutex<[String]>([])
    var acknowledgedIDs: [String] { acknowledged.withLock { $0 } }

    func receive() async throws -> [InterruptionMessage] { [] }

    func acknowledge(_ message: InterruptionMessage) async throws {
        acknowledged.withLock { $0.append(message.id) }
    }
}

@Suite("interruptions and autonomy")
struct InterruptionAndAutonomyTests {
    @Test(
        "a spot interruption drains that node at once and records a notice; an unreadable message is not acknowledged"
    )
    func spotInterruption() async throws {
        let fixture = try await AgentFixture(workers: 2)
        let source = QueuedInterruptions()
        let service = InterruptionService(
            source: source,
            kube: fixture.cluster,
            cloud: fixture.cloud,
            drains: fixture.drains,
            ledger: fixture.ledger,
            trigger: fixture.trigger,
            rebalance: .replace,
            clock: fixture.clock,
            logger: Logger(label: "test")
        )
        let instance = try #require(try await fixture.cloud.instances().first)
        let node = try #require(
            try await fixture.cluster.nodes().first { $0.labels[instanceIDLabel] == instance.instanceID }
        )
        try await fixture.withDrains {
            await service.handleAndAcknowledge(
                InterruptionMessage(
                    id: "m-1",
                    receipt: "r-1",
                    event: .spotInterruption(
                        instanceID: instance.instanceID,
                        deadline: fixture.clock.timestamp + .seconds(120)
                    )
                )
            )
            await service.handleAndAcknowledge(
                InterruptionMessage(id: "m-2", receipt: "r-2", event: .unreadable(reason: "not JSON"))
            )
            #expect(await fixture.advance(until: { await fixture.drainEnded(node.name) }, limit: .seconds(120)))
        }
        #expect(source.acknowledgedIDs == ["m-1"])
        let notices = fixture.ledger.reportable(at: fixture.clock.timestamp).notices
        #expect(notices.map(\.kind) == [.interruption])
        #expect(notices.first?.nodeName == node.name)
        #expect(await fixture.drains.outcome(of: node.name)?.terminated == true)
        #expect(fixture.cloud.terminateCalls == [[instance.instanceID]])
        await fixture.shutdown()
    }

    @Test(
        "with no leader for autonomous-after the agent adds on-demand nodes for pending pods, and leaves when a leader returns"
    )
    func autonomy() async throws {
        let fixture = try await AgentFixture(workers: 1)
        await fixture.cluster.addWorkload(.init(name: "web", replicas: 12, podRequest: .vcpu(0.5, gib: 0.5)))
        let service = AutonomyService(
            settings: .init(autonomousAfter: .seconds(120), maxNodes: 2, checkInterval: .seconds(10)),
            clusterID: "eu-web",
            kube: fixture.cluster,
            cloud: fixture.cloud,
            ledger: fixture.ledger,
            clock: fixture.clock,
            logger: Logger(label: "test")
        )
        await service.check()
        #expect(await service.isAutonomous == false)
        #expect(fixture.cloud.launchCalls == 0)

        fixture.clock.advance(by: .seconds(121))
        await service.check()
        #expect(await service.isAutonomous)
        #expect(fixture.cloud.launchCalls == 1)
        let launched = try await fixture.cloud.instances().filter { $0.token != nil }
        #expect(launched.count == 2)  // 9 pending pods of 0.5 vCPU want 3 nodes; the cap allows 2
        #expect(launched.allSatisfy { $0.market == .onDemand })

        // While they boot, nothing more; the cap holds after they join.
        await service.check()
        #expect(fixture.cloud.launchCalls == 1)
        fixture.clock.advance(by: .seconds(200))
        await service.check()
        #expect(fixture.cloud.launchCalls == 1)
        #expect(try await fixture.cloud.instances().count == 3)

        // A leader's command ends the mode.
        _ = try await fixture.remote.launch(AgentFixture.launch(epoch: 1))
        await service.check()
        #expect(await service.isAutonomous == false)
        await fixture.shutdown()
    }
}
