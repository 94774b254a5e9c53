import Clocks
import Testing

@Suite("scaled clock")
struct ScaledClockTests {
    @Test("time runs factor times as fast as the base; a sleep ends when the base reaches the matching instant")
    func scales() async throws {
        let base = ManualClock()
        let clock = ScaledClock(base: base, factor: 60)
        #expect(clock.now.offset == .zero)
        base.advance(by: .seconds(2))
        #expect(clock.now.offset == .seconds(120))
        #expect(clock.unixTime == base.unixTime)
        let woke = Task { try await clock.sleep(until: FleetInstant(offset: .seconds(300)), tolerance: nil) }
        #expect(await base.waitForSleepers(1))
        #expect(base.nextDeadline == FleetInstant(offset: .seconds(5)))
        base.advance(by: .seconds(3))
        try await woke.value
        #expect(clock.now.offset == .seconds(300))
    }
}
