import Clocks
import ClusterAgent
import Cost
import FleetAPI
import Logging
import Simulation
import Testing

/// Orphans as the agent sees them: instances of the cluster that never became a node. It reports them, and
/// terminates one only on a leader's fenced command and only while it is still an orphan.
@Suite("orphan instances")
struct OrphanTerminationTests {
    /// A cluster whose new instances take `boot` to boot (and so to become a node), with one launched under
    /// `epoch` at the start.
    static func fixture(boot: Duration, epoch: UInt64 = 1) async throws -> (AgentFixture, PortsObserver, String) {
        let fixture = try await AgentFixture(workers: 2, bootDelay: boot...boot)
        let receipt = try await fixture.remote.launch(AgentFixture.launch(epoch: epoch, count: 1))
        let observer = PortsObserver(
            settings: .init(clusterID: "eu-web", region: "eu-west-1", availabilityZones: AgentFixture.zones),
            kube: fixture.cluster,
            cloud: fixture.cloud,
            metrics: fixture.cluster,
            ledger: fixture.ledger,
            drains: fixture.drains,
            logger: Logger(label: "test")
        )
        return (fixture, observer, try #require(receipt.instanceIDs.first))
    }

    static func terminate(_ instanceIDs: [String], epoch: UInt64) -> TerminateOrphansCommand {
        TerminateOrphansCommand(
            stamp: AgentFixture.stamp(epoch, generation: 7),
            cluster: "eu-web",
            instanceIDs: instanceIDs,
            reason: "test"
        )
    }

    @Test("an instance with no node past the provision time is reported as an orphan; a booting one is not")
    func orphanReported() async throws {
        let (fixture, observer, instance) = try await Self.fixture(boot: .seconds(3_600))
        var report = try await observer.observe(at: fixture.clock.timestamp)
        #expect(report.orphans.isEmpty)
        #expect(report.nodes.first { $0.instanceID == instance }?.state == .launching)
        fixture.clock.advance(by: .seconds(899))
        report = try await observer.observe(at: fixture.clock.timestamp)
        #expect(report.orphans.isEmpty)
        fixture.clock.advance(by: .seconds(2))
        report = try await observer.observe(at: fixture.clock.timestamp)
        #expect(report.orphans == [instance])
        #expect(report.nodes.first { $0.instanceID == instance }?.state == .notReady)
        // The workers that are nodes are no orphans.
        #expect(report.nodes.filter { $0.state == .ready }.count == 2)
        await fixture.shutdown()
    }

    @Test("on the leader's command an orphan is terminated, and the next report names it no more")
    func terminatedOnCommand() async throws {
        let (fixture, observer, instance) = try await Self.fixture(boot: .seconds(3_600))
        fixture.clock.advance(by: .seconds(901))
        #expect(try await observer.observe(at: fixture.clock.timestamp).orphans == [instance])
        let receipt = try await fixture.remote.terminateOrphans(Self.terminate([instance], epoch: 1))
        #expect(receipt == OrphanTerminationReceipt(terminated: [instance], gone: [], kept: []))
        #expect(fixture.cloud.terminateCalls == [[instance]])
        #expect(fixture.cloud.isTerminated(instance))
        let after = try await observer.observe(at: fixture.clock.timestamp)
        #expect(after.orphans.isEmpty)
        #expect(!after.nodes.contains { $0.instanceID == instance })
        // A resent command changes nothing: the instance is gone, and said so.
        let again = try await fixture.remote.terminateOrphans(Self.terminate([instance], epoch: 1))
        #expect(again == OrphanTerminationReceipt(terminated: [], gone: [instance], kept: []))
        #expect(fixture.cloud.terminateCalls.count == 1)
        await fixture.shutdown()
    }

    @Test("a termination under an epoch lower than one the agent has seen is refused and terminates nothing")
    func staleEpochRefused() async throws {
        let (fixture, observer, instance) = try await Self.fixture(boot: .seconds(3_600), epoch: 5)
        fixture.clock.advance(by: .seconds(901))
        #expect(try await observer.observe(at: fixture.clock.timestamp).orphans == [instance])
        await #expect(throws: StaleEpochError(presented: FencingEpoch(4), highestSeen: FencingEpoch(5))) {
            try await fixture.remote.terminateOrphans(Self.terminate([instance], epoch: 4))
        }
        #expect(fixture.cloud.terminateCalls.isEmpty)
        #expect(try await observer.observe(at: fixture.clock.timestamp).orphans == [instance])
        await fixture.shutdown()
    }

    @Test("an orphan whose node appeared before the command came is kept, with the node named")
    func nodeAppearedKept() async throws {
        let (fixture, observer, instance) = try await Self.fixture(boot: .seconds(960))
        fixture.clock.advance(by: .seconds(930))
        #expect(try await observer.observe(at: fixture.clock.timestamp).orphans == [instance])
        // It boots at 960 s and its node joins: the leader's confirmation arrives too late to matter.
        fixture.clock.advance(by: .seconds(40))
        let receipt = try await fixture.remote.terminateOrphans(Self.terminate([instance], epoch: 1))
        #expect(receipt.terminated.isEmpty)
        #expect(receipt.kept.map(\.instanceID) == [instance])
        #expect(receipt.kept.first?.reason.contains("node ") == true)
        #expect(fixture.cloud.terminateCalls.isEmpty)
        #expect(!fixture.cloud.isTerminated(instance))
        #expect(try await observer.observe(at: fixture.clock.timestamp).orphans.isEmpty)
        await fixture.shutdown()
    }

    @Test("an instance still within the provision time, or one not of this cluster, is not terminated")
    func youngOrUnknownKept() async throws {
        let (fixture, _, instance) = try await Self.fixture(boot: .seconds(3_600))
        fixture.clock.advance(by: .seconds(600))
        let receipt = try await fixture.remote.terminateOrphans(
            Self.terminate([instance, "i-0000000000000dead"], epoch: 1)
        )
        #expect(receipt.kept.map(\.instanceID) == [instance])
        // Not among the cluster's instances: nothing to terminate (gone already, or never ours).
        #expect(receipt.gone == ["i-0000000000000dead"])
        #expect(receipt.terminated.isEmpty)
        #expect(fixture.cloud.terminateCalls.isEmpty)
        await fixture.shutdown()
    }
}
