import Crypto
import Testing
import Wire
import WireFormat

extension HandshakeStateMachine.Action: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.send(let a), .send(let b)): a == b
        case (.established(let a), .established(let b)): a == b
        case (.refuse(let a, _), .refuse(let b, _)): a?.code == b?.code
        case (.none, .none): true
        default: false
        }
    }
}

/// Two handshake machines wired back to back, with hooks to tamper with what travels between them.
struct HandshakePair {
    static let secret = SymmetricKey(data: Array(repeating: UInt8(0x5A), count: 32))
    var initiator: HandshakeStateMachine
    var responder: HandshakeStateMachine
    var initiatorHello: [UInt8]
    var responderHello: [UInt8]

    init(
        initiatorNonce: UInt8 = 1,
        responderNonce: UInt8 = 2,
        initiatorSecret: SymmetricKey = secret,
        responderSecret: SymmetricKey? = secret,
        initiatorVersion: WireProtocolVersion = .current
    ) {
        initiator = HandshakeStateMachine(
            side: .initiator,
            localHello: .init(
                version: initiatorVersion,
                role: .agent,
                nonce: Array(repeating: initiatorNonce, count: 32),
                nodeID: "agent-1"
            ),
            secretForPeer: { _, _ in initiatorSecret }
        )
        responder = HandshakeStateMachine(
            side: .responder,
            localHello: .init(
                role: .coordinator,
                nonce: Array(repeating: responderNonce, count: 32),
                nodeID: "coord-1"
            ),
            secretForPeer: { _, _ in responderSecret }
        )
        guard case .send(let a) = initiator.start(), case .send(let b) = responder.start() else {
            fatalError("a fresh handshake always starts with a hello")  // test fixture invariant, not input
        }
        initiatorHello = a.encode()
        responderHello = b.encode()
    }
}

@Suite("HandshakeStateMachine")
struct HandshakeStateMachineTests {
    @Test("both sides send a hello at once and establish after exchanging proofs")
    func happyPath() throws {
        var pair = HandshakePair()
        guard case .send(let proofI) = pair.initiator.received(payload: pair.responderHello),
            case .send(let proofR) = pair.responder.received(payload: pair.initiatorHello)
        else {
            Issue.record("expected proofs")
            return
        }
        #expect(
            pair.initiator.received(payload: proofR.encode())
                == .established(.init(nodeID: "coord-1", role: .coordinator, version: .current))
        )
        #expect(
            pair.responder.received(payload: proofI.encode())
                == .established(.init(nodeID: "agent-1", role: .agent, version: .current))
        )
        #expect(pair.initiator.isEstablished && pair.responder.isEstablished)
    }

    @Test("a proof with one flipped bit is refused as authentication failed")
    func flippedMAC() throws {
        var pair = HandshakePair()
        _ = pair.initiator.received(payload: pair.responderHello)
        guard case .send(.proof(var proof)) = pair.responder.received(payload: pair.initiatorHello) else {
            Issue.record("expected a proof")
            return
        }
        proof.mac[17] ^= 0x04
        #expect(
            pair.initiator.received(payload: WireMessage.proof(proof).encode())
                == .refuse(.init(code: .authenticationFailed, message: ""), reason: "")
        )
        #expect(!pair.initiator.isEstablished)
    }

    @Test("a recorded initiator handshake replayed against a fresh responder nonce is refused")
    func replay() throws {
        var recorded = HandshakePair(responderNonce: 2)
        _ = recorded.responder.received(payload: recorded.initiatorHello)
        guard case .send(let recordedProof) = recorded.initiator.received(payload: recorded.responderHello) else {
            Issue.record("expected a proof")
            return
        }
        // The attacker replays the initiator's hello and proof to a responder with a new nonce.
        var fresh = HandshakePair(responderNonce: 3)
        _ = fresh.responder.received(payload: recorded.initiatorHello)
        #expect(
            fresh.responder.received(payload: recordedProof.encode())
                == .refuse(.init(code: .authenticationFailed, message: ""), reason: "")
        )
    }

    @Test("the responder's proof reflected back to it is refused")
    func reflection() throws {
        var pair = HandshakePair()
        guard case .send(let proofR) = pair.responder.received(payload: pair.initiatorHello) else {
            Issue.record("expected a proof")
            return
        }
        #expect(
            pair.responder.received(payload: proofR.encode())
                == .refuse(.init(code: .authenticationFailed, message: ""), reason: "")
        )
    }

    @Test("a different secret on one side is refused")
    func wrongSecret() throws {
        var pair = HandshakePair(initiatorSecret: SymmetricKey(data: Array(repeating: UInt8(1), count: 32)))
        guard case .send(let proofI) = pair.initiator.received(payload: pair.responderHello) else { return }
        _ = pair.responder.received(payload: pair.initiatorHello)
        #expect(
            pair.responder.received(payload: proofI.encode())
                == .refuse(.init(code: .authenticationFailed, message: ""), reason: "")
        )
    }

    @Test("an unknown major version is refused with a reason; another minor is accepted")
    func versions() throws {
        var newer = HandshakePair(initiatorVersion: .init(major: 2, minor: 0))
        guard case .refuse(let refusal, _) = newer.responder.received(payload: newer.initiatorHello) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(refusal?.code == .unsupportedVersion)
        #expect(refusal?.message.contains("major version 2") == true)

        var minor = HandshakePair(initiatorVersion: .init(major: 1, minor: 7))
        guard case .send(.proof) = minor.responder.received(payload: minor.initiatorHello) else {
            Issue.record("a newer minor must be accepted")
            return
        }
    }

    @Test("a peer with no secret is refused as unknown")
    func unknownPeer() {
        var pair = HandshakePair(responderSecret: nil)
        #expect(
            pair.responder.received(payload: pair.initiatorHello)
                == .refuse(.init(code: .unknownPeer, message: ""), reason: "")
        )
    }

    @Test("garbage, a wrong magic, or an envelope before the handshake are refused")
    func garbage() {
        var pair = HandshakePair()
        #expect(
            pair.responder.received(payload: Array("hello?".utf8))
                == .refuse(.init(code: .protocolViolation, message: ""), reason: "")
        )
        var magic = HandshakePair()
        var bytes = magic.initiatorHello
        bytes[4] = 0x58
        #expect(magic.responder.received(payload: bytes) == .refuse(.init(code: .badMagic, message: ""), reason: ""))
        var early = HandshakePair()
        let heartbeat = WireMessage.heartbeat(.init(sequence: 1)).encode()
        #expect(
            early.responder.received(payload: heartbeat)
                == .refuse(.init(code: .protocolViolation, message: ""), reason: "")
        )
    }

    @Test("the deadline refuses an unfinished handshake and is ignored after it completes")
    func deadline() {
        var pair = HandshakePair()
        #expect(pair.responder.deadlineReached() == .refuse(.init(code: .handshakeTimeout, message: ""), reason: ""))
        var done = HandshakePair()
        guard case .send(let proofI) = done.initiator.received(payload: done.responderHello) else { return }
        _ = done.responder.received(payload: done.initiatorHello)
        _ = done.responder.received(payload: proofI.encode())
        #expect(done.responder.deadlineReached() == .none)
    }

    @Test("a refusal from the peer ends the handshake without an answer")
    func peerRefusal() {
        var pair = HandshakePair()
        let refusal = WireMessage.refusal(.init(code: .unsupportedVersion, message: "no")).encode()
        #expect(pair.initiator.received(payload: refusal) == .refuse(nil, reason: ""))
    }
}
