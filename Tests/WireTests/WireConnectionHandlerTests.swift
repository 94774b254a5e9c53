import NIOCore
import NIOEmbedded
import Testing
import WireFormat

@testable import Wire

/// The real pipeline of a responder connection in an EmbeddedChannel: virtual time, no sockets.
struct EmbeddedConnection {
    let system: WireActorSystem
    let loop = EmbeddedEventLoop()
    let channel: EmbeddedChannel

    init(heartbeat: Duration = .seconds(2)) throws {
        var configuration = WireFixture.configuration(node: "coord-1", role: .coordinator)
        configuration.connection.handshakeTimeout = .seconds(5)
        configuration.connection.heartbeatInterval = heartbeat
        system = try WireActorSystem(configuration: configuration)
        channel = EmbeddedChannel(loop: loop)
        try system.installHandlers(on: channel, side: .responder)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
    }

    /// Every message the pipeline wrote so far.
    func written() throws -> [WireMessage] {
        var messages: [WireMessage] = []
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            messages += try WireFrame.decodeStream(
                bytes,
                limits: .init(maxFrameSize: 1 << 20, preAuthenticationMaxFrameSize: 1 << 20)
            )
        }
        return messages
    }

    func feed(_ message: WireMessage) throws {
        try channel.writeInbound(ByteBuffer(bytes: message.encodeFrame()))
    }
}

@Suite("WireConnectionHandler in an EmbeddedChannel")
struct WireConnectionHandlerTests {
    @Test("a silent peer is refused with handshakeTimeout exactly at the deadline, in virtual time")
    func handshakeDeadline() throws {
        let connection = try EmbeddedConnection()
        guard case .hello = try connection.written().first else {
            Issue.record("no hello")
            return
        }
        connection.loop.advanceTime(by: .milliseconds(4999))
        #expect(connection.channel.isActive)
        connection.loop.advanceTime(by: .milliseconds(1))
        guard case .refusal(let refusal) = try connection.written().first else {
            Issue.record("no refusal")
            return
        }
        #expect(refusal.code == .handshakeTimeout)
        #expect(!connection.channel.isActive)
    }

    @Test("an HTTP probe is refused from its first four bytes")
    func httpProbe() throws {
        let connection = try EmbeddedConnection()
        _ = try connection.written()
        try connection.channel.writeInbound(ByteBuffer(string: "GET "))
        guard case .refusal(let refusal) = try connection.written().first else {
            Issue.record("no refusal")
            return
        }
        #expect(refusal.code == .frameTooLarge)
        #expect(refusal.message.contains("HTTP"))
        #expect(!connection.channel.isActive)
    }

    @Test("after the handshake the pipeline beats every interval and closes a peer silent for three")
    func heartbeats() throws {
        let connection = try EmbeddedConnection()
        guard case .hello(let serverHello) = try connection.written().first else {
            Issue.record("no hello")
            return
        }
        var peer = HandshakeStateMachine(
            side: .initiator,
            localHello: .init(role: .agent, nonce: Array(repeating: 8, count: 32), nodeID: "agent-eu-1"),
            secretForPeer: { _, _ in WireFixture.secret }
        )
        guard case .send(let hello) = peer.start() else { return }
        try connection.feed(hello)
        guard case .send(let proof) = peer.received(payload: WireMessage.hello(serverHello).encode()),
            case .proof(let serverProof) = try connection.written().first,
            case .established = peer.received(payload: WireMessage.proof(serverProof).encode())
        else {
            Issue.record("handshake")
            return
        }
        try connection.feed(proof)
        #expect(connection.system.connectedPeers == ["agent-eu-1"])

        connection.loop.advanceTime(by: .seconds(2))
        #expect(try connection.written() == [.heartbeat(.init(sequence: 1))])
        try connection.feed(.heartbeat(.init(sequence: 1)))  // the peer is alive
        connection.loop.advanceTime(by: .seconds(4))
        #expect(try connection.written() == [.heartbeat(.init(sequence: 2)), .heartbeat(.init(sequence: 3))])
        #expect(connection.channel.isActive)
        connection.loop.advanceTime(by: .seconds(2))
        guard case .goodbye(let goodbye) = try connection.written().first else {
            Issue.record("no goodbye")
            return
        }
        #expect(goodbye.code == .peerSilent)
        #expect(!connection.channel.isActive)
        #expect(connection.system.connectedPeers.isEmpty)
    }
}
