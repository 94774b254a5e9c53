import Logging
import NIOCore
import Synchronization
import WireFormat

/// Resumes a caller waiting for a reply exactly once, whichever of reply, timeout, drop or failed write comes
/// first. Sendable because its only state is behind a Mutex.
final class CallCompletion: Sendable {
    private let continuation: Mutex<CheckedContinuation<WireMessage.Reply.Outcome, any Error>?>

    init(_ continuation: CheckedContinuation<WireMessage.Reply.Outcome, any Error>) {
        self.continuation = Mutex(continuation)
    }

    func resume(with result: Result<WireMessage.Reply.Outcome, WireCallError>) {
        let taken = continuation.withLock { value -> CheckedContinuation<WireMessage.Reply.Outcome, any Error>? in
            defer { value = nil }
            return value
        }
        taken?.resume(with: result.mapError { $0 as any Error })
    }
}

/// Hands a call's completion to the cancellation handler, whichever of the two runs first.
final class CancellationSlot: Sendable {
    private let state = Mutex<(completion: CallCompletion?, cancelled: Bool)>((nil, false))

    /// Stores the completion; false when the task was already cancelled.
    func install(_ completion: CallCompletion) -> Bool {
        state.withLock { state in
            guard !state.cancelled else { return false }
            state.completion = completion
            return true
        }
    }

    /// Marks the task cancelled and returns the completion to fail, if installed.
    func cancel() -> CallCompletion? {
        state.withLock { state in
            state.cancelled = true
            return state.completion
        }
    }
}

/// A call on its way to the connection handler.
struct OutboundCall: Sendable {
    var completion: CallCompletion
    var recipient: WireActorID
    var target: String
    var genericSubstitutions: [String]
    var arguments: [[UInt8]]
    var timeout: Duration
}

/// What the rest of the system asks a connection to do; written into the channel so the handler does it on
/// its event loop.
enum WireOutbound: Sendable {
    case call(OutboundCall)
    case reply(WireMessage.Reply)
    case shutdown(reason: String)
}

/// Receives what the connections of an actor system report.
protocol WireConnectionDelegate: AnyObject, Sendable {
    func connectionEstablished(_ connection: WireConnection, peer: WirePeerIdentity)
    func connectionClosed(_ connection: WireConnection, peer: WirePeerIdentity?)
    func connection(_ connection: WireConnection, received call: WireMessage.Call, from peer: WirePeerIdentity)
}

/// One TCP connection to a peer, as the actor system sees it: send calls and replies, shut it down.
final class WireConnection: Sendable {
    let channel: any Channel
    let side: WireConnectionSide
    /// Where incoming calls run when the system runs them on the event loop (one per connection, not per call).
    let callExecutor: EventLoopTaskExecutor
    private let establishedPromise: EventLoopPromise<WirePeerIdentity>

    private let establishedOutcomeKnown = Mutex(false)
    private let closeReason = Mutex<String?>(nil)

    init(channel: any Channel, side: WireConnectionSide) {
        self.channel = channel
        self.side = side
        self.callExecutor = EventLoopTaskExecutor(eventLoop: channel.eventLoop)
        self.establishedPromise = channel.eventLoop.makePromise()
        // Every channel closes eventually, even one that never connected, so the promise is always completed.
        // The callback holds self until the channel closes, then is released.
        channel.closeFuture.whenComplete { _ in
            let reason = self.closeReason.withLock { $0 } ?? "the connection closed before the handshake completed"
            self.completeEstablished(.failure(WireConnectError(.handshakeRefused, reason)))
        }
    }

    private func completeEstablished(_ result: Result<WirePeerIdentity, WireConnectError>) {
        let first = establishedOutcomeKnown.withLock { known in
            defer { known = true }
            return !known
        }
        guard first else { return }
        switch result {
        case .success(let peer): establishedPromise.succeed(peer)
        case .failure(let error): establishedPromise.fail(error)
        }
    }

    /// Completes when the handshake succeeds, fails when the connection closes first.
    var established: EventLoopFuture<WirePeerIdentity> { establishedPromise.futureResult }
    var closed: EventLoopFuture<Void> { channel.closeFuture }

    func markEstablished(_ peer: WirePeerIdentity) {
        completeEstablished(.success(peer))
    }

    /// Records why the connection closes, for the `established` failure.
    func markClosed(reason: String) {
        closeReason.withLock { $0 = $0 ?? reason }
    }

    func call(
        recipient: WireActorID,
        target: String,
        genericSubstitutions: [String],
        arguments: [[UInt8]],
        timeout: Duration
    ) async throws -> WireMessage.Reply.Outcome {
        let slot = CancellationSlot()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let completion = CallCompletion(continuation)
                guard slot.install(completion) else {
                    completion.resume(
                        with: .failure(
                            WireCallError(.cancelled, recipient: recipient, "the calling task was cancelled")
                        )
                    )
                    return
                }
                let call = OutboundCall(
                    completion: completion,
                    recipient: recipient,
                    target: target,
                    genericSubstitutions: genericSubstitutions,
                    arguments: arguments,
                    timeout: timeout
                )
                channel.writeAndFlush(WireOutbound.call(call)).whenFailure { error in
                    // Reached only when the channel closed before the handler saw the call; otherwise the
                    // handler has already resumed it and this is a no-op.
                    completion.resume(
                        with: .failure(
                            WireCallError(.connectionClosed, recipient: recipient, "the connection closed: \(error)")
                        )
                    )
                }
            }
        } onCancel: {
            // The caller stops waiting at once; the call stays in the table until its reply or timeout, which
            // then find it already resumed.
            slot.cancel()?.resume(
                with: .failure(WireCallError(.cancelled, recipient: recipient, "the calling task was cancelled"))
            )
        }
    }

    func send(reply: WireMessage.Reply) {
        channel.writeAndFlush(WireOutbound.reply(reply), promise: nil)
    }

    func shutdown(reason: String) {
        channel.writeAndFlush(WireOutbound.shutdown(reason: reason), promise: nil)
    }
}
