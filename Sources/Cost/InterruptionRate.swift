// Spot interruption storms: a pool whose measured interruption rate jumps against its own normal rate.
//
// A fixed count ("3 interruptions in 10 minutes") calls a busy pool stormy on an ordinary day and misses a storm in
// a small one. Here each pool keeps two rates per node-hour of spot exposure: a short sliding window and a long-run
// exponentially weighted baseline of everything older than the window, with a prior for pools with little
// history. A storm starts when the short rate exceeds the baseline by a factor and the window holds a minimum
// count; it ends once the short rate has stayed under a lower factor for a cool-down (hysteresis).

/// How storms are detected (`PlannerSettings.storm`). Every field has a default; `validate()` names the first
/// field out of range.
public struct StormSettings: Codable, Sendable, Hashable {
    /// Length of the short window the current rate is measured over (default 15 min). The window slides in steps
    /// of 1/15 of its length.
    public var window: Duration = .seconds(900)
    /// Half-life of the long-run baseline: an interruption or a node-hour this old weighs half (default 6 h).
    public var baselineHalfLife: Duration = .seconds(6 * 3_600)
    /// The rate assumed for a pool with no history, per node-hour (default 0.01, about 7 per node-month: far above
    /// the Spot Instance Advisor's highest band of over 20 % a month, so a new pool is not flagged on noise; a
    /// quiet pool's own history soon brings its baseline down).
    public var priorInterruptionsPerNodeHour: Double = 0.01
    /// How much exposure the prior is worth, in node-hours (default 10): a pool's own history outweighs it once
    /// it has run more than this many spot node-hours within about one half-life.
    public var priorNodeHours: Double = 10
    /// A storm starts when the short rate exceeds the baseline by more than this factor (default 3) …
    public var startFactor: Double = 3
    /// … and the window holds at least this many interruptions (default 2), so one interruption in a quiet pool
    /// is not a storm.
    public var minInterruptions: Int = 2
    /// A storm ends once the short rate has stayed at or under the baseline times this factor (default 1.5) …
    public var clearFactor: Double = 1.5
    /// … for this long (default 15 min). Meanwhile the pool gets no new capacity.
    public var coolDown: Duration = .seconds(900)

    public init() {}

    /// The window is made of this many buckets.
    static let bucketsPerWindow = 15

    /// The width of a bucket in nanoseconds; at least a second, so settings never validated cannot divide by zero.
    var bucketNanoseconds: Int64 { max(nanoseconds(window) / Int64(StormSettings.bucketsPerWindow), 1_000_000_000) }

    /// Throws `CostError(.invalidSettings)` naming the first field out of range.
    public func validate() throws(CostError) {
        func refuse(_ key: String, _ message: String) -> CostError {
            CostError(.invalidSettings, context: "storm.\(key)", message: message)
        }
        guard window >= .seconds(15) else { throw refuse("window", "must be at least 15 s, is \(window)") }
        guard baselineHalfLife > window else {
            throw refuse("baselineHalfLife", "must be longer than the window (\(window)), is \(baselineHalfLife)")
        }
        guard priorInterruptionsPerNodeHour > 0, priorInterruptionsPerNodeHour.isFinite else {
            throw refuse(
                "priorInterruptionsPerNodeHour",
                "must be a positive rate, is \(priorInterruptionsPerNodeHour)"
            )
        }
        guard priorNodeHours > 0, priorNodeHours.isFinite else {
            throw refuse("priorNodeHours", "must be positive, is \(priorNodeHours)")
        }
        guard clearFactor >= 1, clearFactor.isFinite else {
            throw refuse("clearFactor", "must be at least 1, is \(clearFactor)")
        }
        guard startFactor > clearFactor, startFactor.isFinite else {
            throw refuse("startFactor", "must be above clearFactor (\(clearFactor)), is \(startFactor)")
        }
        guard minInterruptions >= 1 else {
            throw refuse("minInterruptions", "must be at least 1, is \(minInterruptions)")
        }
        guard coolDown >= .zero else { throw refuse("coolDown", "must not be negative, is \(coolDown)") }
    }
}

/// A pool's interruption rates at one instant, per node-hour of spot exposure.
public struct InterruptionRates: Sendable, Hashable, CustomStringConvertible {
    /// Interruptions within the short window.
    public var interruptions: Int
    /// Spot node-hours the pool ran within the short window.
    public var nodeHours: Double
    /// Interruptions per node-hour within the window (dividing by at least one node over the whole window, so a
    /// pool with little exposure on record still gets a finite rate).
    public var short: Double
    /// The long-run rate before the window, per node-hour, blended with the prior.
    public var baseline: Double

    public var description: String {
        "\(interruptions) interruption(s) in \(rateText(nodeHours)) node-hours, \(rateText(short))/node-hour against a baseline of \(rateText(baseline))/node-hour"
    }
}

/// What one evaluation of a pool's rates changed.
public enum StormTransition: Sendable, Hashable {
    /// The short rate jumped: the pool is in a storm from now on.
    case started(InterruptionRates)
    /// The short rate stayed under the clear factor for the cool-down: the storm is over.
    case ended(InterruptionRates, since: Timestamp)
}

/// One spot pool's interruption history: a short window of recent interruptions and exposure, a long-run
/// exponentially weighted baseline of everything older, and whether the pool is in a storm.
///
/// Promise: a storm starts only when the short rate exceeds the baseline by `startFactor` (> 1) and the window holds
/// `minInterruptions`; it ends only after the short rate has stayed at or under `clearFactor` × baseline for
/// `coolDown`. Pure value: every method takes the instant; nothing reads a clock.
public struct PoolInterruptionRate: Codable, Sendable, Hashable {
    /// Interruptions and exposure within one bucket of the window: bucket `index` covers the instants after
    /// index × width up to and including (index + 1) × width, so a notice stamped at a cycle lands in the same
    /// bucket as the exposure that led up to it.
    struct Bucket: Codable, Sendable, Hashable {
        var index: Int64
        var interruptions: Int
        var nodeHours: Double
    }
    /// The buckets of the short window, oldest first; older buckets are folded into the baseline.
    var buckets: [Bucket] = []
    /// Exponentially weighted interruptions and node-hours older than the window, as of `baselineAsOf`.
    var baselineInterruptions: Double = 0
    var baselineNodeHours: Double = 0
    var baselineAsOf: Timestamp?
    /// Spot nodes the pool ran at the last cycle: their exposure is credited up to the next one.
    var spotNodes: Int = 0
    /// When the current storm started, or nil outside a storm.
    public private(set) var stormSince: Timestamp?
    /// During a storm: since when the short rate has stayed under the clear factor.
    var calmSince: Timestamp?

    public init() {}

    /// Whether the pool is in a storm (as of the last `evaluate`).
    public var isStorm: Bool { stormSince != nil }

    /// Records one interruption notice received at `at`, as seen at `now`.
    public mutating func recordInterruption(at: Timestamp, now: Timestamp, settings: StormSettings) {
        let at = min(at, now)
        add(interruptions: 1, nodeHours: 0, bucket: bucketIndex(at, settings), now: now, settings: settings)
        expire(now: now, settings: settings)
    }

    /// Credits `nodes` spot nodes running from `from` to `to`. A gap reaching back past the window is credited only
    /// within the window: nobody saw the pool before.
    public mutating func recordExposure(nodes: Int, from: Timestamp, to: Timestamp, settings: StormSettings) {
        let windowStart = bucketStart(firstBucket(now: to, settings), settings)
        var start = max(from, windowStart)
        guard nodes > 0, start < to else {
            expire(now: to, settings: settings)
            return
        }
        while start < to {
            // The stretch after `start` lies in the bucket that `start` opens (or continues).
            let b = floorDivide(nanoseconds(start.sinceEpoch), settings.bucketNanoseconds)
            let stop = min(to, bucketStart(b + 1, settings))
            add(
                interruptions: 0,
                nodeHours: Double(nodes) * (stop - start).hours,
                bucket: b,
                now: to,
                settings: settings
            )
            start = stop
        }
        expire(now: to, settings: settings)
    }

    /// The short and the baseline rate at `now` (buckets that have left the window by then count in the baseline).
    public func rates(now: Timestamp, settings: StormSettings) -> InterruptionRates {
        var current = self
        current.expire(now: now, settings: settings)
        return current.currentRates(now: now, settings: settings)
    }

    private func currentRates(now: Timestamp, settings: StormSettings) -> InterruptionRates {
        let first = firstBucket(now: now, settings)
        var count = 0
        var nodeHours = 0.0
        for b in buckets where b.index >= first {
            count += b.interruptions
            nodeHours += b.nodeHours
        }
        let short = Double(count) / max(nodeHours, settings.window.hours)
        let d = baselineAsOf.map { decay(now - $0, settings) } ?? 0
        let baseline =
            (baselineInterruptions * d + settings.priorInterruptionsPerNodeHour * settings.priorNodeHours)
            / (baselineNodeHours * d + settings.priorNodeHours)
        return InterruptionRates(interruptions: count, nodeHours: nodeHours, short: short, baseline: baseline)
    }

    /// The chance that a node run in this pool for a month is interrupted (0…1), from the pool's own history
    /// (window and decayed baseline, without the storm detector's prior) blended with `prior`, the risk assumed
    /// for a pool with no history, worth `priorNodeHours` of exposure: a pool with no history gets `prior`, and
    /// one whose recent calm exposure equals `priorNodeHours` about half of it. History older than the window
    /// weighs by the baseline's half-life, so the risk follows the pool's last hours rather than its last month.
    /// A month is 730 hours; rates are per node-hour.
    public func monthlyRisk(now: Timestamp, settings: StormSettings, prior: Double, priorNodeHours: Double) -> Double {
        let r = rates(now: now, settings: settings)
        let d = baselineAsOf.map { decay(now - $0, settings) } ?? 0
        let interruptions = Double(r.interruptions) + baselineInterruptions * d
        let nodeHours = r.nodeHours + baselineNodeHours * d
        let p = min(max(prior, 0), 0.999_999)
        let priorRate = -(1 - p).logarithm / Self.hoursPerMonth
        let rate = (interruptions + priorRate * priorNodeHours) / (nodeHours + priorNodeHours)
        return 1 - (-rate * Self.hoursPerMonth).exponential
    }

    /// Hours in a month, as the Spot Instance Advisor's monthly interruption frequencies count them.
    static let hoursPerMonth = 730.0

    /// Decides at `now` whether a storm starts, goes on or ends; returns the change, if any.
    public mutating func evaluate(now: Timestamp, settings: StormSettings) -> StormTransition? {
        expire(now: now, settings: settings)
        // Most pools, most cycles: no storm and no interruption in the window, so none can start (the minimum
        // count is at least one); skip the rates.
        if stormSince == nil && settings.minInterruptions >= 1 && !buckets.contains(where: { $0.interruptions > 0 }) {
            return nil
        }
        let r = currentRates(now: now, settings: settings)
        guard let since = stormSince else {
            if r.interruptions >= settings.minInterruptions && r.short > settings.startFactor * r.baseline {
                stormSince = now
                calmSince = nil
                return .started(r)
            }
            return nil
        }
        guard r.short <= settings.clearFactor * r.baseline else {
            calmSince = nil
            return nil
        }
        let calm = calmSince ?? now
        calmSince = calm
        guard now - calm >= settings.coolDown else { return nil }
        stormSince = nil
        calmSince = nil
        return .ended(r, since: since)
    }

    /// Nothing left to remember: no nodes, no recent events, no storm and a baseline decayed to the prior.
    func isForgettable(now: Timestamp, settings: StormSettings) -> Bool {
        guard spotNodes == 0, buckets.isEmpty, stormSince == nil else { return false }
        let d = baselineAsOf.map { decay(now - $0, settings) } ?? 0
        return baselineNodeHours * d < 1e-3 * settings.priorNodeHours && baselineInterruptions * d < 1e-3
    }

    // MARK: Buckets and the baseline

    /// The bucket holding the instant `t` (buckets include their end, not their start). Integer nanoseconds: a
    /// floating-point quotient can land an instant on a boundary in the wrong bucket.
    private func bucketIndex(_ t: Timestamp, _ settings: StormSettings) -> Int64 {
        floorDivide(nanoseconds(t.sinceEpoch) - 1, settings.bucketNanoseconds)
    }

    /// The instant bucket `b` starts after (and bucket b − 1 ends at).
    private func bucketStart(_ b: Int64, _ settings: StormSettings) -> Timestamp {
        Timestamp(sinceEpoch: .nanoseconds(b * settings.bucketNanoseconds))
    }

    /// The oldest bucket still in the window at `now`: the window is the last 15 buckets up to `now`'s.
    private func firstBucket(now: Timestamp, _ settings: StormSettings) -> Int64 {
        bucketIndex(now, settings) - Int64(StormSettings.bucketsPerWindow) + 1
    }

    /// exp(−age · ln 2 / half-life): the weight of something `age` old.
    private func decay(_ age: Duration, _ settings: StormSettings) -> Double {
        guard age > .zero else { return 1 }
        let halfLives = age / settings.baselineHalfLife
        // Past 64 half-lives nothing is left (and the series below would loop long on huge gaps).
        guard halfLives < 64 else { return 0 }
        return (-halfLives * 0.693_147_180_559_945_3).exponential
    }

    private mutating func add(
        interruptions: Int,
        nodeHours: Double,
        bucket b: Int64,
        now: Timestamp,
        settings: StormSettings
    ) {
        guard b >= firstBucket(now: now, settings) else {
            // Already older than the window (a late report): straight into the baseline.
            fold(interruptions: Double(interruptions), nodeHours: nodeHours, bucket: b, settings: settings)
            return
        }
        // Nearly always the newest bucket: search from the end.
        var i = buckets.count
        while i > 0 && buckets[i - 1].index > b { i -= 1 }
        if i > 0 && buckets[i - 1].index == b {
            buckets[i - 1].interruptions += interruptions
            buckets[i - 1].nodeHours += nodeHours
        } else {
            buckets.insert(Bucket(index: b, interruptions: interruptions, nodeHours: nodeHours), at: i)
        }
    }

    /// Moves buckets that have left the window into the baseline.
    private mutating func expire(now: Timestamp, settings: StormSettings) {
        let first = firstBucket(now: now, settings)
        var n = 0
        while n < buckets.count && buckets[n].index < first {
            let b = buckets[n]
            fold(interruptions: Double(b.interruptions), nodeHours: b.nodeHours, bucket: b.index, settings: settings)
            n += 1
        }
        if n > 0 { buckets.removeFirst(n) }
    }

    /// Adds a bucket's counts to the baseline, weighted by its age relative to the baseline's instant.
    private mutating func fold(interruptions: Double, nodeHours: Double, bucket b: Int64, settings: StormSettings) {
        let at = bucketStart(b + 1, settings)
        guard let asOf = baselineAsOf, asOf >= at else {
            let d = baselineAsOf.map { decay(at - $0, settings) } ?? 1
            baselineInterruptions = baselineInterruptions * d + interruptions
            baselineNodeHours = baselineNodeHours * d + nodeHours
            baselineAsOf = at
            return
        }
        let w = decay(asOf - at, settings)
        baselineInterruptions += interruptions * w
        baselineNodeHours += nodeHours * w
    }
}

/// A rate or an amount for reasons: four decimals under 10, one above.
func rateText(_ value: Double) -> String {
    guard value.isFinite else { return "\(value)" }
    let digits = abs(value) < 10 ? 4 : 1
    let scale = digits == 4 ? 10_000 : 10
    let units = Int((value * Double(scale)).rounded())
    let sign = units < 0 ? "-" : ""
    let a = abs(units)
    var frac = String(a % scale)
    while frac.count < digits { frac = "0" + frac }
    return "\(sign)\(a / scale).\(frac)"
}

/// A factor or a count for reasons: no trailing zeros (3, 1.5).
func plainNumber(_ v: Double) -> String {
    if v == v.rounded() && abs(v) < 1e15 { return "\(Int(v))" }
    var text = rateText(v)
    while text.hasSuffix("0") { text.removeLast() }
    return text
}

/// A duration in minutes for reasons.
func minutes(_ d: Duration) -> String { plainNumber(d.seconds / 60) }

/// A duration in whole nanoseconds (enough for 292 years).
func nanoseconds(_ d: Duration) -> Int64 {
    let c = d.components
    return c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000
}

/// Integer division rounding toward negative infinity.
func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return a % b != 0 && (a < 0) != (b < 0) ? q - 1 : q
}
