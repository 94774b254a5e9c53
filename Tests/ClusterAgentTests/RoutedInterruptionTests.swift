import Clocks
import ClusterAgent
import Cost
import FleetAPI
import Simulation
import Testing

/// Notices the leader routes from an account-wide queue: handled exactly as those of the agent's own queue.
@Suite("routed interruption notices")
struct RoutedInterruptionTests {
    static func notice(
        _ kind: RoutedInterruption.Kind,
        _ instanceIDs: [String],
        epoch: UInt64,
        time: Timestamp? = nil,
        state: String? = nil
    ) -> RoutedInterruption {
        RoutedInterruption(
            stamp: AgentFixture.stamp(epoch),
            cluster: "eu-web",
            messageID: "m-1",
            kind: kind,
            instanceIDs: instanceIDs,
            time: time,
            state: state
        )
    }

    /// A worker node and its instance.
    static func worker(_ fixture: AgentFixture) async throws -> (node: String, instance: String) {
        let nodes = try await fixture.cluster.nodes()
        let map = NodeInstanceMap(nodes: nodes, instances: try await fixture.cloud.instances())
        let (node, instance) = try #require(map.instanceByNode.sorted { $0.key < $1.key }.first)
        return (node, instance.instanceID)
    }

    @Test("a routed spot interruption drains the node at once and is reported as a notice, as one from the own queue")
    func spotInterruptionDrains() async throws {
        let fixture = try await AgentFixture()
        let (node, instance) = try await Self.worker(fixture)
        let deadline = fixture.clock.timestamp + .seconds(120)
        let receipt = try await fixture.remote.acceptInterruption(
            Self.notice(.spotInterruption, [instance], epoch: 2, time: deadline)
        )
        #expect(receipt == RoutedInterruptionReceipt(messageID: "m-1", handled: [instance]))
        #expect(await fixture.drains.draining.contains(node))
        let (_, notices) = fixture.ledger.reportable(at: fixture.clock.timestamp)
        #expect(notices.map(\.nodeName) == [node])
        #expect(notices.first?.kind == .interruption)
        await fixture.shutdown()
    }

    @Test("a routed notice under a stale epoch is refused and nothing is drained")
    func staleEpochRefused() async throws {
        let fixture = try await AgentFixture()
        let (_, instance) = try await Self.worker(fixture)
        _ = try fixture.fence.admit(FencingEpoch(5))
        await #expect(throws: StaleEpochError(presented: FencingEpoch(4), highestSeen: FencingEpoch(5))) {
            try await fixture.remote.acceptInterruption(
                Self.notice(.spotInterruption, [instance], epoch: 4, time: fixture.clock.timestamp + .seconds(120))
            )
        }
        #expect(await fixture.drains.draining.isEmpty)
        #expect(fixture.ledger.reportable(at: fixture.clock.timestamp).1.isEmpty)
        await fixture.shutdown()
    }

    @Test("a routed warning for an instance that is not the cluster's changes nothing; a malformed one is refused")
    func notOursOrMalformed() async throws {
        let fixture = try await AgentFixture()
        let receipt = try await fixture.remote.acceptInterruption(
            Self.notice(.spotInterruption, ["i-0000000000000beef"], epoch: 1, time: fixture.clock.timestamp)
        )
        #expect(receipt.handled.isEmpty)
        #expect(await fixture.drains.draining.isEmpty)
        await #expect(throws: CommandRejectedError.self) {
            try await fixture.remote.acceptInterruption(Self.notice(.spotInterruption, ["i-1"], epoch: 1))
        }
        await fixture.shutdown()
    }
}
