import Testing
import WireFormat

@testable import Wire

@Suite("Abrupt connection loss")
struct WireDropTests {
    @Test("a connection reset without a goodbye fails the calls in flight at once and unroutes the peer")
    func abruptDrop() async throws {
        try await WireFixture.withPair { pair in
            let agent = try pair.remoteAgent()
            let start = ContinuousClock.now
            let slow = Task { try await agent.pause(milliseconds: 4000) }
            try await Task.sleep(for: .milliseconds(100))
            // Close the agent's socket under it: no goodbye reaches the coordinator, only end of stream.
            let channels = pair.agentSystem.state.withLock { $0.connections.values.map(\.channel) }
            for channel in channels { try await channel.close() }
            await #expect { _ = try await slow.value } throws: { ($0 as? WireCallError)?.code == .connectionClosed }
            #expect(ContinuousClock.now - start < .seconds(2))
            try await WireFixture.waitUntil { !pair.coordinatorSystem.connectedPeers.contains("agent-eu-1") }
            // The agent's dialler brings the connection back.
            try await WireFixture.waitUntil(timeout: .seconds(5), "reconnect") {
                pair.coordinatorSystem.connectedPeers.contains("agent-eu-1")
            }
            #expect(try await agent.drain(node: "back", epoch: 1).node == "back")
        }
    }
}
