import Cost
import Crypto
import Distributed
import FleetAPI
import Testing
import Wire
import WireFormat

/// An agent that keeps the highest epoch it has seen, as the real one does, and records what it executed.
distributed actor EpochCheckingAgent: ClusterAgentEndpoint {
    typealias ActorSystem = WireActorSystem
    private var highest = FencingEpoch.none
    private var launched: [LaunchToken: [String]] = [:]

    distributed func launch(_ command: LaunchCommand) async throws -> LaunchReceipt {
        try admit(command.stamp.epoch)
        if let existing = launched[command.token] { return LaunchReceipt(token: command.token, instanceIDs: existing) }
        let ids = (0..<command.count).map { "i-\(command.token.rawValue.suffix(6))\($0)" }
        launched[command.token] = ids
        return LaunchReceipt(token: command.token, instanceIDs: ids)
    }

    distributed func drain(_ command: DrainCommand) async throws -> DrainReceipt {
        try admit(command.stamp.epoch)
        guard command.nodeName.hasPrefix("worker-") else {
            throw CommandRejectedError(.unknownNode, "\(command.nodeName) is not a worker of this cluster")
        }
        return DrainReceipt(nodeName: command.nodeName, alreadyDraining: false)
    }

    distributed func terminateOrphans(_ command: TerminateOrphansCommand) async throws -> OrphanTerminationReceipt {
        try admit(command.stamp.epoch)
        return OrphanTerminationReceipt(terminated: command.instanceIDs)
    }

    distributed func acceptInterruption(_ notice: RoutedInterruption) async throws -> RoutedInterruptionReceipt {
        try admit(notice.stamp.epoch)
        return RoutedInterruptionReceipt(messageID: notice.messageID, handled: notice.instanceIDs)
    }

    distributed func launchCount() -> Int { launched.count }

    private func admit(_ epoch: FencingEpoch) throws(StaleEpochError) {
        guard epoch >= highest else { throw StaleEpochError(presented: epoch, highestSeen: highest) }
        highest = epoch
    }
}

@Suite("fleet endpoints over the wire")
struct EndpointCallTests {
    static func systems() throws -> (coordinator: WireActorSystem, agent: WireActorSystem) {
        let hub = WireHub()
        func configuration(_ node: String, _ role: WireRole) -> WireActorSystem.Configuration {
            FleetAPI.wireConfiguration(
                nodeID: node,
                role: role,
                secrets: .shared(SymmetricKey(data: Array("endpoint-test-secret-0123456789a".utf8)))
            )
        }
        return (
            try WireActorSystem(configuration: configuration("coord-1", .coordinator), hub: hub),
            try WireActorSystem(configuration: configuration("agent-eu-1", .agent), hub: hub)
        )
    }

    static func launch(epoch: UInt64, generation: UInt64, slot: Int = 0) -> LaunchCommand {
        let stamp = CommandStamp(epoch: FencingEpoch(epoch), generation: generation, leader: "coord-1")
        return LaunchCommand(
            stamp: stamp,
            cluster: "eu-web",
            instanceType: "m6i.large",
            market: .spot,
            availabilityZone: "eu-west-1a",
            count: 2,
            token: .derive(cluster: "eu-web", epoch: stamp.epoch, generation: generation, slot: slot),
            reason: "test"
        )
    }

    @Test("a coordinator resolves an agent by protocol and its commands run; a retried launch runs once")
    func launchThroughProtocol() async throws {
        let (coordinatorSystem, agentSystem) = try Self.systems()
        let agent = agentSystem.withWellKnownName(WireActorSystem.WellKnownName.agent) {
            EpochCheckingAgent(actorSystem: agentSystem)
        }
        let remote = try $ClusterAgentEndpoint.resolve(
            id: WireActorSystem.wellKnownID(node: "agent-eu-1", name: WireActorSystem.WellKnownName.agent),
            using: coordinatorSystem
        )
        let command = Self.launch(epoch: 3, generation: 1)
        let first = try await remote.launch(command)
        let retried = try await remote.launch(command)
        #expect(first.instanceIDs.count == 2)
        #expect(retried == first)
        #expect(try await agent.launchCount() == 1)
        await coordinatorSystem.shutdown()
        await agentSystem.shutdown()
    }

    @Test("a command from a deposed leader arrives as a typed stale-epoch error and runs nothing")
    func staleEpoch() async throws {
        let (coordinatorSystem, agentSystem) = try Self.systems()
        let agent = agentSystem.withWellKnownName(WireActorSystem.WellKnownName.agent) {
            EpochCheckingAgent(actorSystem: agentSystem)
        }
        let remote = try $ClusterAgentEndpoint.resolve(
            id: WireActorSystem.wellKnownID(node: "agent-eu-1", name: WireActorSystem.WellKnownName.agent),
            using: coordinatorSystem
        )
        _ = try await remote.launch(Self.launch(epoch: 5, generation: 1))
        await #expect(throws: StaleEpochError(presented: FencingEpoch(4), highestSeen: FencingEpoch(5))) {
            try await remote.launch(Self.launch(epoch: 4, generation: 9))
        }
        await #expect(throws: CommandRejectedError(.unknownNode, "db-1 is not a worker of this cluster")) {
            try await remote.drain(
                DrainCommand(
                    stamp: .init(epoch: FencingEpoch(5), generation: 2, leader: "coord-1"),
                    cluster: "eu-web",
                    nodeName: "db-1",
                    deadlineSeconds: 60,
                    reason: "test"
                )
            )
        }
        #expect(try await agent.launchCount() == 1)
        await coordinatorSystem.shutdown()
        await agentSystem.shutdown()
    }
}

/// An actor that is not an agent, registered under the agent's name.
distributed actor Impostor {
    typealias ActorSystem = WireActorSystem
    distributed func hello() -> Int { 1 }
}

extension EndpointCallTests {
    @Test("a protocol call to an actor that does not conform answers unknown-target and runs nothing")
    func nonConformingRecipient() async throws {
        let (coordinatorSystem, agentSystem) = try Self.systems()
        let impostor = agentSystem.withWellKnownName(WireActorSystem.WellKnownName.agent) {
            Impostor(actorSystem: agentSystem)
        }
        let remote = try $ClusterAgentEndpoint.resolve(
            id: WireActorSystem.wellKnownID(node: "agent-eu-1", name: WireActorSystem.WellKnownName.agent),
            using: coordinatorSystem
        )
        await #expect {
            _ = try await remote.launch(Self.launch(epoch: 1, generation: 1))
        } throws: { error in
            (error as? WireCallError)?.code == .unknownTarget
        }
        #expect(try await impostor.hello() == 1)
        await coordinatorSystem.shutdown()
        await agentSystem.shutdown()
    }
}

@Suite("launch tokens")
struct LaunchTokenTests {
    @Test("a token is stable for the same slot and differs across epoch, generation, slot and cluster")
    func derivation() {
        let token = LaunchToken.derive(cluster: "eu-web", epoch: FencingEpoch(3), generation: 7, slot: 0)
        #expect(token == LaunchToken.derive(cluster: "eu-web", epoch: FencingEpoch(3), generation: 7, slot: 0))
        let others = [
            LaunchToken.derive(cluster: "eu-web", epoch: FencingEpoch(4), generation: 7, slot: 0),
            LaunchToken.derive(cluster: "eu-web", epoch: FencingEpoch(3), generation: 8, slot: 0),
            LaunchToken.derive(cluster: "eu-web", epoch: FencingEpoch(3), generation: 7, slot: 1),
            LaunchToken.derive(cluster: "us-web", epoch: FencingEpoch(3), generation: 7, slot: 0),
        ]
        #expect(Set(others + [token]).count == 5)
        #expect(token.rawValue.hasPrefix("bl-"))
        #expect(token.rawValue.count == 35)
        #expect(token.rawValue.count <= LaunchToken.maximumLength)
    }
}
