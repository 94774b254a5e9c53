// Events and storms (unnumbered in SYSTEM.md §2; they run before every rule): launch failures feed pool back-off,
// interruptions feed the pools' rates and storm detection.

extension FleetPlanner {
    func record(events input: PlannerInput, state: inout PlannerState, reasons: inout [String]) {
        let now = input.now
        let storm = settings.storm
        let horizon = max(settings.poolBackoffMax, storm.window + storm.coolDown)
        // Forget events old enough that they can no longer matter, so the state stays bounded.
        if state.generation % 64 == 1 {
            state.seenEvents = state.seenEvents.filter { now - $0.value <= horizon }
            state.poolRates = state.poolRates.filter { !$0.value.isForgettable(now: now, settings: storm) }
        }
        // Exposure since the last cycle: the spot nodes each pool ran then, over the time since.
        if let last = state.exposureAsOf, now > last {
            for i in state.poolRates.indices where state.poolRates.values[i].spotNodes > 0 {
                let nodes = state.poolRates.values[i].spotNodes
                state.poolRates.values[i].recordExposure(nodes: nodes, from: last, to: now, settings: storm)
            }
        }
        for report in input.reports where !(report.launchFailures.isEmpty && report.notices.isEmpty) {
            for f in report.launchFailures {
                let key =
                    "f|\(report.clusterID)|\(f.instanceType)|\(f.market)|\(f.availabilityZone)|\(f.failedAt.sinceEpoch)"
                guard state.seenEvents.updateValue(f.failedAt, forKey: key) == nil else { continue }
                let pool = SpotPool(
                    region: report.region,
                    availabilityZone: f.availabilityZone,
                    instanceType: f.instanceType
                )
                let k = PlannerState.PoolKey(pool: pool, market: f.market)
                var r = state.poolFailures[k] ?? PlannerState.FailureRecord(count: 0, lastAt: f.failedAt)
                // A failure long after the last back-off ended starts the count over.
                if f.failedAt - r.lastAt > state.backoff(count: r.count, settings: settings) + .seconds(3_600) {
                    r.count = 0
                }
                r.count += 1
                r.lastAt = max(r.lastAt, f.failedAt)
                state.poolFailures[k] = r
                reasons.append(
                    "pool \(pool) (\(f.market)) failed with \(f.reason) in \(report.clusterID): avoided until \(r.lastAt + state.backoff(count: r.count, settings: settings))"
                )
            }
            for n in report.notices where n.kind == .interruption {
                let key = "i|\(report.clusterID)|\(n.nodeName)|\(n.receivedAt.sinceEpoch)"
                guard state.seenEvents.updateValue(n.receivedAt, forKey: key) == nil else { continue }
                let pool = SpotPool(
                    region: report.region,
                    availabilityZone: n.availabilityZone,
                    instanceType: n.instanceType
                )
                state.poolRates[pool, default: PoolInterruptionRate()]
                    .recordInterruption(at: n.receivedAt, now: now, settings: storm)
            }
        }
        // Storms start, go on or end; every pool is looked at, as a rate can cross a threshold without a new event
        // (the window moves on, the baseline decays).
        var stormNotes: [(pool: SpotPool, text: String)] = []
        for i in state.poolRates.indices {
            let pool = state.poolRates.keys[i]
            switch state.poolRates.values[i].evaluate(now: now, settings: storm) {
            case .started(let r):
                state.storming.insert(pool)
                stormNotes.append(
                    (
                        pool,
                        "spot storm in \(pool): \(r) (over \(plainNumber(storm.startFactor))×); no new capacity there until the rate stays under \(plainNumber(storm.clearFactor))× the baseline for \(minutes(storm.coolDown)) min"
                    )
                )
            case .ended(let r, let since):
                state.storming.remove(pool)
                stormNotes.append(
                    (
                        pool,
                        "spot storm in \(pool) over (since \(since)): \(r), under \(plainNumber(storm.clearFactor))× for \(minutes(storm.coolDown)) min; new capacity may go there again"
                    )
                )
            case nil:
                if let since = state.poolRates.values[i].stormSince {
                    let r = state.poolRates.values[i].rates(now: now, settings: storm)
                    stormNotes.append((pool, "spot storm in \(pool) since \(since): \(r); no new capacity there"))
                }
            }
        }
        reasons += stormNotes.sorted { $0.pool < $1.pool }.map(\.text)
    }
}
