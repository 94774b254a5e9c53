import PropertyBased
import Testing

@testable import Cost

/// Storm detection on one pool, fed minute by minute as the planner feeds it: exposure, then notices, then a decision.
@Suite("Pool interruption rate")
struct InterruptionRateTests {
    typealias F = Fixture

    /// One pool over time, with every storm change it reported.
    struct Pool {
        var rate = PoolInterruptionRate()
        var now = F.t0
        var settings = StormSettings()
        var changes: [(at: Timestamp, change: StormTransition)] = []

        /// `nodes` spot nodes run for `step`; `interruptions` notices arrive at its end; then the storm decision.
        mutating func run(_ step: Duration = .seconds(60), nodes: Int, interruptions: Int = 0) {
            let from = now
            now = now + step
            rate.recordExposure(nodes: nodes, from: from, to: now, settings: settings)
            for _ in 0..<interruptions { rate.recordInterruption(at: now, now: now, settings: settings) }
            if let c = rate.evaluate(now: now, settings: settings) { changes.append((now, c)) }
        }

        var rates: InterruptionRates { rate.rates(now: now, settings: settings) }

        /// A day of `nodes` quiet nodes, interrupted three times (every 8 hours, none in the last 15 minutes).
        mutating func quietDay(nodes: Int) {
            for minute in 1...(24 * 60) { run(nodes: nodes, interruptions: minute % 480 == 240 ? 1 : 0) }
        }
    }

    @Test("a busy pool with a steady high rate is not a storm")
    func steadyBusyPool() {
        var pool = Pool()
        // 100 spot nodes, one interruption every 3 minutes: 0.2 per node-hour, 5 in every window. The old fixed
        // rule (3 within 10 minutes) called this a storm all day long.
        for minute in 1...(24 * 60) { pool.run(nodes: 100, interruptions: minute % 3 == 0 ? 1 : 0) }
        #expect(!pool.rate.isStorm)
        let learned = pool.changes.count
        for minute in 1...(6 * 60) { pool.run(nodes: 100, interruptions: minute % 3 == 0 ? 1 : 0) }
        #expect(pool.changes.count == learned)
        #expect(!pool.rate.isStorm)
        let r = pool.rates
        #expect(r.interruptions == 5)
        #expect(abs(r.nodeHours - 25) < 1e-6)
        #expect(abs(r.baseline - 0.2) < 0.02)
        #expect(r.short < pool.settings.startFactor * r.baseline)
    }

    @Test("a quiet pool with a sudden burst is a storm, named with its short rate and baseline")
    func quietPoolBurst() throws {
        var pool = Pool()
        pool.quietDay(nodes: 20)
        #expect(pool.changes.isEmpty)
        let quiet = pool.rates
        #expect(quiet.baseline < 0.01)
        pool.run(nodes: 20, interruptions: 1)
        #expect(!pool.rate.isStorm)
        pool.run(nodes: 19, interruptions: 1)
        #expect(pool.rate.isStorm)
        let change = try #require(pool.changes.last)
        guard case .started(let r) = change.change else {
            Issue.record("expected a storm to start, got \(change.change)")
            return
        }
        #expect(r.interruptions == 2)
        #expect(r.short > 3 * r.baseline)
        #expect(pool.rate.stormSince == pool.now)
        #expect(r.description.contains("/node-hour against a baseline of"))
    }

    @Test("one interruption is not a storm, in a new pool or in a quiet one")
    func oneInterruption() {
        var fresh = Pool()
        fresh.run(nodes: 10, interruptions: 1)
        #expect(!fresh.rate.isStorm)
        // Only the minimum count stops it: the rate alone is far above the prior.
        #expect(fresh.rates.short > fresh.settings.startFactor * fresh.rates.baseline)
        var quiet = Pool()
        quiet.quietDay(nodes: 20)
        quiet.run(nodes: 20, interruptions: 1)
        for _ in 0..<30 { quiet.run(nodes: 20) }
        #expect(quiet.changes.isEmpty)

        var eager = Pool()
        eager.settings.minInterruptions = 1
        eager.run(nodes: 10, interruptions: 1)
        #expect(eager.rate.isStorm)
    }

    @Test("a new pool is neither stormy on its first notices nor immune to a burst")
    func newPool() {
        var pool = Pool()
        pool.run(nodes: 10, interruptions: 1)
        #expect(!pool.rate.isStorm)
        #expect(abs(pool.rates.baseline - pool.settings.priorInterruptionsPerNodeHour) < 1e-12)
        pool.run(nodes: 10, interruptions: 1)
        #expect(pool.rate.isStorm)
    }

    @Test("a storm ends only after the rate has stayed under the clear factor for the cool-down")
    func stormClears() throws {
        var pool = Pool()
        pool.quietDay(nodes: 20)
        for _ in 0..<4 { pool.run(nodes: 20, interruptions: 1) }
        let started = try #require(pool.rate.stormSince)
        // Without new interruptions the burst leaves the window after about 15 minutes; the pool gets no new
        // nodes meanwhile, so 16 remain.
        var lastHigh = started
        var ended: [Timestamp] = []
        for _ in 0..<90 {
            pool.run(nodes: 16)
            let r = pool.rates
            if pool.rate.isStorm && r.short > pool.settings.clearFactor * r.baseline { lastHigh = pool.now }
            if let last = pool.changes.last, last.at == pool.now, case .ended = last.change { ended.append(pool.now) }
            if pool.now - started == .seconds(20 * 60) { #expect(pool.rate.isStorm) }
        }
        #expect(ended.count == 1)
        let end = try #require(ended.first)
        #expect(end - lastHigh >= pool.settings.coolDown)
        #expect(end - lastHigh <= pool.settings.coolDown + .seconds(60))
        #expect(!pool.rate.isStorm)
    }

    @Test("a rate between the clear and the start factor keeps a storm going but starts none")
    func hysteresis() {
        var settings = StormSettings()
        settings.priorNodeHours = 1e9  // pins the baseline to the prior: 0.1 per node-hour
        settings.priorInterruptionsPerNodeHour = 0.1
        var pool = Pool(settings: settings)
        // 100 nodes and two interruptions a minute: about 1.2 per node-hour, 12× the baseline: a storm.
        for _ in 1...10 { pool.run(nodes: 100, interruptions: 2) }
        #expect(pool.rate.isStorm)
        // One every 3 minutes: 5 in the window over 25 node-hours, 2× (under the start factor, over the clear
        // factor) for two hours: the storm goes on.
        for minute in 1...120 {
            pool.run(nodes: 100, interruptions: minute % 3 == 0 ? 1 : 0)
            #expect(pool.rates.short > settings.clearFactor * pool.rates.baseline)
        }
        #expect(pool.rate.isStorm)
        // The same 2× in a pool not in a storm starts nothing.
        var calm = Pool(settings: settings)
        for minute in 1...120 { calm.run(nodes: 100, interruptions: minute % 3 == 0 ? 1 : 0) }
        #expect(calm.changes.isEmpty)
    }

    @Test("exposure is counted in node-hours, and a gap longer than the window only for the window")
    func exposure() {
        let s = StormSettings()
        var rate = PoolInterruptionRate()
        rate.recordExposure(nodes: 12, from: F.t0, to: F.t0 + .seconds(300), settings: s)
        #expect(abs(rate.rates(now: F.t0 + .seconds(300), settings: s).nodeHours - 1) < 1e-9)
        var gap = PoolInterruptionRate()
        gap.recordExposure(nodes: 12, from: F.t0, to: F.t0 + .seconds(7_200), settings: s)
        let r = gap.rates(now: F.t0 + .seconds(7_200), settings: s)
        #expect(abs(r.nodeHours - 3) < 1e-9)
        #expect(abs(r.baseline - s.priorInterruptionsPerNodeHour) < 1e-12)
        // At odd instants the window is the 14 whole minutes before the current one and what has passed of it.
        var steady = Pool()
        for k in 1...600 {
            steady.run(k % 7 == 0 ? .milliseconds(60_000 - 333) : .milliseconds(60_000 + 333 * Int64(k % 7)), nodes: 12)
            let now = steady.now.millisecondsSinceEpoch
            let windowStart = (now + 59_999) / 60_000 * 60_000 - 900_000
            let expected = 12 * Double(now - windowStart) / 3_600_000
            if k >= 16 { #expect(abs(steady.rates.nodeHours - expected) < 1e-9, "after step \(k)") }
        }
    }

    @Test("storm settings out of range are refused, naming the field")
    func validation() {
        #expect(throws: Never.self) { try StormSettings().validate() }
        var s = StormSettings()
        s.startFactor = 1.2
        let factor = #expect(throws: CostError.self) { try s.validate() }
        #expect(factor?.context == "storm.startFactor")
        s = StormSettings()
        s.minInterruptions = 0
        let count = #expect(throws: CostError.self) { try s.validate() }
        #expect(count?.context == "storm.minInterruptions")
        s = StormSettings()
        s.baselineHalfLife = .seconds(60)
        let halfLife = #expect(throws: CostError.self) { try s.validate() }
        #expect(halfLife?.code == .invalidSettings)
        #expect(halfLife?.context == "storm.baselineHalfLife")
    }

    /// One step of a generated history: how long, how many spot nodes, how many notices at its end.
    struct Step: Sendable, CustomStringConvertible {
        var seconds: Int
        var nodes: Int
        var interruptions: Int
        var description: String { "\(seconds)s/\(nodes)n/\(interruptions)i" }
    }
    static let historyGen = zip(Gen.int(in: 5...1_800), Gen.int(in: 0...60), Gen.int(in: 0...3))
        .map { Step(seconds: $0, nodes: $1, interruptions: $2) }
        .array(of: 1...300)

    @Test("a pool whose short rate is at or below its baseline never starts a storm")
    func neverStormyAtBaseline() async {
        await propertyCheck(count: 200, input: Self.historyGen) { steps in
            var pool = Pool()
            for step in steps {
                let from = pool.now
                pool.now = pool.now + .seconds(step.seconds)
                pool.rate.recordExposure(nodes: step.nodes, from: from, to: pool.now, settings: pool.settings)
                for _ in 0..<step.interruptions {
                    pool.rate.recordInterruption(at: pool.now, now: pool.now, settings: pool.settings)
                }
                let before = pool.rate.isStorm
                let r = pool.rates
                let change = pool.rate.evaluate(now: pool.now, settings: pool.settings)
                if !before && r.short <= r.baseline {
                    #expect(change == nil)
                    #expect(!pool.rate.isStorm)
                }
                if case .started(let s) = change {
                    #expect(s == r)
                    #expect(s.short > pool.settings.startFactor * s.baseline)
                    #expect(s.interruptions >= pool.settings.minInterruptions)
                }
            }
        }
    }

    @Test("the measured monthly risk: the default with no history, lower after calm node-hours, higher after notices")
    func monthlyRisk() {
        var calm = Pool()
        let prior = 0.1
        #expect(
            abs(
                calm.rate.monthlyRisk(now: calm.now, settings: calm.settings, prior: prior, priorNodeHours: 168) - prior
            ) < 1e-9
        )
        for _ in 0..<(24 * 60) { calm.run(nodes: 20) }  // 480 node-hours, no notice (about 175 after the half-life)
        let quiet = calm.rate.monthlyRisk(now: calm.now, settings: calm.settings, prior: prior, priorNodeHours: 168)
        #expect(quiet < prior * 0.6 && quiet > 0)

        var busy = Pool()
        busy.quietDay(nodes: 4)  // 96 node-hours, 3 notices: about 23 a node-month
        let risky = busy.rate.monthlyRisk(now: busy.now, settings: busy.settings, prior: prior, priorNodeHours: 168)
        #expect(risky > 0.5 && risky < 1)

        // The planner's input: every pool it has history for.
        let pool = SpotPool(region: "us-east-1", availabilityZone: "us-east-1a", instanceType: "m5.large")
        var state = PlannerState()
        state.poolRates[pool] = busy.rate
        let measured = state.measuredInterruptionRisk(now: busy.now, settings: PlannerSettings())
        #expect(measured.count == 1 && abs((measured[pool] ?? 0) - risky) < 1e-12)
    }
}
