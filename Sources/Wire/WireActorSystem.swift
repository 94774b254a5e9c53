import Distributed
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import WireFormat

/// A peer connecting or going away, for a coordinator that tracks its agents.
public struct WirePeerEvent: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The first authenticated connection to this node is up.
        case connected
        /// The last connection to this node closed.
        case disconnected
    }

    public var kind: Kind
    public var nodeID: String
    public var role: WireRole

    public init(kind: Kind, nodeID: String, role: WireRole) {
        self.kind = kind
        self.nodeID = nodeID
        self.role = role
    }
}

/// The distributed actor system of one Ballast node. It owns the local actors by `WireActorID`, the
/// authenticated connections to peers (over TCP with `listen`/`connect`, or through a shared `WireHub` in one
/// process), and routes each remote call by the recipient's node id to a live connection to that node.
/// Calls time out, fail at once when their connection drops, and never trap on what a peer sends.
public final class WireActorSystem: DistributedActorSystem, Sendable {
    public typealias ActorID = WireActorID
    public typealias InvocationEncoder = WireInvocationEncoder
    public typealias InvocationDecoder = WireInvocationDecoder
    public typealias ResultHandler = WireResultHandler
    public typealias SerializationRequirement = any Codable

    /// Well-known actor names, so a peer can address an actor without a lookup.
    public enum WellKnownName {
        public static let agent = "agent"
        public static let coordinator = "coordinator"
    }

    public let configuration: Configuration
    public var nodeID: String { configuration.nodeID }
    public var role: WireRole { configuration.role }

    enum Transport: Sendable {
        case network(any EventLoopGroup, tls: (server: NIOSSLContext, client: NIOSSLContext)?)
        case inProcess(WireHub)
    }

    enum PeerLink: Sendable {
        case network(WireConnection)
        case inProcess(WireActorSystem)
    }

    struct WeakActor {
        weak var actor: (any DistributedActor)?
    }

    struct State: ~Copyable {
        var actors: [WireActorID: WeakActor] = [:]
        var nextActorNumber = 0
        var links: [String: [(link: PeerLink, role: WireRole)]] = [:]
        var connections: [ObjectIdentifier: WireConnection] = [:]
        var listeners: [any Channel] = []
        var dialers: [Task<Void, Never>] = []
        var subscribers: [UInt64: AsyncStream<WirePeerEvent>.Continuation] = [:]
        // Incoming calls being executed, cancelled at shutdown.
        var inboundCalls: [UInt64: Task<Void, Never>] = [:]
        var nextInboundCall: UInt64 = 0
        var finishedInboundCalls: Set<UInt64> = []
        var nextSubscriber: UInt64 = 0
        var isShutdown = false
    }

    let transport: Transport
    let state = Mutex(State())
    let logger: Logger
    let clock: any Clock<Duration>
    let remoteErrorTypes: [String: any WireRemoteError.Type]
    let jsonCoding: WireJSONCoding
    let directory: WireCallDirectory

    @TaskLocal static var pendingWellKnownName: (system: ObjectIdentifier, name: String)?

    /// The authenticated peer whose call is running, for the duration of a distributed function executed for a
    /// remote caller (over TCP, or through a hub); nil in a local call. A function that must act only for its
    /// caller's own resources (a report for the agent's own cluster) checks it.
    @TaskLocal public static var caller: WirePeerIdentity?

    /// A system that talks TCP: call `listen` and/or `connect`.
    public convenience init(
        configuration: Configuration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "ballast.wire")
    ) throws(WireConnectError) {
        try configuration.validate()
        let tls = try configuration.tls?.makeContexts()
        self.init(
            configuration: configuration,
            transport: .network(eventLoopGroup, tls: tls),
            clock: ContinuousClock(),
            logger: logger
        )
    }

    /// A system that lives in one process with the others joined to `hub`, with no sockets: same actors, same
    /// call semantics and encoding. Call timeouts are measured on `clock`.
    public convenience init(
        configuration: Configuration,
        hub: WireHub,
        clock: any Clock<Duration> = ContinuousClock(),
        logger: Logger = Logger(label: "ballast.wire")
    ) throws(WireConnectError) {
        try configuration.validate()
        self.init(configuration: configuration, transport: .inProcess(hub), clock: clock, logger: logger)
        try hub.join(self)
    }

    private init(configuration: Configuration, transport: Transport, clock: any Clock<Duration>, logger: Logger) {
        self.configuration = configuration
        self.transport = transport
        self.clock = clock
        var logger = logger
        logger[metadataKey: WireLogKey.node] = "\(configuration.nodeID)"
        self.logger = logger
        var types: [String: any WireRemoteError.Type] = [:]
        for type in configuration.remoteErrorTypes { types[type.wireErrorCode] = type }
        self.remoteErrorTypes = types
        self.jsonCoding = WireJSONCoding(configuration.jsonCoders)
        self.directory = WireCallDirectory(configuration.endpoints)
    }

    // MARK: Naming local actors

    /// Runs `make`, giving the one distributed actor it creates on this system the well-known `name`, e.g.
    /// `system.withWellKnownName(WireActorSystem.WellKnownName.agent) { Agent(actorSystem: system) }`.
    public func withWellKnownName<Result>(_ name: String, _ make: () throws -> Result) rethrows -> Result {
        try Self.$pendingWellKnownName.withValue((ObjectIdentifier(self), name), operation: make)
    }

    /// The id of the actor with a well-known name on some node.
    public static func wellKnownID(node: String, name: String) -> WireActorID {
        WireActorID(node: node, name: name)
    }

    // MARK: DistributedActorSystem

    public func resolve<Act>(id: WireActorID, as actorType: Act.Type) throws -> Act?
    where Act: DistributedActor, Act.ID == WireActorID {
        guard id.node == nodeID else { return nil }
        let actor = state.withLock { $0.actors[id]?.actor }
        guard let actor else {
            throw WireCallError(.unknownActor, recipient: id, "no local actor \(id) on this node")
        }
        guard let typed = actor as? Act else {
            throw WireCallError(
                .unknownActor,
                recipient: id,
                "the local actor \(id) is a \(type(of: actor)), not a \(Act.self)"
            )
        }
        return typed
    }

    public func assignID<Act>(_ actorType: Act.Type) -> WireActorID
    where Act: DistributedActor, Act.ID == WireActorID {
        let pending = Self.pendingWellKnownName
        return state.withLock { state in
            if let pending, pending.system == ObjectIdentifier(self) {
                if state.actors[WireActorID(node: nodeID, name: pending.name)]?.actor == nil {
                    return WireActorID(node: nodeID, name: pending.name)
                }
                logger.warning(
                    "well-known actor name already taken; the new actor gets a generated name",
                    metadata: ["ballast.actor": "\(pending.name)"]
                )
            }
            state.nextActorNumber += 1
            return WireActorID(node: nodeID, name: "\(Act.self)-\(state.nextActorNumber)")
        }
    }

    public func actorReady<Act>(_ actor: Act) where Act: DistributedActor, Act.ID == WireActorID {
        state.withLock { $0.actors[actor.id] = WeakActor(actor: actor) }
    }

    public func resignID(_ id: WireActorID) {
        state.withLock { _ = $0.actors.removeValue(forKey: id) }
    }

    public func makeInvocationEncoder() -> WireInvocationEncoder {
        WireInvocationEncoder(coding: jsonCoding)
    }

    public func remoteCall<Act, Err, Res>(
        on actor: Act,
        target: RemoteCallTarget,
        invocation: inout WireInvocationEncoder,
        throwing: Err.Type,
        returning: Res.Type
    ) async throws -> Res where Act: DistributedActor, Act.ID == WireActorID, Err: Error, Res: Codable {
        let outcome = try await send(to: actor.id, of: Act.self, target: target, invocation: invocation)
        switch outcome {
        case .value(let bytes):
            do {
                return try jsonCoding.decode(Res.self, from: bytes)
            } catch {
                throw WireCallError(
                    .badArguments,
                    recipient: actor.id,
                    "the reply is not a valid \(Res.self): \(error)"
                )
            }
        case .error(let body):
            throw remoteError(body, recipient: actor.id)
        }
    }

    public func remoteCallVoid<Act, Err>(
        on actor: Act,
        target: RemoteCallTarget,
        invocation: inout WireInvocationEncoder,
        throwing: Err.Type
    ) async throws where Act: DistributedActor, Act.ID == WireActorID, Err: Error {
        let outcome = try await send(to: actor.id, of: Act.self, target: target, invocation: invocation)
        if case .error(let body) = outcome { throw remoteError(body, recipient: actor.id) }
    }

    // MARK: Calls

    private func send(
        to recipient: WireActorID,
        of actorType: any DistributedActor.Type,
        target: RemoteCallTarget,
        invocation: WireInvocationEncoder
    ) async throws -> WireMessage.Reply.Outcome {
        // One way to call: by the stable name an endpoint gives the function, never by its Swift identifier.
        guard let name = directory.name(of: target, on: actorType) else {
            throw WireCallError(
                .unknownTarget,
                recipient: recipient,
                "no registered endpoint of \(actorType) names \(target); register it in a WireEndpoint"
            )
        }
        let link: PeerLink? = try state.withLock { state in
            if state.isShutdown {
                throw WireCallError(.shutdown, recipient: recipient, "the actor system of \(nodeID) is shut down")
            }
            return state.links[recipient.node]?.last?.link
        }
        guard let link else {
            throw WireCallError(.peerNotConnected, recipient: recipient, "no connection to node \(recipient.node)")
        }
        // Refuse here what the peer would refuse: a call it cannot decode or a frame above its limit would
        // cost the whole connection.
        let envelope = WireMessage.call(
            .init(
                callID: 0,
                recipient: recipient,
                target: name,
                arguments: invocation.arguments
            )
        )
        do {
            try envelope.validate()
        } catch {
            throw WireCallError(.encodingFailed, recipient: recipient, error.message)
        }
        let limit = configuration.connection.frameLimits.maxFrameSize
        guard envelope.encodedLength <= limit else {
            throw WireCallError(
                .encodingFailed,
                recipient: recipient,
                "the call is \(envelope.encodedLength) bytes, above the frame limit of \(limit)"
            )
        }
        let timeout = configuration.callTimeout
        switch link {
        case .network(let connection):
            return try await connection.call(
                recipient: recipient,
                target: name,
                genericSubstitutions: [],
                arguments: invocation.arguments,
                timeout: timeout
            )
        case .inProcess(let remote):
            let call = WireMessage.Call(
                callID: 0,
                recipient: recipient,
                target: name,
                arguments: invocation.arguments
            )
            return try await callInProcess(remote, call: call, timeout: timeout)
        }
    }

    private func callInProcess(
        _ remote: WireActorSystem,
        call: WireMessage.Call,
        timeout: Duration
    ) async throws -> WireMessage.Reply.Outcome {
        // The envelope goes through the same bytes as on a socket, so both transports accept the same calls.
        let decoded = try WireMessage(decoding: WireMessage.call(call).encode())
        guard case .call(let delivered) = decoded else {
            throw WireCallError(.encodingFailed, recipient: call.recipient, "the call did not round-trip")
        }
        let clock = self.clock
        return try await withThrowingTaskGroup(of: WireMessage.Reply.Outcome.self) { group in
            let caller = WirePeerIdentity(nodeID: nodeID, role: role, version: .current)
            group.addTask { await remote.executeIncoming(delivered, from: caller) }
            group.addTask {
                try await clock.sleep(for: timeout, tolerance: nil)
                throw WireCallError(.timeout, recipient: call.recipient, "no reply within \(timeout)")
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else {
                throw WireCallError(.shutdown, recipient: call.recipient, "the call was cancelled")
            }
            return first
        }
    }

    /// Runs an incoming call from a peer of role `callerRole` against the local actor it names and returns the
    /// reply's outcome. Never throws: every failure becomes an error reply with a stable code.
    func executeIncoming(_ call: WireMessage.Call, from caller: WirePeerIdentity) async -> WireMessage.Reply.Outcome {
        let callerRole = caller.role
        guard call.recipient.node == nodeID, let actor = state.withLock({ $0.actors[call.recipient]?.actor }) else {
            return .error(
                .init(code: WireSystemErrorCode.unknownActor, message: "no actor \(call.recipient) on node \(nodeID)")
            )
        }
        // A call runs only by a registered name, of an endpoint the recipient implements and the caller's role
        // may use; anything else, Swift mangling included, is an unknown target.
        guard let entry = directory.entry(named: call.target), entry.endpoint.callers.contains(callerRole),
            entry.endpoint.isImplemented(actor)
        else {
            return .error(
                .init(
                    code: WireSystemErrorCode.unknownTarget,
                    message: "\(call.recipient) has no call \(call.target) for a peer of role \(callerRole)"
                )
            )
        }
        guard let run = entry.call.run else {
            let replacement = entry.call.replacement.map { "; call \($0) instead" } ?? ""
            return .error(
                .init(
                    code: WireSystemErrorCode.retiredCall,
                    message: "the call \(call.target) is retired\(replacement)",
                    detail: WireResultHandler.retiredDetail(call: call.target, replacement: entry.call.replacement)
                )
            )
        }
        guard call.genericSubstitutions.isEmpty, call.arguments.count == entry.call.arity else {
            return .error(
                .init(
                    code: WireSystemErrorCode.badArguments,
                    message:
                        "\(call.target) takes \(entry.call.arity) arguments and no generic substitutions; the call carries \(call.arguments.count) and \(call.genericSubstitutions.count)"
                )
            )
        }
        var arguments = WireArguments(documents: call.arguments, coding: jsonCoding, callName: call.target)
        do {
            let value = try await Self.$caller.withValue(caller) { try await run(actor, &arguments) }
            return .value(value)
        } catch {
            return .error(WireResultHandler.errorBody(for: error))
        }
    }

    private func remoteError(_ body: WireMessage.Reply.ErrorBody, recipient: WireActorID) -> any Error {
        switch body.code {
        case WireSystemErrorCode.unknownActor:
            return WireCallError(.unknownActor, recipient: recipient, remoteCode: body.code, body.message)
        case WireSystemErrorCode.unknownTarget:
            return WireCallError(.unknownTarget, recipient: recipient, remoteCode: body.code, body.message)
        case WireSystemErrorCode.retiredCall:
            return WireCallError(.retiredCall, recipient: recipient, remoteCode: body.code, body.message)
        case WireSystemErrorCode.badArguments:
            return WireCallError(.badArguments, recipient: recipient, remoteCode: body.code, body.message)
        case WireSystemErrorCode.remoteFailure:
            return WireCallError(.remoteFailure, recipient: recipient, remoteCode: body.code, body.message)
        default:
            guard let type = remoteErrorTypes[body.code] else {
                return WireCallError(
                    .unregisteredRemoteError,
                    recipient: recipient,
                    remoteCode: body.code,
                    body.message
                )
            }
            func decode<E: WireRemoteError>(_ type: E.Type) -> any Error {
                do {
                    return try JSONDecoder().decode(E.self, from: Data(body.detail))
                } catch {
                    return WireCallError(
                        .badArguments,
                        recipient: recipient,
                        remoteCode: body.code,
                        "the detail of \(body.code) is not a valid \(E.self): \(error); message: \(body.message)"
                    )
                }
            }
            return decode(type)
        }
    }

    // MARK: Peers

    /// Connected and disconnected events, starting with a `connected` event for every peer already connected.
    /// Each call returns a new sequence; it finishes when the system shuts down.
    public func peerEvents() -> AsyncStream<WirePeerEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: WirePeerEvent.self)
        let finished = state.withLock { state -> Bool in
            if state.isShutdown { return true }
            for (node, links) in state.links.sorted(by: { $0.key < $1.key }) {
                if let role = links.first?.role {
                    continuation.yield(.init(kind: .connected, nodeID: node, role: role))
                }
            }
            let id = state.nextSubscriber
            state.nextSubscriber += 1
            state.subscribers[id] = continuation
            continuation.onTermination = { [weak self] _ in
                _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
            }
            return false
        }
        if finished { continuation.finish() }
        return stream
    }

    /// The node ids with at least one live, authenticated connection.
    public var connectedPeers: Set<String> {
        state.withLock { Set($0.links.keys) }
    }

    /// The connected peers that authenticated in `role` (an agent's coordinators, on a hub shared with other
    /// agents).
    public func connectedPeers(role: WireRole) -> Set<String> {
        state.withLock { state in
            Set(state.links.filter { entry in entry.value.contains { $0.1 == role } }.keys)
        }
    }

    func addLink(_ link: PeerLink, peer nodeID: String, role: WireRole) {
        state.withLock { state in
            let isFirst = state.links[nodeID]?.isEmpty ?? true
            state.links[nodeID, default: []].append((link, role))
            if isFirst {
                for subscriber in state.subscribers.values {
                    subscriber.yield(.init(kind: .connected, nodeID: nodeID, role: role))
                }
            }
        }
        logger.info("wire peer connected", metadata: [WireLogKey.peer: "\(nodeID)", "ballast.role": "\(role)"])
    }

    func removeLink(where matches: (PeerLink) -> Bool, peer nodeID: String) {
        let removed = state.withLock { state -> Bool in
            guard var links = state.links[nodeID], let index = links.firstIndex(where: { matches($0.link) }) else {
                return false
            }
            let role = links.remove(at: index).role
            if links.isEmpty {
                state.links[nodeID] = nil
                for subscriber in state.subscribers.values {
                    subscriber.yield(.init(kind: .disconnected, nodeID: nodeID, role: role))
                }
            } else {
                state.links[nodeID] = links
            }
            return true
        }
        if removed { logger.info("wire peer link closed", metadata: [WireLogKey.peer: "\(nodeID)"]) }
    }

    // MARK: Shutdown

    /// Stops taking work, says goodbye on every connection, fails calls in flight, stops listening and dialling,
    /// and waits until every connection is closed. Calls made afterwards fail with `shutdown`.
    public func shutdown() async {
        let (connections, listeners, dialers, subscribers, inbound, wasShutdown) = state.withLock { state in
            defer {
                state.isShutdown = true
                state.subscribers.removeAll()
                state.dialers.removeAll()
                state.listeners.removeAll()
                state.inboundCalls.removeAll()
            }
            return (
                Array(state.connections.values), state.listeners, state.dialers, Array(state.subscribers.values),
                Array(state.inboundCalls.values), state.isShutdown
            )
        }
        guard !wasShutdown else { return }
        for task in inbound { task.cancel() }
        // Closing can only fail when already closed, which is the goal; same for the close futures below.
        for listener in listeners { try? await listener.close() }
        for connection in connections { connection.shutdown(reason: "node \(nodeID) is shutting down") }
        for dialer in dialers { dialer.cancel() }
        for dialer in dialers { await dialer.value }
        for connection in connections { try? await connection.closed.get() }
        if case .inProcess(let hub) = transport { hub.leave(self) }
        for subscriber in subscribers { subscriber.finish() }
        logger.info("wire actor system shut down")
    }

    var isShutdown: Bool { state.withLock { $0.isShutdown } }
}

// MARK: Connection events

extension WireActorSystem: WireConnectionDelegate {
    func connectionEstablished(_ connection: WireConnection, peer: WirePeerIdentity) {
        addLink(.network(connection), peer: peer.nodeID, role: peer.role)
    }

    func connectionClosed(_ connection: WireConnection, peer: WirePeerIdentity?) {
        state.withLock { _ = $0.connections.removeValue(forKey: ObjectIdentifier(connection.channel)) }
        if let peer {
            removeLink(
                where: { if case .network(let other) = $0 { return other === connection } else { return false } },
                peer: peer.nodeID
            )
        }
    }

    func connection(_ connection: WireConnection, received call: WireMessage.Call, from peer: WirePeerIdentity) {
        let token = state.withLock { state -> UInt64? in
            guard !state.isShutdown else { return nil }
            state.nextInboundCall += 1
            return state.nextInboundCall
        }
        guard let token else { return }
        // Created outside the lock; registered after, unless it already finished (then it left a mark).
        let answer: @Sendable () async -> Void = {
            var reply = WireMessage.Reply(
                callID: call.callID,
                outcome: await self.executeIncoming(call, from: peer)
            )
            let limit = self.configuration.connection.frameLimits.maxFrameSize
            if WireMessage.reply(reply).encodedLength > limit {
                reply.outcome = .error(
                    .init(
                        code: WireSystemErrorCode.remoteFailure,
                        message:
                            "the result is \(WireMessage.reply(reply).encodedLength) bytes, above the frame limit of \(limit)"
                    )
                )
            }
            connection.send(reply: reply)
            self.state.withLock { state in
                if state.inboundCalls.removeValue(forKey: token) == nil { state.finishedInboundCalls.insert(token) }
            }
        }
        let task =
            configuration.runsIncomingCallsOnEventLoop
            ? Task(executorPreference: connection.callExecutor, operation: answer) : Task(operation: answer)
        state.withLock { state in
            if state.finishedInboundCalls.remove(token) == nil { state.inboundCalls[token] = task }
        }
    }
}
