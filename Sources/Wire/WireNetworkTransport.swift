import Logging
import NIOCore
import NIOPosix
import NIOSSL
import WireFormat

extension WireActorSystem {
    /// Accepts peers on `host:port` (port 0: the OS picks) and returns the bound address. Every accepted
    /// connection must complete the handshake within `handshakeTimeout` or is closed.
    public func listen(host: String, port: Int) async throws -> SocketAddress {
        guard case .network(let group, _) = transport else {
            throw WireConnectError(.invalidConfiguration, "listen needs a system built for the network transport")
        }
        guard !isShutdown else { throw WireConnectError(.cancelled, "the actor system is shut down") }
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(
                    .writeBufferWaterMark,
                    value:
                        .init(low: configuration.sendBufferLowWaterMark, high: configuration.sendBufferHighWaterMark)
                )
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try self.installHandlers(on: channel, side: .responder)
                    }
                }
                .bind(host: host, port: port).get()
        } catch {
            throw WireConnectError(.unreachable, "cannot listen on \(host):\(port): \(error)")
        }
        let stillRunning = state.withLock { state -> Bool in
            guard !state.isShutdown else { return false }
            state.listeners.append(channel)
            return true
        }
        guard stillRunning, let address = channel.localAddress else {
            try? await channel.close()  // already closing if it fails
            throw WireConnectError(.cancelled, "the actor system shut down while listening")
        }
        logger.info("wire listening", metadata: ["ballast.address": "\(address)"])
        return address
    }

    /// Keeps a connection to the peer at `host:port` for the life of this system: returns the peer once the
    /// first handshake succeeds, and from then on reconnects after every drop with `reconnectBackoff`.
    /// Until the first success, unreachable addresses are retried with backoff; a refused handshake (bad
    /// secret, version) throws, and so does cancelling the calling task.
    @discardableResult
    public func connect(host: String, port: Int) async throws -> WirePeerIdentity {
        guard case .network(let group, _) = transport else {
            throw WireConnectError(.invalidConfiguration, "connect needs a system built for the network transport")
        }
        let first = group.next().makePromise(of: WirePeerIdentity.self)
        let task = Task { await self.dialLoop(host: host, port: port, first: first) }
        let registered = state.withLock { state -> Bool in
            guard !state.isShutdown else { return false }
            state.dialers.append(task)
            return true
        }
        if !registered { task.cancel() }
        return try await withTaskCancellationHandler {
            try await first.futureResult.get()
        } onCancel: {
            task.cancel()
        }
    }

    private func dialLoop(host: String, port: Int, first: EventLoopPromise<WirePeerIdentity>) async {
        var backoff = configuration.reconnectBackoff
        var random = SystemRandomNumberGenerator()
        var reportedFirst = false
        var logger = self.logger
        logger[metadataKey: WireLogKey.remoteAddress] = "\(host):\(port)"
        while !Task.isCancelled && !isShutdown {
            do {
                let connection = try await dial(host: host, port: port)
                let peer: WirePeerIdentity
                do {
                    peer = try await connection.established.get()
                } catch {
                    if !reportedFirst {
                        reportedFirst = true
                        first.fail(
                            WireConnectError(.handshakeRefused, "handshake with \(host):\(port) failed: \(error)")
                        )
                        return
                    }
                    throw error
                }
                backoff.reset()
                if !reportedFirst {
                    reportedFirst = true
                    first.succeed(peer)
                }
                // The close future never fails in a way that matters here: either way, dial again.
                try? await connection.closed.get()
            } catch {
                logger.info("wire dial failed", metadata: [WireLogKey.reason: "\(error)"])
            }
            if Task.isCancelled || isShutdown { break }
            let delay = backoff.nextDelay(using: &random)
            do {
                try await clock.sleep(for: delay, tolerance: nil)
            } catch {
                break
            }
        }
        if !reportedFirst {
            first.fail(WireConnectError(.cancelled, "connecting to \(host):\(port) was cancelled"))
        }
    }

    private func dial(host: String, port: Int) async throws -> WireConnection {
        guard case .network(let group, _) = transport else {
            throw WireConnectError(.invalidConfiguration, "dial needs the network transport")
        }
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.init(configuration.dialTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(
                .writeBufferWaterMark,
                value:
                    .init(low: configuration.sendBufferLowWaterMark, high: configuration.sendBufferHighWaterMark)
            )
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.installHandlers(on: channel, side: .initiator)
                }
            }
            .connect(host: host, port: port).get()
        guard let connection = state.withLock({ $0.connections[ObjectIdentifier(channel)] }) else {
            // Only when the system shut down in between; the channel is already being closed.
            throw WireConnectError(.cancelled, "the actor system shut down while dialling")
        }
        return connection
    }

    /// Builds the pipeline of one connection: TLS when configured, the frame decoder, the connection handler.
    func installHandlers(on channel: any Channel, side: WireConnectionSide) throws {
        guard case .network(_, let tls) = transport else { return }
        let connection = WireConnection(channel: channel, side: side)
        let accepted = state.withLock { state -> Bool in
            guard !state.isShutdown else { return false }
            state.connections[ObjectIdentifier(channel)] = connection
            return true
        }
        guard accepted else {
            channel.close(promise: nil)
            return
        }
        var random = SystemRandomNumberGenerator()
        let nonce = (0..<WireMessage.nonceLength).map { _ in UInt8.random(in: .min ... .max, using: &random) }
        let hello = WireMessage.Hello(role: configuration.role, nonce: nonce, nodeID: configuration.nodeID)
        let handshake = HandshakeStateMachine(
            side: side,
            localHello: hello,
            secretForPeer: configuration.secrets.lookup
        )
        let machine = ConnectionStateMachine<OutboundCall>(
            configuration: configuration.connection,
            handshake: handshake
        )
        let limit = WireFrameLimit(configuration.connection.frameLimits.preAuthenticationMaxFrameSize)
        let sync = channel.pipeline.syncOperations
        if let tls {
            switch side {
            case .initiator: try sync.addHandler(try NIOSSLClientHandler(context: tls.client, serverHostname: nil))
            case .responder: try sync.addHandler(NIOSSLServerHandler(context: tls.server))
            }
        }
        try sync.addHandler(ByteToMessageHandler(WireFrameDecoder(limit: limit)))
        try sync.addHandler(
            WireConnectionHandler(
                machine: machine,
                connection: connection,
                frameLimit: limit,
                delegate: self,
                logger: logger
            )
        )
    }
}
