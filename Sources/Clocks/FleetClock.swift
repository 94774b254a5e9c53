// Clocks: the time every Ballast service reads, as one port with a real and a manual implementation.
//
// Services never call `ContinuousClock()` or the system's real-time clock themselves: they take a `FleetClock`,
// so the same code runs on the machine's clocks in production and in virtual time in the simulator and the tests.
// No dependencies (the standard library and Synchronization only).

/// A point on a `FleetClock`'s monotonic time line: a duration since the clock's own origin. Instants of
/// different clocks are not comparable; instants of one clock never go backwards.
public struct FleetInstant: InstantProtocol, Hashable, Sendable, CustomStringConvertible {
    /// Time since the clock's origin.
    public var offset: Duration

    public init(offset: Duration) { self.offset = offset }

    public func advanced(by duration: Duration) -> FleetInstant { FleetInstant(offset: offset + duration) }
    public func duration(to other: FleetInstant) -> Duration { other.offset - offset }
    public static func < (lhs: FleetInstant, rhs: FleetInstant) -> Bool { lhs.offset < rhs.offset }
    /// The time from `rhs` to `lhs`, as for the standard clocks' instants.
    public static func - (lhs: FleetInstant, rhs: FleetInstant) -> Duration { lhs.offset - rhs.offset }

    public var description: String { "t+\(offset)" }
}

/// The two times a service needs: a monotonic clock to measure intervals and sleep on (the `Clock` conformance),
/// and the wall time in UTC to stamp reports, budgets and journals with (`unixTime`).
///
/// Promise: `now` never goes backwards; a sleep never returns before its deadline unless it throws; `unixTime`
/// advances with `now` except where the real system's wall clock is stepped.
public protocol FleetClock: Clock, Sendable where Duration == Swift.Duration, Instant == FleetInstant {
    /// The current wall time as a duration since 1970-01-01T00:00:00Z.
    var unixTime: Duration { get }
}
