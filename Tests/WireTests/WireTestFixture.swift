import BallastTestSupport
import Crypto
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
import Wire
import WireFormat

/// Builds and tears down actor systems on 127.0.0.1 with OS-chosen ports and short timings.
enum WireFixture {
    static let secret = SymmetricKey(data: Array("fixture-secret-fixture-secret-32".utf8))

    static func configuration(
        node: String,
        role: WireRole,
        secret: SymmetricKey = WireFixture.secret
    ) -> WireActorSystem.Configuration {
        var configuration = WireActorSystem.Configuration(nodeID: node, role: role, secrets: .shared(secret))
        configuration.callTimeout = .seconds(5)
        configuration.connection.handshakeTimeout = .seconds(1)
        configuration.reconnectBackoff = ReconnectBackoff(initial: .milliseconds(20), maximum: .milliseconds(200))
        configuration.remoteErrorTypes = [StaleEpoch.self]
        return configuration
    }

    /// A coordinator system listening on 127.0.0.1, and an agent system connected to it, each hosting its
    /// well-known actor. Both are shut down when `body` returns or throws.
    static func withPair<Result>(
        coordinatorConfiguration: WireActorSystem.Configuration = configuration(node: "coord-1", role: .coordinator),
        agentConfiguration: WireActorSystem.Configuration = configuration(node: "agent-eu-1", role: .agent),
        coordinatorLogger: Logger = Logger(label: "test.coordinator"),
        _ body: (Pair) async throws -> Result
    ) async throws -> Result {
        let coordinatorSystem = try WireActorSystem(configuration: coordinatorConfiguration, logger: coordinatorLogger)
        let agentSystem = try WireActorSystem(configuration: agentConfiguration, logger: Logger(label: "test.agent"))
        do {
            let coordinator = coordinatorSystem.withWellKnownName(WireActorSystem.WellKnownName.coordinator) {
                TestCoordinator(actorSystem: coordinatorSystem)
            }
            let agent = agentSystem.withWellKnownName(WireActorSystem.WellKnownName.agent) {
                TestAgent(actorSystem: agentSystem)
            }
            let address = try await coordinatorSystem.listen(host: "127.0.0.1", port: 0)
            let peer = try await agentSystem.connect(host: "127.0.0.1", port: try #require(address.port))
            #expect(peer.nodeID == "coord-1")
            try await waitUntil { coordinatorSystem.connectedPeers.contains("agent-eu-1") }
            let result = try await body(
                Pair(
                    coordinatorSystem: coordinatorSystem,
                    agentSystem: agentSystem,
                    coordinator: coordinator,
                    agent: agent,
                    port: try #require(address.port)
                )
            )
            await agentSystem.shutdown()
            await coordinatorSystem.shutdown()
            return result
        } catch {
            await agentSystem.shutdown()
            await coordinatorSystem.shutdown()
            throw error
        }
    }

    struct Pair {
        var coordinatorSystem: WireActorSystem
        var agentSystem: WireActorSystem
        var coordinator: TestCoordinator
        var agent: TestAgent
        var port: Int

        /// The agent as the coordinator sees it: a remote reference resolved by its well-known id.
        func remoteAgent() throws -> TestAgent {
            try TestAgent.resolve(id: WireActorID(node: "agent-eu-1", name: "agent"), using: coordinatorSystem)
        }

        func remoteCoordinator() throws -> TestCoordinator {
            try TestCoordinator.resolve(id: WireActorID(node: "coord-1", name: "coordinator"), using: agentSystem)
        }
    }

    struct TimedOut: Error, CustomStringConvertible {
        var description: String
    }

    /// Polls `condition` every 10 ms until it holds or `timeout` passes.
    static func waitUntil(
        timeout: Duration = .seconds(5),
        _ what: String = "condition",
        _ condition: () -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else {
                throw TimedOut(description: "\(what) did not hold within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// A raw TCP peer speaking bytes, for bad-input tests: it can do the handshake by hand, send anything, and
/// read frames or see the server close.
final class RawPeer: Sendable {
    let channel: any Channel
    private let received: Mutex<[UInt8]>

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let sink: @Sendable ([UInt8]) -> Void
        init(sink: @escaping @Sendable ([UInt8]) -> Void) { self.sink = sink }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            sink(buffer.readBytes(length: buffer.readableBytes) ?? [])
        }
    }

    private init(channel: any Channel) {
        self.channel = channel
        self.received = Mutex([])
    }

    static func connect(port: Int) async throws -> RawPeer {
        let box = ReceivedBox()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector { bytes in box.append(bytes) })
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let peer = RawPeer(channel: channel)
        box.attach(peer)
        return peer
    }

    /// Routes bytes that arrive before `connect` returns to the peer once it exists.
    private final class ReceivedBox: Sendable {
        private let state = Mutex<(peer: RawPeer?, early: [UInt8])>((nil, []))
        func append(_ bytes: [UInt8]) {
            state.withLock { state in
                if let peer = state.peer { peer.received.withLock { $0 += bytes } } else { state.early += bytes }
            }
        }
        func attach(_ peer: RawPeer) {
            state.withLock { state in
                peer.received.withLock { $0 = state.early + $0 }
                state.peer = peer
            }
        }
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    func send(_ message: WireMessage) async throws {
        try await send(message.encodeFrame())
    }

    /// The next whole frame's payload, or nil if the connection closed first.
    func readFrame(timeout: Duration = .seconds(3)) async throws -> [UInt8]? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let frame = received.withLock { bytes -> [UInt8]? in
                guard bytes.count >= 4 else { return nil }
                let length = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
                guard bytes.count >= 4 + length else { return nil }
                defer { bytes.removeFirst(4 + length) }
                return Array(bytes[4..<(4 + length)])
            }
            if let frame { return frame }
            if !channel.isActive { return nil }
            guard ContinuousClock.now < deadline else {
                throw WireFixture.TimedOut(description: "no frame within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    func readMessage(timeout: Duration = .seconds(3)) async throws -> WireMessage? {
        guard let payload = try await readFrame(timeout: timeout) else { return nil }
        return try WireMessage(decoding: payload)
    }

    /// Returns once the server closed the connection.
    func waitForClose(timeout: Duration = .seconds(3)) async throws {
        try await WireFixture.waitUntil(timeout: timeout, "the server closing the connection") { !channel.isActive }
    }

    /// Half-closes our side: the server sees end of stream.
    func closeOutput() async throws {
        try await channel.close(mode: .output)
    }

    func close() async {
        try? await channel.close()
    }

    /// Runs our side of the handshake; returns the established peer or the refusal the server sent.
    func handshake(
        node: String = "raw-1",
        role: WireRole = .agent,
        secret: SymmetricKey = WireFixture.secret,
        tamper: (inout WireMessage.Proof) -> Void = { _ in }
    ) async throws -> HandshakeResult {
        var machine = HandshakeStateMachine(
            side: .initiator,
            localHello: .init(role: role, nonce: (0..<32).map { _ in .random(in: 0...255) }, nodeID: node),
            secretForPeer: { _, _ in secret }
        )
        guard case .send(let hello) = machine.start() else { throw WireFixture.TimedOut(description: "no hello") }
        try await send(hello)
        while let payload = try await readFrame() {
            switch machine.received(payload: payload) {
            case .send(.proof(var proof)):
                tamper(&proof)
                try await send(.proof(proof))
            case .send(let other):
                try await send(other)
            case .established(let peer):
                return .established(peer)
            case .refuse(let refusal, let reason):
                if let refusal { return .refused(refusal.code, reason) }
                if case .refusal(let theirs) = try WireMessage(decoding: payload) {
                    return .refused(theirs.code, theirs.message)
                }
                return .refused(.protocolViolation, reason)
            case .none:
                continue
            }
        }
        return .closed
    }

    enum HandshakeResult: Equatable {
        case established(WirePeerIdentity)
        case refused(WireCloseCode, String)
        case closed
    }
}
