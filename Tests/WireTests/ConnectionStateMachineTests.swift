import Crypto
import Testing
import Wire
import WireFormat

/// A connection machine (initiator) whose handshake is completed by a responder machine playing the peer.
struct EstablishedConnection {
    var machine: ConnectionStateMachine<String>
    var peer: HandshakeStateMachine

    init(configuration: WireConnectionConfiguration = .init()) {
        let secret = HandshakePair.secret
        let handshake = HandshakeStateMachine(
            side: .initiator,
            localHello: .init(role: .coordinator, nonce: Array(repeating: 1, count: 32), nodeID: "coord-1"),
            secretForPeer: { _, _ in secret }
        )
        machine = ConnectionStateMachine(configuration: configuration, handshake: handshake)
        peer = HandshakeStateMachine(
            side: .responder,
            localHello: .init(role: .agent, nonce: Array(repeating: 2, count: 32), nodeID: "agent-1"),
            secretForPeer: { _, _ in secret }
        )
    }

    /// Runs the handshake; returns the actions of the final step.
    mutating func establish() -> [ConnectionStateMachine<String>.Action] {
        guard case .write(let hello) = machine.channelActive().first,
            case .send(let peerHello) = peer.start(),
            case .send(let peerProof) = peer.received(payload: hello.encode())
        else { return [] }
        let proofActions = machine.frameReceived(payload: peerHello.encode())
        guard case .write(let proof) = proofActions.first else { return [] }
        _ = peer.received(payload: proof.encode())
        return machine.frameReceived(payload: peerProof.encode())
    }

    mutating func call(_ name: String, isWritable: Bool = true) -> ConnectionStateMachine<String>.StartCall {
        machine.startCall(name, isWritable: isWritable) { id in
            .init(callID: id, recipient: .init(node: "agent-1", name: "agent"), target: "t", arguments: [])
        }
    }
}

@Suite("ConnectionStateMachine")
struct ConnectionStateMachineTests {
    @Test("activation sends a hello and schedules the handshake deadline, once")
    func activation() {
        var connection = EstablishedConnection()
        let actions = connection.machine.channelActive()
        guard actions.count == 2, case .write(.hello) = actions[0],
            case .scheduleHandshakeDeadline(.seconds(5)) = actions[1]
        else {
            Issue.record("unexpected \(actions)")
            return
        }
        #expect(connection.machine.channelActive().isEmpty)
    }

    @Test("the handshake establishes the peer and starts the heartbeat")
    func establishes() {
        var connection = EstablishedConnection()
        let actions = connection.establish()
        guard case .established(let peer, .seconds(2)) = actions.first else {
            Issue.record("\(actions)")
            return
        }
        #expect(peer.nodeID == "agent-1")
        #expect(connection.machine.peer?.role == .agent)
    }

    @Test("a call before the handshake is rejected as connection closed, not queued")
    func callBeforeHandshake() {
        var connection = EstablishedConnection()
        guard case .reject("a", .connectionClosed, _) = connection.call("a") else {
            Issue.record("expected reject")
            return
        }
    }

    @Test("a call is sent, its reply completes it, a second reply closes the connection")
    func callAndReply() {
        var connection = EstablishedConnection()
        _ = connection.establish()
        guard case .send(.call(let call), let id) = connection.call("a") else {
            Issue.record("expected send")
            return
        }
        #expect(call.callID == id)
        let reply = WireMessage.reply(.init(callID: id, outcome: .value([1]))).encode()
        guard case .completeCall("a", id, .value([1])) = connection.machine.frameReceived(payload: reply).first else {
            Issue.record("expected completion")
            return
        }
        let again = connection.machine.frameReceived(payload: reply)
        guard case .close(.goodbye(let goodbye), _) = again.last else {
            Issue.record("\(again)")
            return
        }
        #expect(goodbye.code == .protocolViolation)
        #expect(connection.machine.isClosed)
    }

    @Test("a timeout fails the call and its late reply is ignored")
    func timeout() {
        var connection = EstablishedConnection()
        _ = connection.establish()
        guard case .send(_, let id) = connection.call("a") else { return }
        #expect(connection.machine.callTimedOut(callID: id) == "a")
        let reply = WireMessage.reply(.init(callID: id, outcome: .value([]))).encode()
        #expect(connection.machine.frameReceived(payload: reply).isEmpty)
        #expect(!connection.machine.isClosed)
    }

    @Test("a dropped connection fails every call in flight at once")
    func dropFailsCalls() {
        var connection = EstablishedConnection()
        _ = connection.establish()
        _ = connection.call("a")
        _ = connection.call("b")
        let actions = connection.machine.channelInactive()
        guard case .failCalls(let calls, .connectionClosed, _) = actions.first else {
            Issue.record("\(actions)")
            return
        }
        #expect(calls == ["a", "b"])
    }

    @Test("a full send buffer or too many calls push back with overloaded")
    func backPressure() {
        var configuration = WireConnectionConfiguration()
        configuration.maxCallsInFlight = 1
        var connection = EstablishedConnection(configuration: configuration)
        _ = connection.establish()
        guard case .reject(_, .overloaded, _) = connection.call("a", isWritable: false) else {
            Issue.record("writability")
            return
        }
        guard case .send = connection.call("b") else {
            Issue.record("send")
            return
        }
        guard case .reject(_, .overloaded, _) = connection.call("c") else {
            Issue.record("bound")
            return
        }
    }

    @Test("heartbeats go out each tick and a silent peer is closed, failing its calls")
    func heartbeat() {
        var connection = EstablishedConnection()
        _ = connection.establish()
        _ = connection.call("a")
        guard case .write(.heartbeat(let beat)) = connection.machine.heartbeatTick().first else { return }
        #expect(beat.sequence == 1)
        _ = connection.machine.heartbeatTick()
        let actions = connection.machine.heartbeatTick()
        guard actions.count == 2, case .failCalls(["a"], .connectionClosed, _) = actions[0],
            case .close(.goodbye(let goodbye), _) = actions[1]
        else {
            Issue.record("\(actions)")
            return
        }
        #expect(goodbye.code == .peerSilent)
    }

    @Test("an inbound call is delivered and keeps the connection")
    func inboundCall() {
        var connection = EstablishedConnection()
        _ = connection.establish()
        let call = WireMessage.Call(callID: 5, recipient: .init(node: "coord-1", name: "x"), target: "t", arguments: [])
        guard case .deliverCall(call) = connection.machine.frameReceived(payload: WireMessage.call(call).encode()).first
        else {
            Issue.record("expected delivery")
            return
        }
        #expect(!connection.machine.isClosed)
    }

    @Test("a goodbye from the peer closes without an answer; malformed frames close with a goodbye")
    func goodbyeAndGarbage() {
        var polite = EstablishedConnection()
        _ = polite.establish()
        let goodbye = WireMessage.goodbye(.init(code: .shuttingDown, message: "bye")).encode()
        guard case .close(nil, _) = polite.machine.frameReceived(payload: goodbye).last else {
            Issue.record("goodbye")
            return
        }

        var garbled = EstablishedConnection()
        _ = garbled.establish()
        guard case .close(.goodbye(let reply), _) = garbled.machine.frameReceived(payload: [0x10, 1]).last else {
            Issue.record("garbage")
            return
        }
        #expect(reply.code == .protocolViolation)
    }

    @Test("a frame error before the handshake answers with a refusal, after it with a goodbye")
    func frameErrors() {
        var early = EstablishedConnection()
        _ = early.machine.channelActive()
        let error = WireFormatError(.httpProbe, offset: 0, "GET")
        guard case .close(.refusal(let refusal), _) = early.machine.frameError(error).last else { return }
        #expect(refusal.code == .frameTooLarge)
        var late = EstablishedConnection()
        _ = late.establish()
        guard case .close(.goodbye(let goodbye), _) = late.machine.frameError(error).last else { return }
        #expect(goodbye.code == .frameTooLarge)
    }

    @Test("shutdown says goodbye and fails what is in flight")
    func shutdown() {
        var connection = EstablishedConnection()
        _ = connection.establish()
        _ = connection.call("a")
        let actions = connection.machine.shutdown(reason: "stopping")
        guard actions.count == 2, case .failCalls(["a"], _, _) = actions[0],
            case .close(.goodbye(let goodbye), _) = actions[1]
        else {
            Issue.record("\(actions)")
            return
        }
        #expect(goodbye.code == .shuttingDown)
        #expect(connection.machine.shutdown(reason: "again").isEmpty)
    }
}
