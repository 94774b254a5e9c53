import BallastTestSupport
import Crypto
import Testing
import Wire
import WireFormat

@Suite("WireActorSystem connect")
struct WireConnectTests {
    @Test("connect started before the coordinator listens retries with backoff and succeeds when it comes up")
    func connectBeforeListen() async throws {
        // A free port for the coordinator to take later, never handed to another suite's server meanwhile (a
        // moto server on it would leave the agent waiting for a handshake that never comes).
        let port = try FreePort.next()

        let agentSystem = try WireActorSystem(
            configuration: WireFixture.configuration(node: "agent-eu-1", role: .agent)
        )
        let connecting = Task { try await agentSystem.connect(host: "127.0.0.1", port: port) }
        try await Task.sleep(for: .milliseconds(300))
        let coordinatorSystem = try WireActorSystem(
            configuration: WireFixture.configuration(node: "coord-1", role: .coordinator)
        )
        _ = try await coordinatorSystem.listen(host: "127.0.0.1", port: port)
        #expect(try await connecting.value.nodeID == "coord-1")
        await agentSystem.shutdown()
        await coordinatorSystem.shutdown()
    }

    @Test("cancelling a connect that has not succeeded yet stops it with cancelled")
    func cancelConnect() async throws {
        let port = try FreePort.next()
        let agentSystem = try WireActorSystem(
            configuration: WireFixture.configuration(node: "agent-eu-1", role: .agent)
        )
        let connecting = Task { try await agentSystem.connect(host: "127.0.0.1", port: port) }
        try await Task.sleep(for: .milliseconds(100))
        connecting.cancel()
        await #expect { _ = try await connecting.value } throws: { ($0 as? WireConnectError)?.code == .cancelled }
        await agentSystem.shutdown()
    }
}

@Suite("Per-peer secrets")
struct WireSecretsTests {
    @Test("a coordinator accepts each agent with its cluster's secret and coordctl with the admin secret only")
    func perNodeSecrets() async throws {
        let eu = SymmetricKey(data: Array(repeating: UInt8(1), count: 32))
        let us = SymmetricKey(data: Array(repeating: UInt8(2), count: 32))
        let admin = SymmetricKey(data: Array(repeating: UInt8(3), count: 32))
        var coordinatorConfiguration = WireFixture.configuration(node: "coord-1", role: .coordinator)
        coordinatorConfiguration.secrets = .perNode(["agent-eu-1": eu, "agent-us-1": us], admin: admin)
        let coordinator = try WireActorSystem(configuration: coordinatorConfiguration)
        let port = try #require(try await coordinator.listen(host: "127.0.0.1", port: 0).port)

        func attempt(_ node: String, _ role: WireRole, _ secret: SymmetricKey) async throws -> Bool {
            let system = try WireActorSystem(
                configuration: WireFixture.configuration(node: node, role: role, secret: secret)
            )
            let accepted: Bool
            do {
                try await system.connect(host: "127.0.0.1", port: port)
                accepted = true
            } catch let error as WireConnectError where error.code == .handshakeRefused {
                accepted = false
            }
            await system.shutdown()
            return accepted
        }
        #expect(try await attempt("agent-eu-1", .agent, eu))
        #expect(try await attempt("agent-us-1", .agent, us))
        #expect(try await attempt("agent-eu-1", .agent, us) == false)  // another cluster's secret
        #expect(try await attempt("agent-xx-1", .agent, eu) == false)  // unknown node
        #expect(try await attempt("ops", .admin, admin))
        #expect(try await attempt("ops", .admin, eu) == false)
        await coordinator.shutdown()
    }
}
