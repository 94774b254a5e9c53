import Testing

@testable import Consensus

@Suite("LeaseTiming")
struct LeaseTimingTests {
    @Test("the defaults (10 s / 2 s / 7 s / 250 ms / 1 s) keep the promise")
    func defaultsAreValid() throws {
        try LeaseTiming().validate()
    }

    @Test(
        "durations that would let two holders act at once are refused, naming the key",
        arguments: [
            (LeaseTiming(renewDeadline: .seconds(10)), "renewDeadline"),
            // 9.9 s · 1.01 > 10 s · 0.99: no room for drift.
            (LeaseTiming(renewDeadline: .milliseconds(9900)), "renewDeadline"),
            (LeaseTiming(renewInterval: .seconds(7)), "renewInterval"),
            (LeaseTiming(operationTimeout: .seconds(7)), "operationTimeout"),
            (LeaseTiming(pollInterval: .zero), "pollInterval"),
            (LeaseTiming(maxClockDriftRate: 0.6), "maxClockDriftRate"),
        ]
    )
    func invalidTimings(timing: LeaseTiming, key: String) {
        let error = #expect(throws: LeaseConfigurationError.self) { try timing.validate() }
        #expect(error?.key == key)
    }
}
