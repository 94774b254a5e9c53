import Foundation
import Testing

@testable import Cost

@Suite("Demand forecast")
struct ForecastTests {
    /// The package root, from this file's path; the traces live in ../shared/traces beside it.
    static let tracesDirectory: String = {
        var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Tests/CostTests/ForecastTests.swift
        return parts.joined(separator: "/") + "/../shared/traces"
    }()

    @Test("log and exp without Foundation match the platform's")
    func mathHelpers() {
        for x in [0.001, 0.5, 1, 2, 3.7, 1234.5] {
            #expect(abs(x.logarithm - Foundation.log(x)) < 1e-12 * max(1, abs(Foundation.log(x))))
        }
        for x in [-5.0, -0.3, 0, 0.7, 4.2] {
            #expect(abs(x.exponential - Foundation.exp(x)) < 1e-12 * Foundation.exp(x))
        }
    }

    @Test("a learned daily cycle pre-scales the next hour up before the morning ramp")
    func learnsDailyCycle() throws {
        var p = DemandProfile()
        let start = DemandProfile.hourIndex(Timestamp(year: 2026, month: 3, day: 2))  // a Monday
        // Three weeks of a square wave: 100 at night (0–7 h), 400 by day.
        for h in 0..<(21 * 24) { p.learn(hour: start + Int64(h), mean: h % 24 < 8 ? 100 : 400) }
        // The last learned hour is 23:00 (day value 400); the next is midnight: the forecast drops toward 100.
        let drop = try #require(p.forecastNextHour())
        #expect(drop < 250)
        // From 07:00 (night) the profile expects the 08:00 ramp up, capped at twice the level.
        p.learn(hour: start + Int64(21 * 24 + 7), mean: 100)
        #expect(p.forecastNextHour() == 200)
    }

    @Test("outage hours are not learned as part of the shape")
    func outagesIgnored() {
        var p = DemandProfile()
        for h in 0..<(14 * 24) { p.learn(hour: Int64(h), mean: 100) }
        for h in (14 * 24)..<(14 * 24 + 30) { p.learn(hour: Int64(h), mean: 0) }
        p.learn(hour: Int64(14 * 24 + 30), mean: 100)
        #expect(p.forecastNextHour() == 100)
    }

    @Test("samples within an hour are averaged; the cluster forecaster looks one lead time ahead")
    func clusterForecaster() throws {
        var f = ClusterDemandForecaster()
        let t0 = Timestamp(year: 2026, month: 3, day: 2)
        for m in 0..<120 {
            let node = NodeReport(
                name: "n",
                instanceID: "i",
                instanceType: "m5.large",
                market: .onDemand,
                availabilityZone: "a",
                state: .ready,
                launchedAt: t0,
                allocatable: .vcpu(2, gib: 8),
                requested: .vcpu(m < 60 ? 1 : 2, gib: 4),
                podCount: 1
            )
            f.observe(
                ClusterReport(
                    clusterID: "a",
                    region: "us-east-1",
                    availabilityZones: ["a"],
                    nodes: [node],
                    observedAt: t0 + .seconds(Int64(m * 60))
                )
            )
        }
        let r = try #require(f.forecast(now: t0 + .seconds(7_199), leadTime: .seconds(180)))
        // The open hour holds 2 vCPU; hour 2's day slot is unknown, so the level carries over.
        #expect(r.cpuMillicores == 2000)
        #expect(f.cpu.lastHour?.mean == 1000)
    }

    @Test("a malformed trace is refused with its line named")
    func malformedTrace() {
        #expect(throws: CostError.self) {
            try ForecastEvaluation.hourlyMeans(minuteCSV: "minute,requests\n0,1\n2,1\n", name: "t.csv")
        }
        #expect(throws: CostError.self) { try ForecastEvaluation.hourlyMeans(minuteCSV: "m,r\n", name: "t.csv") }
    }

    @Test("on the Twitter trace the profile beats the naive next-hour forecast", arguments: ["twitter"])
    func beatsNaiveOnTwitter(trace: String) throws {
        let csv = try String(contentsOfFile: "\(Self.tracesDirectory)/\(trace)-per-minute.csv", encoding: .utf8)
        let hours = try ForecastEvaluation.hourlyMeans(minuteCSV: csv, name: trace)
        let start = DemandProfile.hourIndex(Timestamp(year: 2021, month: 8, day: 1))
        let e = ForecastEvaluation.evaluate(hourlyMeans: hours, startHour: start)
        #expect(e.hoursScored > 300)
        #expect(e.profileMAPE < e.naiveMAPE)
    }
}
