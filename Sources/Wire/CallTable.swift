/// The calls in flight on one connection: assigns call ids, bounds how many may wait, and decides what a
/// reply, a timeout or a drop means. Generic over what waits for a reply, so tests use plain values.
/// It promises that each pending call is handed back exactly once: by its reply, its timeout, or a drop.
public struct CallTable<Pending> {
    /// What a reply with some call id means.
    public enum ReplyDisposition {
        /// It answers this pending call.
        case complete(Pending)
        /// It answers a call that already timed out; ignore it.
        case late
        /// No call with that id was ever in flight: the peer violates the protocol.
        case unknown
    }

    public let maxInFlight: Int
    private var nextCallID: UInt64 = 1
    private var inFlight: [UInt64: Pending] = [:]
    // Remembered so a reply that arrives just after its timeout is not mistaken for a protocol violation.
    private var timedOut: Set<UInt64> = []
    private var timedOutOrder: [UInt64] = []
    private let timedOutMemory: Int

    public init(maxInFlight: Int = 1024, timedOutMemory: Int = 4096) {
        self.maxInFlight = maxInFlight
        self.timedOutMemory = timedOutMemory
    }

    public var count: Int { inFlight.count }

    /// Registers a call; returns its id, or nil when `maxInFlight` calls already wait (the caller is told
    /// `overloaded`).
    public mutating func start(_ pending: Pending) -> UInt64? {
        guard inFlight.count < maxInFlight else { return nil }
        let callID = nextCallID
        nextCallID &+= 1
        inFlight[callID] = pending
        return callID
    }

    public mutating func reply(callID: UInt64) -> ReplyDisposition {
        if let pending = inFlight.removeValue(forKey: callID) { return .complete(pending) }
        return timedOut.contains(callID) ? .late : .unknown
    }

    /// The call's timer fired; returns the pending call unless its reply won the race.
    public mutating func timeout(callID: UInt64) -> Pending? {
        guard let pending = inFlight.removeValue(forKey: callID) else { return nil }
        timedOut.insert(callID)
        timedOutOrder.append(callID)
        if timedOutOrder.count > timedOutMemory {
            timedOut.remove(timedOutOrder.removeFirst())
        }
        return pending
    }

    /// The connection is gone: every pending call, to be failed at once.
    public mutating func removeAll() -> [Pending] {
        let pending = inFlight.sorted { $0.key < $1.key }.map(\.value)
        inFlight.removeAll()
        return pending
    }
}

/// Liveness of one established connection: emits a heartbeat per tick and closes a peer that has sent
/// nothing for `maxMissedBeats` ticks. Ticks come from a timer the owner schedules every interval.
public struct HeartbeatStateMachine: Sendable {
    public enum Action: Sendable, Equatable {
        case sendHeartbeat(sequence: UInt64)
        case closeSilentPeer(missedBeats: Int)
    }

    public let maxMissedBeats: Int
    private var sequence: UInt64 = 0
    private var ticksSinceHeard = 0

    public init(maxMissedBeats: Int = 3) {
        self.maxMissedBeats = maxMissedBeats
    }

    /// Any frame from the peer is a sign of life.
    public mutating func frameReceived() {
        ticksSinceHeard = 0
    }

    public mutating func tick() -> Action {
        ticksSinceHeard += 1
        if ticksSinceHeard >= maxMissedBeats {
            return .closeSilentPeer(missedBeats: ticksSinceHeard)
        }
        sequence += 1
        return .sendHeartbeat(sequence: sequence)
    }
}

/// Delays between reconnection attempts: exponential from `initial` up to `maximum`, with "equal jitter"
/// (half the delay fixed, half random) so a fleet of agents does not reconnect in lockstep yet never spins.
public struct ReconnectBackoff: Sendable {
    public let initial: Duration
    public let maximum: Duration
    public private(set) var attempt = 0

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(30)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The delay before the next attempt; each call counts one more failed attempt.
    public mutating func nextDelay(using generator: inout some RandomNumberGenerator) -> Duration {
        let ceiling = ceilingForCurrentAttempt()
        attempt += 1
        let half = ceiling / 2
        let jitterNanos = Int64.random(in: 0...max(0, Self.nanoseconds(half)), using: &generator)
        return half + .nanoseconds(jitterNanos)
    }

    /// A connection was established: the next failure starts again from `initial`.
    public mutating func reset() {
        attempt = 0
    }

    private func ceilingForCurrentAttempt() -> Duration {
        var delay = initial
        for _ in 0..<min(attempt, 62) {
            delay = delay * 2
            if delay >= maximum { return maximum }
        }
        return min(delay, maximum)
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
