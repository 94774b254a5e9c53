#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The machine's clocks: `ContinuousClock` for instants and sleeps, `CLOCK_REALTIME` for the wall time. Its
/// instants count from the moment the value was made.
public struct SystemClock: FleetClock {
    private let origin: ContinuousClock.Instant
    private let clock = ContinuousClock()

    public init() { origin = ContinuousClock.now }

    public var now: FleetInstant { FleetInstant(offset: origin.duration(to: clock.now)) }

    public var minimumResolution: Duration { clock.minimumResolution }

    public func sleep(until deadline: FleetInstant, tolerance: Duration?) async throws {
        try await clock.sleep(until: origin.advanced(by: deadline.offset), tolerance: tolerance)
    }

    public var unixTime: Duration {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return .seconds(Int64(spec.tv_sec)) + .nanoseconds(Int64(spec.tv_nsec))
    }
}
