// Demand forecasting: an hour-of-week profile per cluster, exponentially weighted per slot, used to pre-scale one
// lead time ahead. The profile predicts the *shape* of demand (how the next hours compare with this one); the
// level comes from the latest observation, so a cluster that grows or shrinks is followed at once.

/// A seasonal demand profile: one exponentially weighted mean per hour of the week (168 slots), backed by one per
/// hour of the day (24 slots), which fills up seven times faster.
///
/// Promise: `forecast` never returns less than half or more than twice the latest level per step (`maxStep`), and
/// hours with no demand (outages) are not learned as part of the shape.
public struct DemandProfile: Codable, Sendable, Hashable {
    /// Weight of a new hour in its week slot (default 0.3).
    public var weeklyAlpha = 0.3
    /// Weight of a new hour in its day slot (default 0.2).
    public var dailyAlpha = 0.2
    /// How much the week shape counts against the day shape in the step ratio (0…1, default 0.25): with a few
    /// weeks of history a week slot has seen only a few samples, a day slot seven times as many.
    public var weeklyWeight = 0.25
    /// Largest factor the forecast may move from the latest level (default 2).
    public var maxStep = 2.0

    private var weekly = [Double?](repeating: nil, count: 168)
    private var daily = [Double?](repeating: nil, count: 24)
    private var openHour: Int64?
    private var openSum = 0.0
    private var openCount = 0
    /// The last completed hour and its mean.
    public private(set) var lastHour: (index: Int64, mean: Double)? {
        get { lastHourIndex.map { ($0, lastHourMean) } }
        set {
            lastHourIndex = newValue?.index
            lastHourMean = newValue?.mean ?? 0
        }
    }
    private var lastHourIndex: Int64?
    private var lastHourMean = 0.0

    public init() {}

    /// Hours since the Unix epoch, the profile's time axis.
    public static func hourIndex(_ t: Timestamp) -> Int64 {
        let s = t.sinceEpoch.components.seconds
        return s >= 0 ? s / 3_600 : -((-s + 3_599) / 3_600)
    }
    /// Monday 00:00 UTC = slot 0 (1970-01-01 was a Thursday, 72 hours after a Monday).
    static func weekSlot(_ hour: Int64) -> Int { Int(((hour + 72) % 168 + 168) % 168) }
    static func daySlot(_ hour: Int64) -> Int { Int((hour % 24 + 24) % 24) }

    /// Adds one sample (any rate); samples are averaged per hour and an hour is learned when the next begins.
    public mutating func observe(_ value: Double, at t: Timestamp) {
        let h = DemandProfile.hourIndex(t)
        if let open = openHour, h != open {
            if h < open { return }  // late sample for a closed hour
            learn(hour: open, mean: openSum / Double(max(1, openCount)))
            openSum = 0
            openCount = 0
        }
        openHour = h
        openSum += value
        openCount += 1
    }

    /// Learns one whole hour's mean demand.
    public mutating func learn(hour: Int64, mean: Double) {
        lastHour = (hour, mean)
        guard mean > 0 else { return }  // an outage is not part of the shape
        let w = DemandProfile.weekSlot(hour)
        weekly[w] = weekly[w].map { weeklyAlpha * mean + (1 - weeklyAlpha) * $0 } ?? mean
        let d = DemandProfile.daySlot(hour)
        daily[d] = daily[d].map { dailyAlpha * mean + (1 - dailyAlpha) * $0 } ?? mean
    }

    /// How demand in hour `to` compares with hour `from`, from the learned shape (1 when unknown).
    public func seasonalRatio(from: Int64, to: Int64) -> Double {
        guard from != to else { return 1 }
        var dayRatio = 1.0
        if let a = daily[DemandProfile.daySlot(from)], let b = daily[DemandProfile.daySlot(to)], a > 0 {
            dayRatio = b / a
        }
        var weekRatio = dayRatio
        if let a = weekly[DemandProfile.weekSlot(from)], let b = weekly[DemandProfile.weekSlot(to)], a > 0 {
            weekRatio = b / a
        }
        let g =
            weekRatio == dayRatio
            ? dayRatio : (weeklyWeight * weekRatio.logarithm + (1 - weeklyWeight) * dayRatio.logarithm).exponential
        return min(maxStep, max(1 / maxStep, g))
    }

    /// The demand expected at `target`, from the latest level (the open hour's mean so far, else the last
    /// completed hour) moved by the seasonal ratio. Nil before any observation.
    public func forecast(at target: Timestamp) -> Double? {
        let to = DemandProfile.hourIndex(target)
        if let open = openHour, openCount > 0 {
            return openSum / Double(openCount) * seasonalRatio(from: open, to: to)
        }
        guard let last = lastHour else { return nil }
        return last.mean * seasonalRatio(from: last.index, to: to)
    }

    /// The forecast for the hour after the last completed one (what the trace evaluation scores).
    public func forecastNextHour() -> Double? {
        guard let last = lastHour else { return nil }
        return last.mean * seasonalRatio(from: last.index, to: last.index + 1)
    }
}

/// A cluster's CPU and memory demand profiles; turns reports into the forecast the planner takes.
public struct ClusterDemandForecaster: Codable, Sendable, Hashable {
    public var cpu = DemandProfile()
    public var memory = DemandProfile()

    public init() {}

    /// Learns the cluster's requests (running and pending) from a report.
    public mutating func observe(_ report: ClusterReport) {
        var r = report.pending.totalRequests
        for n in report.nodes { r += n.requested }
        cpu.observe(Double(r.cpuMillicores), at: report.observedAt)
        memory.observe(Double(r.memoryBytes), at: report.observedAt)
    }

    /// Demand one lead time after `now` (the lead time is the cluster's launch-to-Ready p90).
    public func forecast(now: Timestamp, leadTime: Duration) -> Resources? {
        guard let c = cpu.forecast(at: now + leadTime), let m = memory.forecast(at: now + leadTime) else { return nil }
        return Resources(cpuMillicores: Int(c.rounded(.up)), memoryBytes: Int(m.rounded(.up)))
    }
}

/// Next-hour forecast error of the profile against the naive last-value forecast on a series of hourly means.
public struct ForecastEvaluation: Sendable, Hashable {
    /// Mean absolute percentage error of the profile forecast, in percent.
    public var profileMAPE: Double
    /// The same for "next hour = this hour".
    public var naiveMAPE: Double
    /// Hours scored (after the warm-up, with non-zero actual demand).
    public var hoursScored: Int

    /// Scores every hour after `warmupHours`; hours whose actual demand is zero are skipped (a percentage of
    /// zero is undefined). `startHour` places the series on the week (hours since the Unix epoch).
    public static func evaluate(
        hourlyMeans h: [Double],
        startHour: Int64,
        warmupHours: Int = 168,
        profile: DemandProfile = DemandProfile()
    )
        -> ForecastEvaluation
    {
        var p = profile
        var errProfile = 0.0
        var errNaive = 0.0
        var n = 0
        for t in 0..<max(0, h.count - 1) {
            p.learn(hour: startHour + Int64(t), mean: h[t])
            guard t >= warmupHours, h[t + 1] > 0, let f = p.forecastNextHour() else { continue }
            errProfile += abs(f - h[t + 1]) / h[t + 1]
            errNaive += abs(h[t] - h[t + 1]) / h[t + 1]
            n += 1
        }
        return ForecastEvaluation(
            profileMAPE: n > 0 ? errProfile / Double(n) * 100 : 0,
            naiveMAPE: n > 0 ? errNaive / Double(n) * 100 : 0,
            hoursScored: n
        )
    }

    /// Hourly means from a `minute,requests` CSV (the traces' format). A trailing partial hour is dropped.
    public static func hourlyMeans(minuteCSV csv: String, name: String) throws(CostError) -> [Double] {
        var perMinute: [Double] = []
        for (i, line) in csv.split(separator: "\n").enumerated() {
            if i == 0 {
                guard line.trimmingSpaces() == "minute,requests" else {
                    throw CostError(
                        .invalidSeries,
                        context: "\(name):1",
                        message: "expected the header minute,requests"
                    )
                }
                continue
            }
            let f = line.split(separator: ",")
            guard f.count == 2, let minute = Int(f[0].trimmingSpaces()), let v = Double(f[1].trimmingSpaces()), v >= 0
            else {
                throw CostError(
                    .invalidSeries,
                    context: "\(name):\(i + 1)",
                    message: "expected minute,requests with a non-negative count, found '\(line)'"
                )
            }
            guard minute == perMinute.count else {
                throw CostError(
                    .invalidSeries,
                    context: "\(name):\(i + 1)",
                    message: "minute \(minute) out of order; expected \(perMinute.count)"
                )
            }
            perMinute.append(v)
        }
        var hours: [Double] = []
        var i = 0
        while i + 60 <= perMinute.count {
            hours.append(perMinute[i..<(i + 60)].reduce(0, +) / 60)
            i += 60
        }
        return hours
    }
}

extension Double {
    // Natural log and exp without Foundation: frexp-free series good to ~1e-12 for the ratios used here.
    var logarithm: Double {
        guard self > 0 else { return -.infinity }
        if self == 1 { return 0 }
        // ln(x) = 2^k scaling + atanh series on m in [0.5, 1).
        var m = self
        var k = 0.0
        while m >= 1 {
            m /= 2
            k += 1
        }
        while m < 0.5 {
            m *= 2
            k -= 1
        }
        let y = (m - 1) / (m + 1)
        let y2 = y * y
        var term = y
        var sum = 0.0
        var n = 1.0
        while abs(term / n) > 1e-17 {
            sum += term / n
            term *= y2
            n += 2
        }
        return 2 * sum + k * 0.693_147_180_559_945_3
    }

    var exponential: Double {
        // e^x = 2^k · e^r with |r| ≤ ln2/2, Taylor series for e^r.
        let ln2 = 0.693_147_180_559_945_3
        let k = (self / ln2).rounded()
        let r = self - k * ln2
        var term = 1.0
        var sum = 1.0
        var n = 1.0
        while abs(term) > 1e-17 {
            term *= r / n
            sum += term
            n += 1
        }
        var result = sum
        var e = Int(k)
        while e > 0 {
            result *= 2
            e -= 1
        }
        while e < 0 {
            result /= 2
            e += 1
        }
        return result
    }
}
