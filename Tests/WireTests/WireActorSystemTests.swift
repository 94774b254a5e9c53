import Distributed
import Logging
import Testing
import Wire
import WireFormat

@Suite("WireActorSystem over loopback TCP")
struct WireActorSystemTests {
    @Test("the coordinator calls the agent and the agent calls the coordinator over one connection")
    func callsBothWays() async throws {
        try await WireFixture.withPair { pair in
            let agent = try pair.remoteAgent()
            #expect(try await agent.drain(node: "node-a", epoch: 1) == DrainResult(node: "node-a", evicted: 6))
            let coordinator = try pair.remoteCoordinator()
            #expect(try await coordinator.report(cluster: "eu-1", pendingPods: 3) == 1)
            #expect(try await coordinator.report(cluster: "eu-1", pendingPods: 0) == 2)
            #expect(try await pair.coordinator.reports() == ["eu-1:3", "eu-1:0"])
            #expect(try await agent.echo(42) == 42)
            #expect(try await agent.echoTexts(["a", "b"]) == ["a", "b"])
        }
    }

    @Test(
        "an incoming call runs on its connection's event loop, or on the cooperative pool when configured so",
        arguments: [true, false]
    )
    func callExecutor(onEventLoop: Bool) async throws {
        var coordinatorConfiguration = WireFixture.configuration(node: "coord-1", role: .coordinator)
        coordinatorConfiguration.runsIncomingCallsOnEventLoop = onEventLoop
        try await WireFixture.withPair(coordinatorConfiguration: coordinatorConfiguration) { pair in
            let coordinator = try pair.remoteCoordinator()
            #expect(try await coordinator.runsOnEventLoop() == onEventLoop)
            #expect(try await coordinator.report(cluster: "eu-1", pendingPods: 3) == 1)
            #expect(try await pair.coordinator.reports() == ["eu-1:3"])
        }
    }

    @Test("a registered typed error crosses the wire as itself; others arrive as a remote failure")
    func errors() async throws {
        try await WireFixture.withPair { pair in
            let agent = try pair.remoteAgent()
            _ = try await agent.drain(node: "n", epoch: 5)
            await #expect(throws: StaleEpoch(seen: 5, got: 4)) { try await agent.drain(node: "n", epoch: 4) }
            await #expect {
                try await agent.explode()
            } throws: { error in
                guard let error = error as? WireCallError else { return false }
                return error.code == .remoteFailure && error.remoteCode == "wire.remote-failure"
                    && error.message.contains("the disk is on fire")
            }
            // The coordinator never registered StaleEpoch's code on the agent side, so there it is unregistered.
            #expect(try await agent.drain(node: "n", epoch: 6).evicted == 1)
        }
    }

    @Test("a typed error whose code the caller did not register arrives with its code")
    func unregisteredTypedError() async throws {
        var coordinatorConfiguration = WireFixture.configuration(node: "coord-1", role: .coordinator)
        coordinatorConfiguration.remoteErrorTypes = []
        try await WireFixture.withPair(coordinatorConfiguration: coordinatorConfiguration) { pair in
            let agent = try pair.remoteAgent()
            _ = try await agent.drain(node: "n", epoch: 5)
            await #expect {
                try await agent.drain(node: "n", epoch: 1)
            } throws: { error in
                (error as? WireCallError)?.code == .unregisteredRemoteError
                    && (error as? WireCallError)?.remoteCode == "ballast.stale-epoch"
            }
        }
    }

    @Test("a call to an actor the peer does not host answers unknown-actor and keeps the connection")
    func unknownActor() async throws {
        try await WireFixture.withPair { pair in
            let ghost = try TestAgent.resolve(
                id: WireActorID(node: "agent-eu-1", name: "ghost"),
                using: pair.coordinatorSystem
            )
            await #expect {
                try await ghost.drain(node: "n", epoch: 1)
            } throws: { ($0 as? WireCallError)?.code == .unknownActor }
            #expect(try await pair.remoteAgent().drain(node: "n", epoch: 1).node == "n")
        }
    }

    @Test("a call to a node with no connection fails at once with peerNotConnected")
    func noRoute() async throws {
        try await WireFixture.withPair { pair in
            let nowhere = try TestAgent.resolve(
                id: WireActorID(node: "agent-us-9", name: "agent"),
                using: pair.coordinatorSystem
            )
            await #expect {
                try await nowhere.drain(node: "n", epoch: 1)
            } throws: { ($0 as? WireCallError)?.code == .peerNotConnected }
        }
    }

    @Test("a call without a reply in time fails with timeout and the connection keeps serving")
    func timeout() async throws {
        var configuration = WireFixture.configuration(node: "coord-1", role: .coordinator)
        // Generous enough for a loaded CI machine, short enough to tell a timeout from the 4 s pause.
        configuration.callTimeout = .milliseconds(600)
        try await WireFixture.withPair(coordinatorConfiguration: configuration) { pair in
            let agent = try pair.remoteAgent()
            let start = ContinuousClock.now
            await #expect {
                _ = try await agent.pause(milliseconds: 4000)
            } throws: { ($0 as? WireCallError)?.code == .timeout }
            #expect(ContinuousClock.now - start < .seconds(3))
            #expect(try await agent.pause(milliseconds: 1) == 1)
        }
    }

    @Test("calls started at different times on one connection each time out at their own deadline, not before")
    func timeoutsOfStaggeredCalls() async throws {
        var configuration = WireFixture.configuration(node: "coord-1", role: .coordinator)
        configuration.callTimeout = .milliseconds(600)
        try await WireFixture.withPair(coordinatorConfiguration: configuration) { pair in
            let agent = try pair.remoteAgent()
            let elapsed = try await withThrowingTaskGroup(of: Duration?.self) { group in
                for delay in [0, 250, 400] {
                    group.addTask {
                        try await Task.sleep(for: .milliseconds(delay))
                        let start = ContinuousClock.now
                        await #expect {
                            _ = try await agent.pause(milliseconds: 4000)
                        } throws: { ($0 as? WireCallError)?.code == .timeout }
                        return ContinuousClock.now - start
                    }
                }
                // Answered while the others wait: it leaves their deadlines as they were.
                group.addTask {
                    try await Task.sleep(for: .milliseconds(100))
                    #expect(try await agent.pause(milliseconds: 1) == 1)
                    return nil
                }
                return try await group.reduce(into: [Duration]()) { all, time in all += time.map { [$0] } ?? [] }
            }
            #expect(elapsed.count == 3)
            for time in elapsed {
                #expect(time >= .milliseconds(595) && time < .seconds(3), "timed out after \(time)")
            }
        }
    }

    @Test("calls in flight fail at once when the connection drops")
    func dropFailsInFlight() async throws {
        try await WireFixture.withPair { pair in
            let agent = try pair.remoteAgent()
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        await #expect {
                            _ = try await agent.pause(milliseconds: 4000)
                        } throws: { ($0 as? WireCallError)?.code == .connectionClosed }
                    }
                }
                try await Task.sleep(for: .milliseconds(100))
                await pair.agentSystem.shutdown()
                try await group.waitForAll()
            }
            #expect(ContinuousClock.now - start < .seconds(2))
        }
    }

    @Test("peer events report the agent connecting and disconnecting, with node id and role")
    func peerEvents() async throws {
        try await WireFixture.withPair { pair in
            var events = pair.coordinatorSystem.peerEvents().makeAsyncIterator()
            #expect(await events.next() == WirePeerEvent(kind: .connected, nodeID: "agent-eu-1", role: .agent))
            await pair.agentSystem.shutdown()
            #expect(await events.next() == WirePeerEvent(kind: .disconnected, nodeID: "agent-eu-1", role: .agent))
        }
    }

    @Test("the agent reconnects after the coordinator restarts on the same port, and calls flow again")
    func reconnect() async throws {
        try await WireFixture.withPair { pair in
            await pair.coordinatorSystem.shutdown()
            try await WireFixture.waitUntil { pair.agentSystem.connectedPeers.isEmpty }
            let restarted = try WireActorSystem(
                configuration: WireFixture.configuration(node: "coord-1", role: .coordinator)
            )
            let coordinator = restarted.withWellKnownName("coordinator") { TestCoordinator(actorSystem: restarted) }
            _ = try await restarted.listen(host: "127.0.0.1", port: pair.port)
            try await WireFixture.waitUntil(timeout: .seconds(5), "reconnect") {
                pair.agentSystem.connectedPeers.contains("coord-1")
            }
            let remote = try pair.remoteCoordinator()
            #expect(try await remote.report(cluster: "eu-1", pendingPods: 1) == 1)
            #expect(try await coordinator.reports() == ["eu-1:1"])
            await restarted.shutdown()
        }
    }

    @Test("connect with a wrong secret throws handshakeRefused instead of retrying forever")
    func connectWrongSecret() async throws {
        let server = try WireActorSystem(configuration: WireFixture.configuration(node: "coord-1", role: .coordinator))
        let address = try await server.listen(host: "127.0.0.1", port: 0)
        let client = try WireActorSystem(
            configuration: WireFixture.configuration(
                node: "agent-x",
                role: .agent,
                secret: .init(data: Array(repeating: UInt8(9), count: 32))
            )
        )
        await #expect {
            try await client.connect(host: "127.0.0.1", port: address.port!)
        } throws: { ($0 as? WireConnectError)?.code == .handshakeRefused }
        await client.shutdown()
        await server.shutdown()
    }

    @Test("after shutdown, calls fail with shutdown")
    func callsAfterShutdown() async throws {
        try await WireFixture.withPair { pair in
            let agent = try pair.remoteAgent()
            await pair.coordinatorSystem.shutdown()
            await #expect { try await agent.drain(node: "n", epoch: 1) } throws: {
                ($0 as? WireCallError)?.code == .shutdown
            }
        }
    }

    @Test("a silent peer is closed after the missed heartbeats; a live one is kept")
    func heartbeats() async throws {
        // Both sides beat at the same interval, as in production.
        var configuration = WireFixture.configuration(node: "coord-1", role: .coordinator)
        // 500 ms beats: 3 missed take 1.5 s, which a loaded machine's event loops never stall for.
        configuration.connection.heartbeatInterval = .milliseconds(500)
        var agentConfiguration = WireFixture.configuration(node: "agent-eu-1", role: .agent)
        agentConfiguration.connection.heartbeatInterval = .milliseconds(500)
        try await WireFixture.withPair(coordinatorConfiguration: configuration, agentConfiguration: agentConfiguration)
        { pair in
            let raw = try await RawPeer.connect(port: pair.port)
            guard case .established = try await raw.handshake() else {
                Issue.record("handshake")
                return
            }
            // The raw peer never answers: closed after 3 intervals of silence, with a peerSilent goodbye.
            var sawGoodbye = false
            while let message = try await raw.readMessage(timeout: .seconds(4)) {
                if case .goodbye(let goodbye) = message, goodbye.code == .peerSilent { sawGoodbye = true }
            }
            #expect(sawGoodbye)
            // The agent's connection heartbeats both ways and stays up well past 3 intervals.
            #expect(pair.coordinatorSystem.connectedPeers.contains("agent-eu-1"))
            #expect(try await pair.remoteAgent().drain(node: "n", epoch: 1).evicted == 1)
        }
    }
}

@Suite("WireActorSystem in one process through a WireHub")
struct WireHubTests {
    static func systems(
        clock: any Clock<Duration> = ContinuousClock()
    ) throws -> (WireHub, WireActorSystem, WireActorSystem) {
        let hub = WireHub()
        var coordinatorConfiguration = WireFixture.configuration(node: "coord-1", role: .coordinator)
        coordinatorConfiguration.callTimeout = .milliseconds(200)
        let coordinator = try WireActorSystem(configuration: coordinatorConfiguration, hub: hub, clock: clock)
        let agent = try WireActorSystem(
            configuration: WireFixture.configuration(node: "agent-eu-1", role: .agent),
            hub: hub
        )
        return (hub, coordinator, agent)
    }

    @Test("the same actors call each other both ways with no sockets")
    func callsBothWays() async throws {
        let (_, coordinatorSystem, agentSystem) = try Self.systems()
        let coordinator = coordinatorSystem.withWellKnownName("coordinator") {
            TestCoordinator(actorSystem: coordinatorSystem)
        }
        let agent = agentSystem.withWellKnownName("agent") { TestAgent(actorSystem: agentSystem) }
        let remoteAgent = try TestAgent.resolve(id: .init(node: "agent-eu-1", name: "agent"), using: coordinatorSystem)
        let remoteCoordinator = try TestCoordinator.resolve(
            id: .init(node: "coord-1", name: "coordinator"),
            using: agentSystem
        )
        #expect(try await remoteAgent.drain(node: "abc", epoch: 2).evicted == 3)
        #expect(try await remoteCoordinator.report(cluster: "eu", pendingPods: 2) == 1)
        await #expect(throws: StaleEpoch(seen: 2, got: 1)) { try await remoteAgent.drain(node: "abc", epoch: 1) }
        await #expect { _ = try await remoteAgent.pause(milliseconds: 2000) } throws: {
            ($0 as? WireCallError)?.code == .timeout
        }
        #expect(try await coordinator.reports() == ["eu:2"])
        _ = agent
        await agentSystem.shutdown()
        await coordinatorSystem.shutdown()
    }

    @Test("joining and leaving the hub raises peer events")
    func events() async throws {
        let (_, coordinatorSystem, agentSystem) = try Self.systems()
        var events = coordinatorSystem.peerEvents().makeAsyncIterator()
        #expect(await events.next() == WirePeerEvent(kind: .connected, nodeID: "agent-eu-1", role: .agent))
        await agentSystem.shutdown()
        #expect(await events.next() == WirePeerEvent(kind: .disconnected, nodeID: "agent-eu-1", role: .agent))
        await coordinatorSystem.shutdown()
    }

    @Test("a node id can join a hub only once")
    func duplicateNode() throws {
        let (hub, coordinatorSystem, _) = try Self.systems()
        #expect(throws: WireConnectError.self) {
            _ = try WireActorSystem(configuration: coordinatorSystem.configuration, hub: hub)
        }
    }
}

@Suite("WireActorSystem targets")
struct WireTargetTests {
    @Test("a call naming another actor type's function answers unknown-target and never runs it")
    func wrongTypeTarget() async throws {
        let (_, coordinatorSystem, agentSystem) = try WireHubTests.systems()
        let agent = agentSystem.withWellKnownName("agent") { TestAgent(actorSystem: agentSystem) }
        // The agent's id, resolved as if it were a coordinator: the call carries TestCoordinator.report.
        let confused = try TestCoordinator.resolve(
            id: .init(node: "agent-eu-1", name: "agent"),
            using: coordinatorSystem
        )
        await #expect {
            _ = try await confused.report(cluster: "x", pendingPods: 1)
        } throws: { ($0 as? WireCallError)?.code == .unknownTarget }
        let remoteAgent = try TestAgent.resolve(id: agent.id, using: coordinatorSystem)
        #expect(try await remoteAgent.drain(node: "n", epoch: 1).evicted == 1)
        await agentSystem.shutdown()
        await coordinatorSystem.shutdown()
    }

    @Test("a Swift function no endpoint names fails on the caller's side and never reaches the peer")
    func unnamedFunction() async throws {
        let (_, coordinatorSystem, agentSystem) = try WireHubTests.systems()
        let agent = agentSystem.withWellKnownName("agent") { TestAgent(actorSystem: agentSystem) }
        let remoteAgent = try TestAgent.resolve(id: agent.id, using: coordinatorSystem)
        let error = await #expect(throws: WireCallError.self) { _ = try await remoteAgent.unnamed() }
        #expect(error?.code == .unknownTarget)
        #expect(error?.remoteCode == nil)
        #expect(try await agent.unnamed() == 1)
        await agentSystem.shutdown()
        await coordinatorSystem.shutdown()
    }
}

@Suite("WireActorSystem flow control")
struct WireFlowControlTests {
    @Test("calls beyond the in-flight bound get overloaded at once instead of queueing")
    func overloaded() async throws {
        var configuration = WireFixture.configuration(node: "coord-1", role: .coordinator)
        configuration.connection.maxCallsInFlight = 2
        try await WireFixture.withPair(coordinatorConfiguration: configuration) { pair in
            let agent = try pair.remoteAgent()
            async let first = agent.pause(milliseconds: 1000)
            async let second = agent.pause(milliseconds: 1000)
            try await Task.sleep(for: .milliseconds(200))  // both are in flight by then
            await #expect {
                _ = try await agent.pause(milliseconds: 1)
            } throws: { ($0 as? WireCallError)?.code == .overloaded }
            #expect(try await first + second == 2000)
            #expect(try await agent.pause(milliseconds: 1) == 1)
        }
    }

    @Test("cancelling the calling task ends the wait at once with cancelled")
    func cancellation() async throws {
        try await WireFixture.withPair { pair in
            let agent = try pair.remoteAgent()
            let start = ContinuousClock.now
            let call = Task { try await agent.pause(milliseconds: 3000) }
            try await Task.sleep(for: .milliseconds(50))
            call.cancel()
            await #expect { _ = try await call.value } throws: { ($0 as? WireCallError)?.code == .cancelled }
            #expect(ContinuousClock.now - start < .seconds(1))
            #expect(try await agent.pause(milliseconds: 1) == 1)
        }
    }
}

@Suite("WireActorSystem frame limits")
struct WireFrameLimitTests {
    @Test("a call above the frame limit fails here with encodingFailed and the connection survives")
    func oversizeCall() async throws {
        var configuration = WireFixture.configuration(node: "coord-1", role: .coordinator)
        configuration.connection.frameLimits.maxFrameSize = 4096
        try await WireFixture.withPair(coordinatorConfiguration: configuration) { pair in
            let agent = try pair.remoteAgent()
            await #expect {
                _ = try await agent.echoText(String(repeating: "x", count: 10_000))
            } throws: { ($0 as? WireCallError)?.code == .encodingFailed }
            #expect(try await agent.echoText("small") == "small")
        }
    }

    @Test("a result above the frame limit comes back as a remote failure, not a dropped connection")
    func oversizeResult() async throws {
        // Frame limits are not negotiated: both sides of a deployment use the same one.
        var agentConfiguration = WireFixture.configuration(node: "agent-eu-1", role: .agent)
        agentConfiguration.connection.frameLimits.maxFrameSize = 4096
        var coordinatorConfiguration = WireFixture.configuration(node: "coord-1", role: .coordinator)
        coordinatorConfiguration.connection.frameLimits.maxFrameSize = 4096
        try await WireFixture.withPair(
            coordinatorConfiguration: coordinatorConfiguration,
            agentConfiguration: agentConfiguration
        ) { pair in
            let agent = try pair.remoteAgent()
            await #expect {
                _ = try await agent.repeatText("ab", times: 5000)
            } throws: { error in
                guard let error = error as? WireCallError else { return false }
                return error.code == .remoteFailure && error.message.contains("above the frame limit")
            }
            #expect(try await agent.repeatText("ab", times: 2) == "abab")
        }
    }

    @Test("either side may dial: a coordinator connecting to a listening agent calls it the same way")
    func coordinatorDials() async throws {
        let agentSystem = try WireActorSystem(
            configuration: WireFixture.configuration(node: "agent-eu-1", role: .agent)
        )
        let coordinatorSystem = try WireActorSystem(
            configuration: WireFixture.configuration(node: "coord-1", role: .coordinator)
        )
        let agent = agentSystem.withWellKnownName("agent") { TestAgent(actorSystem: agentSystem) }
        let address = try await agentSystem.listen(host: "127.0.0.1", port: 0)
        let peer = try await coordinatorSystem.connect(host: "127.0.0.1", port: address.port!)
        #expect(peer == WirePeerIdentity(nodeID: "agent-eu-1", role: .agent, version: .current))
        let remote = try TestAgent.resolve(id: agent.id, using: coordinatorSystem)
        #expect(try await remote.drain(node: "abcd", epoch: 1).evicted == 4)
        await coordinatorSystem.shutdown()
        await agentSystem.shutdown()
    }
}
