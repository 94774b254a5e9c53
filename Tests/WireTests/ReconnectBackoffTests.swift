import BallastTestSupport
import Testing
import Wire

@Suite("ReconnectBackoff")
struct ReconnectBackoffTests {
    @Test("delays double up to the maximum and stay within half to all of the ceiling")
    func growth() {
        var backoff = ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(2))
        var generator = SplitMix64(seed: 1)
        let ceilings: [Duration] = [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
            .milliseconds(1600), .seconds(2), .seconds(2),
        ]
        for ceiling in ceilings {
            let delay = backoff.nextDelay(using: &generator)
            #expect(delay >= ceiling / 2 && delay <= ceiling, "\(delay) vs \(ceiling)")
        }
    }

    @Test("jitter spreads the delays of many clients")
    func jitter() {
        var generator = SplitMix64(seed: 7)
        let delays = Set(
            (0..<50).map { _ in
                var backoff = ReconnectBackoff()
                for _ in 0..<3 { _ = backoff.nextDelay(using: &generator) }
                return backoff.nextDelay(using: &generator)
            }
        )
        #expect(delays.count > 40)
    }

    @Test("a successful connection starts again from the initial delay")
    func reset() {
        var backoff = ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(30))
        var generator = SplitMix64(seed: 3)
        for _ in 0..<10 { _ = backoff.nextDelay(using: &generator) }
        backoff.reset()
        #expect(backoff.nextDelay(using: &generator) <= .milliseconds(100))
    }
}
