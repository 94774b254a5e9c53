import Clocks
import Testing

@Suite("ManualClock")
struct ManualClockTests {
    @Test("time moves only when advanced, and the wall time moves with it")
    func movesOnlyWhenAdvanced() {
        let clock = ManualClock(unixTime: .seconds(1_000))
        #expect(clock.now == FleetInstant(offset: .zero))
        #expect(clock.unixTime == .seconds(1_000))
        clock.advance(by: .seconds(90))
        #expect(clock.now == FleetInstant(offset: .seconds(90)))
        #expect(clock.unixTime == .seconds(1_090))
        clock.advance(to: FleetInstant(offset: .seconds(10)))  // Earlier: ignored, never backwards.
        #expect(clock.now == FleetInstant(offset: .seconds(90)))
    }

    @Test("a sleeper wakes when time reaches its deadline, not before")
    func sleeperWakesAtDeadline() async throws {
        let clock = ManualClock()
        let task = Task {
            try await clock.sleep(until: FleetInstant(offset: .seconds(5)), tolerance: nil)
            return clock.now
        }
        #expect(await clock.waitForSleepers(1))
        clock.advance(by: .seconds(4))
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .seconds(2))
        #expect(try await task.value == FleetInstant(offset: .seconds(6)))
        #expect(clock.sleeperCount == 0)
    }

    @Test("a deadline already passed returns at once")
    func pastDeadline() async throws {
        let clock = ManualClock()
        clock.advance(by: .seconds(10))
        try await clock.sleep(until: FleetInstant(offset: .seconds(3)), tolerance: nil)
        #expect(clock.sleeperCount == 0)
    }

    @Test("sleepers wake in deadline order")
    func wakeOrder() async throws {
        let clock = ManualClock()
        let order = OrderLog()
        let tasks = [3, 1, 2].map { seconds in
            Task {
                try await clock.sleep(until: FleetInstant(offset: .seconds(seconds)), tolerance: nil)
                await order.append(seconds)
            }
        }
        #expect(await clock.waitForSleepers(3))
        #expect(clock.nextDeadline == FleetInstant(offset: .seconds(1)))
        for step in 1...3 {
            clock.advance(to: FleetInstant(offset: .seconds(step)))
            while await order.count < step { await Task.yield() }
        }
        for task in tasks { try await task.value }
        #expect(await order.values == [1, 2, 3])
    }

    @Test("a cancelled sleeper throws at once and leaves no sleeper behind")
    func cancellation() async throws {
        let clock = ManualClock()
        let task = Task { try await clock.sleep(until: FleetInstant(offset: .seconds(60)), tolerance: nil) }
        #expect(await clock.waitForSleepers(1))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(clock.sleeperCount == 0)
    }

    @Test("a task cancelled before it sleeps never parks")
    func cancelledBeforeSleeping() async throws {
        let clock = ManualClock()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await clock.sleep(until: FleetInstant(offset: .seconds(60)), tolerance: nil)
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(clock.sleeperCount == 0)
    }

    @Test("the system clock's instants move forward and its wall time is near the real one")
    func systemClock() async throws {
        let clock = SystemClock()
        let before = clock.now
        try await clock.sleep(until: before.advanced(by: .milliseconds(20)), tolerance: nil)
        #expect(clock.now >= before.advanced(by: .milliseconds(20)))
        #expect(clock.unixTime > .seconds(1_700_000_000))  // After November 2023.
    }
}

private actor OrderLog {
    private(set) var values: [Int] = []
    var count: Int { values.count }
    func append(_ value: Int) { values.append(value) }
}
