/// Another clock's time run faster by a constant factor, for a live demonstration that plays a day of traffic in
/// a minute: a simulated cluster and cloud on a `ScaledClock(base: SystemClock(), factor: 1_440)` boot an instance
/// in 90 scaled seconds (62 ms of real time) and play a trace minute every scaled minute. The wall time is the base
/// clock's, unscaled, so whatever the simulated parts stamp stays comparable with the real services around them.
///
/// Promise: `now` advances `factor` times as fast as the base's; a sleep until a scaled deadline ends when the base
/// reaches the matching real instant.
public struct ScaledClock<Base: FleetClock>: FleetClock {
    private let base: Base
    private let origin: FleetInstant
    public let factor: Double

    /// - Parameter factor: how many scaled seconds pass per second of the base (greater than 0).
    public init(base: Base, factor: Double) {
        precondition(factor > 0, "a clock runs forward")
        self.base = base
        self.origin = base.now
        self.factor = factor
    }

    public var now: FleetInstant { FleetInstant(offset: scale(origin.duration(to: base.now), by: factor)) }

    public var minimumResolution: Duration { base.minimumResolution }

    public func sleep(until deadline: FleetInstant, tolerance: Duration?) async throws {
        try await base.sleep(until: origin.advanced(by: scale(deadline.offset, by: 1 / factor)), tolerance: nil)
    }

    public var unixTime: Duration { base.unixTime }

    private func scale(_ duration: Duration, by factor: Double) -> Duration {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = (Double(seconds) * 1e9 + Double(attoseconds) / 1e9) * factor
        return .nanoseconds(Int64(nanoseconds.rounded()))
    }
}
