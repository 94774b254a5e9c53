import WireFormat

/// Timing and bounds of one connection. Every field has the default of docs/wire.md.
public struct WireConnectionConfiguration: Sendable, Hashable {
    /// A peer that has not completed the handshake by then is closed. Default 5 s.
    public var handshakeTimeout: Duration = .seconds(5)
    /// Interval between heartbeats. Default 2 s.
    public var heartbeatInterval: Duration = .seconds(2)
    /// A peer silent for this many heartbeat intervals is closed. Default 3.
    public var maxMissedHeartbeats: Int = 3
    /// Calls that may wait for a reply on one connection before new calls get `overloaded`. Default 1024.
    public var maxCallsInFlight: Int = 1024
    /// Frame size limits before and after the handshake. Default 64 KiB / 1 MiB.
    public var frameLimits = WireFrameLimits()

    public init() {}
}

/// One connection's protocol as a value: the handshake nested inside, then the call table and heartbeat of
/// the established connection. The channel handler feeds it events and performs the returned actions, in
/// order. It promises that every pending call leaves exactly once (reply, timeout or failure) and that the
/// connection is closed, with one reason, on any violation.
public struct ConnectionStateMachine<Pending> {
    public enum Action {
        case write(WireMessage)
        case scheduleHandshakeDeadline(Duration)
        /// Handshake done: cancel its deadline, raise the frame limit, start the heartbeat timer.
        case established(WirePeerIdentity, heartbeatInterval: Duration)
        /// An inbound call for the local actor system; its reply is written later.
        case deliverCall(WireMessage.Call)
        case completeCall(Pending, callID: UInt64, WireMessage.Reply.Outcome)
        case failCalls([Pending], WireCallError.Code, String)
        /// Write `message` if any, then close the connection; `reason` is logged once.
        case close(WireMessage?, reason: String)
    }

    /// The answer to `startCall`.
    public enum StartCall {
        case send(WireMessage, callID: UInt64)
        case reject(Pending, WireCallError.Code, String)
    }

    struct Established {
        var peer: WirePeerIdentity
        var calls: CallTable<Pending>
        var heartbeat: HeartbeatStateMachine
    }

    enum State {
        case handshaking(HandshakeStateMachine)
        case established(Established)
        case closed
        /// Held only while a method mutates the established state it took out, so that the call table's
        /// storage is uniquely referenced and mutated in place instead of copied on every call and reply.
        case modifying
    }

    public let configuration: WireConnectionConfiguration
    private var state: State

    public init(configuration: WireConnectionConfiguration, handshake: HandshakeStateMachine) {
        self.configuration = configuration
        self.state = .handshaking(handshake)
    }

    public var peer: WirePeerIdentity? {
        if case .established(let established) = state { return established.peer }
        return nil
    }

    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    public mutating func channelActive() -> [Action] {
        guard case .handshaking(var handshake) = state else { return [] }
        // Started once: the handler may see the channel active both when added and on channelActive.
        guard case .send(let hello) = handshake.start() else { return [] }
        state = .handshaking(handshake)
        return [.write(hello), .scheduleHandshakeDeadline(configuration.handshakeTimeout)]
    }

    public mutating func frameReceived(payload: [UInt8]) -> [Action] {
        switch state {
        case .closed:
            return []
        case .handshaking(var handshake):
            let action = handshake.received(payload: payload)
            state = .handshaking(handshake)
            return perform(action)
        case .modifying:
            preconditionFailure("re-entered the connection state machine while it was modifying its state")
        case .established(var established):
            state = .modifying
            established.heartbeat.frameReceived()
            let message: WireMessage
            do {
                message = try WireMessage(decoding: payload)
            } catch {
                return close(
                    .goodbye(.init(code: .protocolViolation, message: "malformed frame: \(error.code)")),
                    reason: "malformed frame from \(established.peer): \(error)",
                    established: established
                )
            }
            switch message {
            case .call(let call):
                state = .established(established)
                return [.deliverCall(call)]
            case .reply(let reply):
                switch established.calls.reply(callID: reply.callID) {
                case .complete(let pending):
                    state = .established(established)
                    return [.completeCall(pending, callID: reply.callID, reply.outcome)]
                case .late:
                    state = .established(established)
                    return []
                case .unknown:
                    return close(
                        .goodbye(.init(code: .protocolViolation, message: "reply to unknown call \(reply.callID)")),
                        reason: "reply to unknown call id \(reply.callID) from \(established.peer)",
                        established: established
                    )
                }
            case .heartbeat, .skippable:
                state = .established(established)
                return []
            case .goodbye(let goodbye):
                return close(
                    nil,
                    reason: "peer \(established.peer) said goodbye: \(goodbye.code): \(goodbye.message)",
                    established: established
                )
            case .hello, .proof, .refusal:
                return close(
                    .goodbye(.init(code: .protocolViolation, message: "handshake message after the handshake")),
                    reason: "handshake message after the handshake from \(established.peer)",
                    established: established
                )
            }
        }
    }

    /// The frame decoder refused the byte stream (oversize length, HTTP probe, truncated at end of stream).
    public mutating func frameError(_ error: WireFormatError) -> [Action] {
        let code: WireCloseCode =
            switch error.code {
            case .frameTooLarge, .httpProbe: .frameTooLarge
            default: .protocolViolation
            }
        return closeFromAnyState(
            message: .init(code: code, message: "\(error.code): \(error.message)"),
            reason: "\(error)"
        )
    }

    public mutating func handshakeDeadlineReached() -> [Action] {
        guard case .handshaking(var handshake) = state else { return [] }
        let action = handshake.deadlineReached()
        state = .handshaking(handshake)
        return perform(action)
    }

    public mutating func heartbeatTick() -> [Action] {
        guard case .established(var established) = state else { return [] }
        state = .modifying
        switch established.heartbeat.tick() {
        case .sendHeartbeat(let sequence):
            state = .established(established)
            return [.write(.heartbeat(.init(sequence: sequence)))]
        case .closeSilentPeer(let missed):
            return close(
                .goodbye(.init(code: .peerSilent, message: "no frame for \(missed) heartbeat intervals")),
                reason: "peer \(established.peer) silent for \(missed) heartbeat intervals",
                established: established
            )
        }
    }

    /// A local caller wants to send a call. `makeCall` builds the envelope once the id is known;
    /// `isWritable` is the channel's writability, so a full send buffer pushes back with `overloaded`.
    public mutating func startCall(
        _ pending: Pending,
        isWritable: Bool,
        makeCall: (UInt64) -> WireMessage.Call
    ) -> StartCall {
        guard case .established(var established) = state else {
            let text = isClosed ? "the connection is closed" : "the handshake has not completed"
            return .reject(pending, .connectionClosed, text)
        }
        guard isWritable else {
            return .reject(pending, .overloaded, "the connection's send buffer is full")
        }
        state = .modifying
        guard let callID = established.calls.start(pending) else {
            state = .established(established)
            return .reject(pending, .overloaded, "\(established.calls.maxInFlight) calls already in flight")
        }
        state = .established(established)
        return .send(.call(makeCall(callID)), callID: callID)
    }

    /// A call's timer fired; returns the call to fail with `timeout` unless its reply already arrived.
    public mutating func callTimedOut(callID: UInt64) -> Pending? {
        guard case .established(var established) = state else { return nil }
        state = .modifying
        let pending = established.calls.timeout(callID: callID)
        state = .established(established)
        return pending
    }

    /// The local system shuts down: say goodbye, fail what is in flight, close.
    public mutating func shutdown(reason: String) -> [Action] {
        closeFromAnyState(goodbye: .init(code: .shuttingDown, message: reason), reason: "shutdown: \(reason)")
    }

    /// The channel closed under us (peer reset, EOF). Calls in flight fail at once.
    public mutating func channelInactive() -> [Action] {
        switch state {
        case .closed:
            return []
        case .handshaking:
            state = .closed
            return []
        case .modifying:
            preconditionFailure("re-entered the connection state machine while it was modifying its state")
        case .established(var established):
            state = .closed
            let pending = established.calls.removeAll()
            return pending.isEmpty
                ? [] : [.failCalls(pending, .connectionClosed, "the connection to \(established.peer) closed")]
        }
    }

    // MARK: Helpers

    private mutating func perform(_ action: HandshakeStateMachine.Action) -> [Action] {
        switch action {
        case .none:
            return []
        case .send(let message):
            return [.write(message)]
        case .established(let peer):
            state = .established(
                Established(
                    peer: peer,
                    calls: CallTable(maxInFlight: configuration.maxCallsInFlight),
                    heartbeat: HeartbeatStateMachine(maxMissedBeats: configuration.maxMissedHeartbeats)
                )
            )
            return [.established(peer, heartbeatInterval: configuration.heartbeatInterval)]
        case .refuse(let refusal, let reason):
            state = .closed
            return [.close(refusal.map(WireMessage.refusal), reason: reason)]
        }
    }

    private mutating func close(_ message: WireMessage?, reason: String, established: Established) -> [Action] {
        var established = established
        state = .closed
        let pending = established.calls.removeAll()
        var actions: [Action] = []
        if !pending.isEmpty {
            actions.append(
                .failCalls(pending, .connectionClosed, "the connection to \(established.peer) closed: \(reason)")
            )
        }
        actions.append(.close(message, reason: reason))
        return actions
    }

    private mutating func closeFromAnyState(
        message refusal: WireMessage.Refusal? = nil,
        goodbye: WireMessage.Goodbye? = nil,
        reason: String
    ) -> [Action] {
        switch state {
        case .closed:
            return []
        case .handshaking:
            state = .closed
            // Before the handshake the peer expects a refusal, after it a goodbye.
            let message =
                refusal.map(WireMessage.refusal) ?? goodbye.map { .refusal(.init(code: $0.code, message: $0.message)) }
            return [.close(message, reason: reason)]
        case .modifying:
            preconditionFailure("re-entered the connection state machine while it was modifying its state")
        case .established(let established):
            let message =
                goodbye.map(WireMessage.goodbye) ?? refusal.map { .goodbye(.init(code: $0.code, message: $0.message)) }
            return close(message, reason: reason, established: established)
        }
    }
}
