/// The durations of the lease protocol, with their defaults (SYSTEM.md §3). `validate()` checks the
/// inequality the no-two-leaders argument rests on (docs/consensus.md, "Why two leaders never act at once").
public struct LeaseTiming: Hashable, Sendable {
    /// How long a candidate must see the record version unchanged before it may take the lease over.
    /// Default 10 s. Written into the record, so candidates wait for the duration the holder promised.
    public var leaseDuration: Duration
    /// How often the holder renews (writes a new record version). Default 2 s.
    public var renewInterval: Duration
    /// How long after the START of its last successful renewal the holder may act. Default 7 s.
    public var renewDeadline: Duration
    /// How often a standby reads the record, and the pause before retrying a failed store call. Default 250 ms,
    /// which bounds the takeover after a graceful release.
    public var pollInterval: Duration
    /// How long one store call may take before it is treated as failed (and, for a write, as ambiguous).
    /// Default 1 s.
    public var operationTimeout: Duration
    /// The largest rate at which any two participants' monotonic clocks may drift apart (0.01 = 1 %).
    /// Only used by `validate()`. Default 0.01.
    public var maxClockDriftRate: Double

    public init(
        leaseDuration: Duration = .seconds(10),
        renewInterval: Duration = .seconds(2),
        renewDeadline: Duration = .seconds(7),
        pollInterval: Duration = .milliseconds(250),
        operationTimeout: Duration = .seconds(1),
        maxClockDriftRate: Double = 0.01
    ) {
        self.leaseDuration = leaseDuration
        self.renewInterval = renewInterval
        self.renewDeadline = renewDeadline
        self.pollInterval = pollInterval
        self.operationTimeout = operationTimeout
        self.maxClockDriftRate = maxClockDriftRate
    }

    /// Checks that the durations can keep the promise that two holders never act at once.
    public func validate() throws(LeaseConfigurationError) {
        func fail(_ key: String, _ message: String) -> LeaseConfigurationError {
            LeaseConfigurationError(key: key, message: message)
        }
        for (key, value) in [
            ("leaseDuration", leaseDuration), ("renewInterval", renewInterval), ("renewDeadline", renewDeadline),
            ("pollInterval", pollInterval), ("operationTimeout", operationTimeout),
        ] where value <= .zero {
            throw fail(key, "must be positive, is \(value)")
        }
        guard maxClockDriftRate >= 0, maxClockDriftRate < 0.5 else {
            throw fail("maxClockDriftRate", "must be in [0, 0.5), is \(maxClockDriftRate)")
        }
        guard renewInterval < renewDeadline else {
            throw fail("renewInterval", "must be shorter than renewDeadline (\(renewDeadline)), is \(renewInterval)")
        }
        // The holder stops at renewDeadline on its clock; a candidate takes over after leaseDuration on its own.
        // With drift rate ρ, the holder's deadline is at most D·(1+ρ) of real time and the candidate's wait at
        // least L·(1−ρ): require D·(1+ρ) < L·(1−ρ).
        let deadline = renewDeadline * (1 + maxClockDriftRate)
        let lease = leaseDuration * (1 - maxClockDriftRate)
        guard deadline < lease else {
            throw fail(
                "renewDeadline",
                "renewDeadline (\(renewDeadline)) plus a drift margin of \(maxClockDriftRate) must stay below "
                    + "leaseDuration (\(leaseDuration)); shorten renewDeadline or lengthen leaseDuration"
            )
        }
        guard operationTimeout < renewDeadline else {
            throw fail(
                "operationTimeout",
                "must be shorter than renewDeadline (\(renewDeadline)), is \(operationTimeout)"
            )
        }
    }
}

/// A lease configuration that cannot keep the protocol's promises; names the key and what to change.
public struct LeaseConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable { case invalidTiming }
    public var code: Code = .invalidTiming
    /// The configuration key at fault, e.g. "renewDeadline".
    public var key: String
    public var message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "invalid lease configuration at \(key): \(message)" }
}
