import BallastTestSupport
import Crypto
import Testing
import Wire
import WireFormat

/// Each bad input closes only the offending connection, logs one line with the reason, and the agent's
/// connection to the same coordinator keeps being served.
@Suite("Bad input on the wire")
struct BadInputTests {
    enum BadInput: String, CaseIterable, Sendable {
        case oversizeBeforeHandshake
        case oversizeAfterHandshake
        case aboveThePreAuthenticationCap
        case truncatedFrameAtEOF
        case garbageInsteadOfHandshake
        case wrongMagic
        case unknownMajorVersion
        case flippedMACBit
        case wrongSecret
        case replayedHandshake
        case replyToUnknownCallID
        case httpProbe
        case silentPastTheHandshakeDeadline
    }

    static func serverConfiguration() -> WireActorSystem.Configuration {
        var configuration = WireFixture.configuration(node: "coord-1", role: .coordinator)
        configuration.connection.handshakeTimeout = .seconds(1)
        return configuration
    }

    @Test("a bad input closes only its connection, with one logged reason", arguments: BadInput.allCases)
    func badInput(_ input: BadInput) async throws {
        let capture = LogCapture()
        try await WireFixture.withPair(
            coordinatorConfiguration: Self.serverConfiguration(),
            coordinatorLogger: capture.logger(label: "test.coordinator")
        ) { pair in
            let raw = try await RawPeer.connect(port: pair.port)
            let localPort = try #require(raw.channel.localAddress?.port)
            let start = ContinuousClock.now
            let expected = try await Self.send(input, over: raw, port: pair.port)
            // The server answers with the expected refusal or goodbye (when it has one), then closes.
            var codes: [WireCloseCode] = []
            while let message = try await raw.readMessage() {
                switch message {
                case .refusal(let refusal): codes.append(refusal.code)
                case .goodbye(let goodbye): codes.append(goodbye.code)
                default: continue
                }
            }
            try await raw.waitForClose()
            if let expected { #expect(codes == [expected]) }
            // At once, by the length check: before the 1 s handshake deadline that would close it anyway.
            if input == .httpProbe { #expect(ContinuousClock.now - start < .seconds(1)) }

            // Exactly one log line about closing this connection, with a reason.
            try await WireFixture.waitUntil { !Self.closeLines(capture, port: localPort).isEmpty }
            let lines = Self.closeLines(capture, port: localPort)
            #expect(lines.count == 1)
            #expect(lines.first?.metadata["ballast.reason"]?.isEmpty == false)
            if input == .httpProbe {
                #expect(lines.first?.metadata["ballast.reason"]?.contains("HTTP request") == true, "\(lines)")
            }
            // Nobody logs a secret or a payload.
            #expect(!capture.lines.withLock { $0 }.contains { "\($0.metadata)".contains("fixture-secret") })

            // The agent's connection is untouched and still served.
            #expect(try await pair.remoteAgent().drain(node: "still-here", epoch: 1).node == "still-here")
            #expect(try await pair.remoteCoordinator().report(cluster: "eu", pendingPods: 0) == 1)
        }
    }

    static func closeLines(_ capture: LogCapture, port: Int) -> [LogCapture.Line] {
        capture.lines.withLock { lines in
            lines.filter { line in
                line.message == "wire connection closed"
                    && (line.metadata["ballast.remote-address"]?.hasSuffix(":\(port)") ?? false)
            }
        }
    }

    /// Sends the bad input; returns the close code the server must answer with, if it answers at all.
    static func send(_ input: BadInput, over raw: RawPeer, port: Int) async throws -> WireCloseCode? {
        let hello = WireMessage.Hello(role: .agent, nonce: Array(repeating: 3, count: 32), nodeID: "raw-1")
        switch input {
        case .oversizeBeforeHandshake:
            try await raw.send([0x00, 0x10, 0x00, 0x01])
            return .frameTooLarge
        case .oversizeAfterHandshake:
            guard case .established = try await raw.handshake() else { return nil }
            try await raw.send([0x00, 0x10, 0x00, 0x01, 0x10])
            return .frameTooLarge
        case .aboveThePreAuthenticationCap:
            try await raw.send([0x00, 0x01, 0x00, 0x01] + Array(repeating: 0, count: 100))
            return .frameTooLarge
        case .truncatedFrameAtEOF:
            try await raw.send(Array(WireMessage.hello(hello).encodeFrame().prefix(20)))
            try await raw.closeOutput()
            return nil
        case .garbageInsteadOfHandshake:
            try await raw.send([0, 0, 0, 5] + Array("hello".utf8))
            return .protocolViolation
        case .wrongMagic:
            var frame = WireMessage.hello(hello).encodeFrame()
            frame[8] = 0x58
            try await raw.send(frame)
            return .badMagic
        case .unknownMajorVersion:
            var newer = hello
            newer.version = .init(major: 2, minor: 0)
            try await raw.send(.hello(newer))
            return .unsupportedVersion
        case .flippedMACBit:
            // Our side may see the server's proof verify first; the server then refuses ours.
            _ = try await raw.handshake(tamper: { $0.mac[0] ^= 0x01 })
            return .authenticationFailed
        case .wrongSecret:
            let result = try await raw.handshake(secret: SymmetricKey(data: Array(repeating: UInt8(7), count: 32)))
            guard case .refused(.authenticationFailed, _) = result else {
                Issue.record("expected our side to refuse the server's proof, got \(result)")
                return nil
            }
            return .authenticationFailed
        case .replayedHandshake:
            // Record a genuine handshake on another connection, then replay its hello and proof here.
            let recorder = try await RawPeer.connect(port: port)
            let recorded = try await recordHandshake(over: recorder)
            await recorder.close()
            try await raw.send(recorded.hello)
            _ = try await raw.readFrame()  // the server's hello, with a fresh nonce
            try await raw.send(recorded.proof)
            return .authenticationFailed
        case .replyToUnknownCallID:
            guard case .established = try await raw.handshake() else { return nil }
            try await raw.send(.reply(.init(callID: 424_242, outcome: .value([]))))
            return .protocolViolation
        case .httpProbe:
            try await raw.send(Array("GET / HTTP/1.1\r\nHost: coordinator\r\n\r\n".utf8))
            return .frameTooLarge
        case .silentPastTheHandshakeDeadline:
            return .handshakeTimeout
        }
    }

    /// A correct handshake whose sent frames are kept, as an eavesdropper would record them.
    static func recordHandshake(over raw: RawPeer) async throws -> (hello: WireMessage, proof: WireMessage) {
        let hello = WireMessage.Hello(role: .agent, nonce: Array(repeating: 4, count: 32), nodeID: "raw-1")
        var machine = HandshakeStateMachine(
            side: .initiator,
            localHello: hello,
            secretForPeer: { _, _ in WireFixture.secret }
        )
        _ = machine.start()
        try await raw.send(.hello(hello))
        let serverHello = try #require(try await raw.readFrame())
        guard case .send(let proof) = machine.received(payload: serverHello) else {
            throw WireFixture.TimedOut(description: "no proof to record")
        }
        try await raw.send(proof)
        return (.hello(hello), proof)
    }

    @Test("a call to an unknown actor or target answers a typed error and keeps the connection")
    func unknownActorAndTarget() async throws {
        try await WireFixture.withPair { pair in
            let raw = try await RawPeer.connect(port: pair.port)
            guard case .established = try await raw.handshake() else {
                Issue.record("handshake")
                return
            }
            let calls: [(WireActorID, String)] = [
                (.init(node: "coord-1", name: "nobody"), "$s9WireTests15TestCoordinatorC7reportsSaySSGyYaKFTE"),
                (.init(node: "coord-1", name: "coordinator"), "no-such-target"),
                (.init(node: "coord-1", name: "coordinator"), "$s9WireTests15TestCoordinatorC9undefinedyyYaKFTE"),
            ]
            let expected = ["wire.unknown-actor", "wire.unknown-target", "wire.unknown-target"]
            for (index, (recipient, target)) in calls.enumerated() {
                try await raw.send(
                    .call(.init(callID: UInt64(index + 1), recipient: recipient, target: target, arguments: []))
                )
                var reply: WireMessage.Reply?
                while reply == nil, let message = try await raw.readMessage() {
                    if case .reply(let received) = message { reply = received }
                }
                guard case .error(let body) = reply?.outcome else {
                    Issue.record("no error reply")
                    return
                }
                #expect(reply?.callID == UInt64(index + 1))
                #expect(body.code == expected[index])
            }
            #expect(raw.channel.isActive)
            await raw.close()
        }
    }
}
