import Crypto
import Testing
import Wire
import WireFormat

@Suite("docs/wire.md golden vectors")
struct GoldenVectorTests {
    static let helloInitiator = WireMessage.Hello(role: .agent, nonce: Array(0..<32), nodeID: "agent-eu-1")
    static let helloResponder = WireMessage.Hello(role: .coordinator, nonce: Array(32..<64), nodeID: "coord-1")
    static let secret = SymmetricKey(data: Array("ballast-test-secret-0123456789ab".utf8))

    static let expected: [String: WireMessage] = [
        "hello-initiator": .hello(helloInitiator),
        "hello-responder": .hello(helloResponder),
        "refusal-version": .refusal(
            .init(code: .unsupportedVersion, message: "major version 2 is not supported; this peer speaks 1.0")
        ),
        "call": .call(
            .init(
                callID: 7,
                recipient: WireActorID(node: "agent-eu-1", name: "agent"),
                target: "example.drain",
                arguments: [Array(#""node-a""#.utf8), Array("30".utf8)]
            )
        ),
        "reply-value": .reply(.init(callID: 7, outcome: .value(Array(#"{"evicted":3}"#.utf8)))),
        "reply-void": .reply(.init(callID: 10, outcome: .value([]))),
        "reply-error": .reply(
            .init(
                callID: 8,
                outcome: .error(
                    .init(
                        code: "ballast.stale-epoch",
                        message: "epoch 4 is lower than 5",
                        detail: Array(#"{"got":4,"seen":5}"#.utf8)
                    )
                )
            )
        ),
        "reply-unknown-actor": .reply(
            .init(callID: 11, outcome: .error(.init(code: "wire.unknown-actor", message: "no actor agent-eu-1/nope")))
        ),
        "heartbeat": .heartbeat(.init(sequence: 1)),
        "goodbye": .goodbye(.init(code: .shuttingDown, message: "shutting down")),
    ]

    static let expectedErrors: [String: WireFormatError.Code] = [
        "bad-http-probe": .httpProbe,
        "bad-oversize": .frameTooLarge,
        "bad-magic": .badMagic,
        "bad-truncated": .truncatedFrame,
        "bad-string-length": .truncated,
    ]

    @Test("every hex block in docs/wire.md is checked by this suite")
    func everyBlockIsChecked() throws {
        // The fleet's calls (`fleet-*`) are read into their Swift types by FleetAPITests; here, their frames.
        let names = Set(try GoldenVectors.load().keys).filter { !$0.hasPrefix("fleet-") }
        let checked = Set(Self.expected.keys).union(Self.expectedErrors.keys).union([
            "proof-initiator", "proof-responder",
        ])
        #expect(names == checked)
    }

    @Test("each fleet call of the document is one frame that re-encodes to the same bytes")
    func fleetFrames() throws {
        let vectors = try GoldenVectors.load().filter { $0.key.hasPrefix("fleet-") }
        #expect(vectors.count >= 7)
        for (name, bytes) in vectors {
            let messages = try WireFrame.decodeStream(bytes, limits: .init())
            #expect(messages.count == 1, "\(name)")
            #expect(messages.map { $0.encodeFrame() } == [bytes], "\(name)")
        }
    }

    @Test(
        "each documented message decodes to its value and re-encodes to the same bytes",
        arguments: expected.keys.sorted()
    )
    func decodesAndReencodes(name: String) throws {
        let bytes = try #require(try GoldenVectors.load()[name])
        let message = try #require(Self.expected[name])
        #expect(try WireFrame.decodeStream(bytes, limits: .init()) == [message])
        #expect(message.encodeFrame() == bytes)
        try message.validate()
    }

    @Test("each documented malformed input is refused with its code", arguments: expectedErrors.keys.sorted())
    func malformedIsRefused(name: String) throws {
        let bytes = try #require(try GoldenVectors.load()[name])
        #expect {
            _ = try WireFrame.decodeStream(bytes)
        } throws: { error in
            (error as? WireFormatError)?.code == Self.expectedErrors[name]
        }
    }

    @Test("the documented handshake proofs are the HMACs of the documented hellos")
    func handshakeProofs() throws {
        let vectors = try GoldenVectors.load()
        let initiatorHello = WireMessage.hello(Self.helloInitiator).encode()
        let responderHello = WireMessage.hello(Self.helloResponder).encode()
        for (name, side) in [("proof-initiator", WireConnectionSide.initiator), ("proof-responder", .responder)] {
            let mac = WireHandshakeMAC.mac(
                secret: Self.secret,
                side: side,
                initiatorHello: initiatorHello,
                responderHello: responderHello
            )
            let frame = WireMessage.proof(.init(mac: mac)).encodeFrame()
            #expect(frame == vectors[name], "\(name)")
            #expect(try WireFrame.decodeStream(try #require(vectors[name])) == [.proof(.init(mac: mac))])
        }
    }

    @Test("a handshake fed the documented hellos sends the documented proof and accepts the peer's")
    func handshakeMachineMatchesDocument() throws {
        let vectors = try GoldenVectors.load()
        var responder = HandshakeStateMachine(
            side: .responder,
            localHello: Self.helloResponder,
            secretForPeer: { _, _ in Self.secret }
        )
        guard case .send(.hello) = responder.start() else {
            Issue.record("no hello")
            return
        }
        let helloPayload = Array(try #require(vectors["hello-initiator"]).dropFirst(4))
        guard case .send(let proof) = responder.received(payload: helloPayload) else {
            Issue.record("no proof")
            return
        }
        #expect(proof.encodeFrame() == vectors["proof-responder"])
        let peerProof = Array(try #require(vectors["proof-initiator"]).dropFirst(4))
        guard case .established(let peer) = responder.received(payload: peerProof) else {
            Issue.record("not established")
            return
        }
        #expect(peer == WirePeerIdentity(nodeID: "agent-eu-1", role: .agent, version: .current))
    }
}
