import Logging
import NIOCore
import WireFormat

/// The channel handler of one connection: turns channel events into `ConnectionStateMachine` events and
/// performs the actions it returns, all in `run(_:)`. It holds no protocol logic of its own.
final class WireConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = WireOutbound
    typealias OutboundOut = ByteBuffer

    private var machine: ConnectionStateMachine<OutboundCall>
    private let connection: WireConnection
    private let frameLimit: WireFrameLimit
    private let delegate: any WireConnectionDelegate
    private var logger: Logger
    private var context: ChannelHandlerContext?
    private var handshakeDeadline: Scheduled<Void>?
    private var heartbeatTask: RepeatedTask?
    // Calls in flight and when each times out. One timer, set for the earliest deadline, serves them all: a
    // reply only forgets its deadline, instead of scheduling and cancelling a task of the event loop per call.
    private var callDeadlines: [UInt64: NIODeadline] = [:]
    private var callTimer: (deadline: NIODeadline, task: Scheduled<Void>)?
    private var closeReason: String?
    // A flush is queued on the event loop: frames written until it runs go out in one system call.
    private var flushScheduled = false
    // Kept apart from the machine, which forgets the peer once closed, so the system can unroute it.
    private var establishedPeer: WirePeerIdentity?

    init(
        machine: ConnectionStateMachine<OutboundCall>,
        connection: WireConnection,
        frameLimit: WireFrameLimit,
        delegate: any WireConnectionDelegate,
        logger: Logger
    ) {
        self.machine = machine
        self.connection = connection
        self.frameLimit = frameLimit
        self.delegate = delegate
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let address = context.channel.remoteAddress {
            logger[metadataKey: WireLogKey.remoteAddress] = "\(address)"
        }
        if context.channel.isActive { run(machine.channelActive()) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if let address = context.channel.remoteAddress {
            logger[metadataKey: WireLogKey.remoteAddress] = "\(address)"
        }
        run(machine.channelActive())
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var payload = unwrapInboundIn(data)
        let bytes = payload.readBytes(length: payload.readableBytes) ?? []
        run(machine.frameReceived(payload: bytes))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let formatError = error as? WireFormatError {
            run(machine.frameError(formatError))
        } else if !machine.isClosed {
            // TLS failures and socket errors: nothing to tell the peer, just close with the reason.
            if closeReason == nil {
                closeReason = "\(error)"
                connection.markClosed(reason: "\(error)")
                logger.notice("wire connection closed", metadata: [WireLogKey.reason: "\(error)"])
            }
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeDeadline?.cancel()
        heartbeatTask?.cancel()
        callTimer?.task.cancel()
        callTimer = nil
        callDeadlines.removeAll()
        let peer = establishedPeer
        run(machine.channelInactive())
        let reason = closeReason ?? "closed by the peer"
        if closeReason == nil {
            logger.info("wire connection closed", metadata: [WireLogKey.reason: "\(reason)"])
        }
        connection.markClosed(reason: reason)
        delegate.connectionClosed(connection, peer: peer)
        context.fireChannelInactive()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .call(let call):
            promise?.succeed()
            let decision = machine.startCall(call, isWritable: context.channel.isWritable) { callID in
                WireMessage.Call(
                    callID: callID,
                    recipient: call.recipient,
                    target: call.target,
                    genericSubstitutions: call.genericSubstitutions,
                    arguments: call.arguments
                )
            }
            switch decision {
            case .send(let message, let callID):
                writeFrameBatched(message, context: context)
                let deadline = NIODeadline.now() + .init(call.timeout)
                callDeadlines[callID] = deadline
                if callTimer.map({ deadline < $0.deadline }) ?? true {
                    setCallTimer(at: deadline, context: context)
                }
            case .reject(let call, let code, let message):
                call.completion.resume(with: .failure(WireCallError(code, recipient: call.recipient, message)))
            }
        case .reply(let reply):
            guard !machine.isClosed else {
                promise?.fail(ChannelError.ioOnClosedChannel)
                return
            }
            writeFrameBatched(.reply(reply), context: context, promise: promise)
        case .shutdown(let reason):
            promise?.succeed()
            run(machine.shutdown(reason: reason))
        }
    }

    func flush(context: ChannelHandlerContext) {
        scheduleFlush(context: context)
    }

    /// Flushes once the event loop has run the jobs already queued: under load, the calls and replies that
    /// those jobs write (one job per caller or per answered call) leave together instead of one system call
    /// each. When idle, the flush runs right after the current job, on the same thread.
    private func scheduleFlush(context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = bound.value
            handler.flushScheduled = false
            handler.context?.flush()
        }
    }

    // MARK: Timers

    private func setCallTimer(at deadline: NIODeadline, context: ChannelHandlerContext) {
        callTimer?.task.cancel()
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        callTimer = (deadline, context.eventLoop.scheduleTask(deadline: deadline) { bound.value.callTimerFired() })
    }

    /// Times out every call whose deadline has passed, in the order they were made, and sets the timer for the
    /// earliest deadline left.
    private func callTimerFired() {
        callTimer = nil
        let now = NIODeadline.now()
        let expired = callDeadlines.filter { $0.value <= now }.keys.sorted()
        for callID in expired {
            callDeadlines[callID] = nil
            timeOut(callID: callID)
        }
        if let context, let next = callDeadlines.values.min() {
            setCallTimer(at: next, context: context)
        }
    }

    private func timeOut(callID: UInt64) {
        guard let call = machine.callTimedOut(callID: callID) else { return }
        var logger = self.logger
        logger[metadataKey: WireLogKey.callID] = "\(callID)"
        logger.debug("wire call timed out")
        call.completion.resume(
            with: .failure(
                WireCallError(.timeout, recipient: call.recipient, "no reply within \(call.timeout)")
            )
        )
    }

    private func heartbeatFired() { run(machine.heartbeatTick()) }
    private func handshakeDeadlineFired() { run(machine.handshakeDeadlineReached()) }

    // MARK: Actions

    private func run(_ actions: [ConnectionStateMachine<OutboundCall>.Action]) {
        guard let context else { return }
        for action in actions {
            switch action {
            case .write(let message):
                writeFrame(message, context: context)
            case .scheduleHandshakeDeadline(let timeout):
                let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
                handshakeDeadline = context.eventLoop.scheduleTask(in: .init(timeout)) {
                    bound.value.handshakeDeadlineFired()
                }
            case .established(let peer, let interval):
                handshakeDeadline?.cancel()
                handshakeDeadline = nil
                frameLimit.current = machine.configuration.frameLimits.maxFrameSize
                logger[metadataKey: WireLogKey.peer] = "\(peer.nodeID)"
                logger.debug("wire handshake complete", metadata: ["ballast.role": "\(peer.role)"])
                let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
                heartbeatTask = context.eventLoop.scheduleRepeatedTask(
                    initialDelay: .init(interval),
                    delay: .init(interval)
                ) { _ in bound.value.heartbeatFired() }
                establishedPeer = peer
                // Routed first, so whoever awaits `established` can call the peer at once.
                delegate.connectionEstablished(connection, peer: peer)
                connection.markEstablished(peer)
            case .deliverCall(let call):
                // Calls are delivered only after the handshake, so the peer is known.
                guard let peer = establishedPeer else { continue }
                delegate.connection(connection, received: call, from: peer)
            case .completeCall(let call, let callID, let outcome):
                callDeadlines[callID] = nil
                call.completion.resume(with: .success(outcome))
            case .failCalls(let calls, let code, let message):
                for call in calls {
                    call.completion.resume(with: .failure(WireCallError(code, recipient: call.recipient, message)))
                }
            case .close(let message, let reason):
                closeReason = reason
                connection.markClosed(reason: reason)
                logger.notice("wire connection closed", metadata: [WireLogKey.reason: "\(reason)"])
                heartbeatTask?.cancel()
                handshakeDeadline?.cancel()
                if let message {
                    let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                    context.writeAndFlush(wrapOutboundOut(Self.frame(message, allocator: context.channel.allocator)))
                        .whenComplete { _ in bound.value.close(promise: nil) }
                    // A peer that does not read would hold the last frame, and the close, forever.
                    context.eventLoop.scheduleTask(in: .seconds(1)) { bound.value.close(promise: nil) }
                } else {
                    context.close(promise: nil)
                }
            }
        }
    }

    private func writeFrame(
        _ message: WireMessage,
        context: ChannelHandlerContext,
        promise: EventLoopPromise<Void>? = nil
    ) {
        context.writeAndFlush(
            wrapOutboundOut(Self.frame(message, allocator: context.channel.allocator)),
            promise: promise
        )
    }

    /// Writes a call or a reply; the flush that follows the write through the pipeline (`flush(context:)`)
    /// sends it with the others written in the same turn of the event loop.
    private func writeFrameBatched(
        _ message: WireMessage,
        context: ChannelHandlerContext,
        promise: EventLoopPromise<Void>? = nil
    ) {
        context.write(wrapOutboundOut(Self.frame(message, allocator: context.channel.allocator)), promise: promise)
        scheduleFlush(context: context)
    }

    static func frame(_ message: WireMessage, allocator: ByteBufferAllocator) -> ByteBuffer {
        let payload = message.encode()
        var buffer = allocator.buffer(capacity: payload.count + WireFrame.headerLength)
        buffer.writeInteger(UInt32(truncatingIfNeeded: payload.count))
        buffer.writeBytes(payload)
        return buffer
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        self = .nanoseconds(ReconnectBackoff.nanoseconds(duration))
    }
}
