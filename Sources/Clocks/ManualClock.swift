import Synchronization

/// A clock that moves only when told to: virtual time for the simulator and the tests. Sleepers wake, in deadline
/// order, when `advance` moves `now` to or past their deadline; a cancelled sleeper throws `CancellationError` at
/// once. Safe to use from any task.
///
/// Promise: `now` changes only in `advance(by:)`/`advance(to:)`; every sleeper whose deadline is reached is resumed
/// before `advance` returns (it runs when its executor gets to it).
public final class ManualClock: FleetClock {
    private struct Sleeper {
        var id: UInt64
        var deadline: FleetInstant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: FleetInstant = FleetInstant(offset: .zero)
        var nextID: UInt64 = 0
        var sleepers: [Sleeper] = []
        /// Sleeps that have an id but have not yet parked, and whether they were cancelled meanwhile.
        var starting: [UInt64: Bool] = [:]
    }

    private let state = Mutex(State())
    private let unixOrigin: Duration

    /// - Parameter unixTime: the wall time at instant zero, as a duration since 1970-01-01T00:00:00Z. Default
    ///   2026-01-05T00:00:00Z (a Monday, so hour-of-week arithmetic in tests starts at zero).
    public init(unixTime: Duration = .seconds(1_767_571_200)) {
        unixOrigin = unixTime
    }

    public var now: FleetInstant { state.withLock { $0.now } }

    public var minimumResolution: Duration { .nanoseconds(1) }

    public var unixTime: Duration { unixOrigin + now.offset }

    /// How many tasks are asleep on this clock now.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// The earliest deadline anyone sleeps until, if anyone sleeps.
    public var nextDeadline: FleetInstant? { state.withLock { $0.sleepers.map(\.deadline).min() } }

    public func sleep(until deadline: FleetInstant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            state.starting[state.nextID] = false
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resume: Result<Void, any Error>? = state.withLock { state in
                    if state.starting.removeValue(forKey: id) == true { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return nil
                }
                if let resume { continuation.resume(with: resume) }
            }
        } onCancel: {
            let sleeper: Sleeper? = state.withLock { state in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else {
                    // Not parked yet: the sleep sees the mark and throws. Already woken: nothing to do.
                    if state.starting[id] != nil { state.starting[id] = true }
                    return nil
                }
                return state.sleepers.remove(at: index)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves `now` forward by `duration` and wakes every sleeper whose deadline it reaches.
    public func advance(by duration: Duration) {
        precondition(duration >= .zero, "a manual clock never goes backwards")
        advance(to: now.advanced(by: duration))
    }

    /// Moves `now` to `instant` (if it is later) and wakes every sleeper whose deadline it reaches, earliest first.
    public func advance(to instant: FleetInstant) {
        let due: [Sleeper] = state.withLock { state in
            if instant > state.now { state.now = instant }
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Waits (yielding, not sleeping) until at least `count` tasks are asleep on this clock, so a test can advance
    /// time knowing who will wake. Gives up after `maxYields` yields and returns false.
    @discardableResult
    public func waitForSleepers(_ count: Int, maxYields: Int = 100_000) async -> Bool {
        for _ in 0..<maxYields {
            if sleeperCount >= count { return true }
            await Task.yield()
        }
        return sleeperCount >= count
    }
}
