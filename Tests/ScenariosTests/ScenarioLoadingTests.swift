import BallastConfig
import Cost
import Foundation
import Scenarios
import Testing

@Suite("scenario files")
struct ScenarioLoadingTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shipped = [
        "nasa-week", "two-region-week", "flash-crowd", "spot-storm", "zone-outage", "region-outage",
        "budget-squeeze", "demo-day",
    ]

    static func shippedPath(_ name: String) -> String {
        root.appendingPathComponent("scenarios/\(name).yaml").path
    }

    static let traces = root.deletingLastPathComponent().appendingPathComponent("shared/traces").standardizedFileURL

    @Test("every shipped scenario loads, with absolute paths to the shared traces", arguments: shipped)
    func shippedScenarioLoads(name: String) throws {
        let scenario = try Scenario.load(path: Self.shippedPath(name))
        #expect(scenario.name == name)
        #expect(!scenario.description.isEmpty)
        #expect(scenario.durationMinutes > 0)
        #expect(!scenario.clusters.isEmpty)
        for cluster in scenario.clusters {
            #expect(cluster.trace.path.hasPrefix(Self.traces.path + "/"))
            #expect(FileManager.default.isReadableFile(atPath: cluster.trace.path))
            #expect(cluster.requestsPerPod > 0)
            #expect(cluster.zones.allSatisfy { $0.hasPrefix(cluster.region) })
        }
        #expect(scenario.events.map(\.at) == scenario.events.map(\.at).sorted())
        #expect(scenario.events.allSatisfy { $0.at < scenario.durationMinutes })
    }

    @Test("every shipped scenario starts with a comment saying what it shows and what to look for", arguments: shipped)
    func shippedScenarioIsExplained(name: String) throws {
        let text = try String(contentsOfFile: Self.shippedPath(name), encoding: .utf8)
        #expect(text.hasPrefix("# "))
        #expect(text.contains("Look for"))
    }

    @Test("nasa-week: a week from Monday local midnight, playing the trace's Monday at its midnight")
    func nasaWeek() throws {
        let scenario = try Scenario.load(path: Self.shippedPath("nasa-week"))
        #expect(scenario.durationMinutes == 7 * 1440)
        #expect(scenario.start == 1_783_310_400)  // 2026-07-06T04:00:00Z
        let cluster = try #require(scenario.clusters.first)
        #expect(cluster.region == "us-east-1")
        #expect(cluster.zones == ["us-east-1a", "us-east-1b", "us-east-1c"])
        #expect(cluster.timeZoneOffsetHours == -4)
        // Monday 3 July 1995, 00:00: the trace's third day.
        #expect(scenario.traceMinute(of: cluster, atRunMinute: 0) == 2 * 1440)
        // The NASA trace's median is 35 requests a minute; 42 pods of 250m/512Mi fill six m6i.large.
        #expect(abs(cluster.requestsPerPod - 35.0 / 42) < 1e-9)
    }

    @Test("two-region-week: one cluster per region, each in its own time zone and the other's failover target")
    func twoRegionWeek() throws {
        let scenario = try Scenario.load(path: Self.shippedPath("two-region-week"))
        #expect(Set(scenario.clusters.map(\.region)) == ["us-east-1", "eu-west-1"])
        #expect(Set(scenario.clusters.map(\.timeZoneOffsetHours)).count == 2)
        for cluster in scenario.clusters {
            #expect(cluster.failoverTargets == scenario.clusters.map(\.id).filter { $0 != cluster.id })
        }
        #expect(scenario.budget != nil)
    }

    @Test("flash-crowd: run minute 0 plays 06:00 of the trace's 13 July, and the surge comes within the run")
    func flashCrowd() throws {
        let scenario = try Scenario.load(path: Self.shippedPath("flash-crowd"))
        #expect(scenario.durationMinutes == 360)
        let cluster = try #require(scenario.clusters.first)
        let first = scenario.traceMinute(of: cluster, atRunMinute: 0)
        #expect(first == 12 * 1440 + 6 * 60)
        let text = try String(contentsOfFile: cluster.trace.path, encoding: .utf8)
        let requests = text.split(separator: "\n").dropFirst().compactMap { Double($0.split(separator: ",")[1]) }
        let played = requests[first..<(first + scenario.durationMinutes)]
        let median = requests.sorted()[requests.count / 2]
        let busiestHour =
            (0...(played.count - 60)).map { start in
                played.dropFirst(start).prefix(60).reduce(0, +) / 60
            }.max() ?? 0
        #expect(busiestHour >= 5 * median)
    }

    @Test("region-outage: the outage, then a failover shortly after, then a failback after the region returns")
    func regionOutage() throws {
        let scenario = try Scenario.load(path: Self.shippedPath("region-outage"))
        guard scenario.events.count == 3,
            case .regionOutage(let region, let minutes) = scenario.events[0].kind,
            case .failover(let from, _) = scenario.events[1].kind,
            case .failback(let back) = scenario.events[2].kind
        else {
            Issue.record("expected region-outage, failover, failback; found \(scenario.events)")
            return
        }
        #expect(from == region && back == region)
        #expect(scenario.events[1].at > scenario.events[0].at)
        #expect(scenario.events[2].at >= scenario.events[0].at + minutes)
    }

    @Test("budget-squeeze: starts mid-month with most of the allowance spent, then the budget is cut")
    func budgetSqueeze() throws {
        let scenario = try Scenario.load(path: Self.shippedPath("budget-squeeze"))
        let budget = try #require(scenario.budget)
        #expect(budget.spentBeforeUSD > 0.8 * budget.monthlyUSD)
        let cuts = scenario.events.compactMap { event -> Double? in
            if case .budgetChange(nil, let usd) = event.kind { return usd }
            return nil
        }
        #expect(cuts.count == 1 && cuts[0] < budget.monthlyUSD)
    }

    @Test("the example in docs/simulator.md loads")
    func documentedExample() throws {
        let doc = try String(contentsOf: Self.root.appendingPathComponent("docs/simulator.md"), encoding: .utf8)
        let start = try #require(doc.range(of: "```yaml\n"))
        let end = try #require(doc.range(of: "```", range: start.upperBound..<doc.endIndex))
        let yaml = doc[start.upperBound..<end.lowerBound]
            .replacingOccurrences(of: "../../shared/traces/", with: Self.traces.path + "/")
        try ScenarioScratch.with { scratch in
            let scenario = try scratch.load(yaml)
            #expect(scenario.clusters.map(\.id) == ["us-web", "eu-web"])
            #expect(scenario.events.count == 4)
        }
    }

    @Test("a minimal file takes every documented default")
    func defaults() throws {
        try ScenarioScratch.with { scratch in
            let scenario = try scratch.load(
                """
                name: minimal
                duration: 2h
                start: 1783296000
                clusters:
                  - {id: web, region: eu-west-1, trace: {file: trace.csv}}
                """
            )
            #expect(scenario.description == "")
            #expect(scenario.seed == 0)
            #expect(scenario.budget == nil)
            #expect(scenario.cloud == ScenarioCloud())
            #expect(scenario.events.isEmpty)
            let cluster = try #require(scenario.clusters.first)
            #expect(cluster.zones == ["eu-west-1a", "eu-west-1b", "eu-west-1c"])
            #expect(cluster.timeZoneOffsetHours == 0)
            #expect(cluster.trace == ScenarioTrace(path: scratch.tracePath, offsetMinutes: 0, scale: 1))
            #expect(cluster.podRequest == Resources(cpuMillicores: 250, memoryBytes: 512 << 20))
            #expect(cluster.requestsPerPod == ScenarioScratch.traceMedian / 42)
            var expected = ScenarioCluster(
                id: "web",
                region: "eu-west-1",
                zones: cluster.zones,
                trace: cluster.trace,
                requestsPerPod: cluster.requestsPerPod
            )
            expected.podRequest = cluster.podRequest
            #expect(cluster == expected)
        }
    }

    @Test("every key is read, into the model's units")
    func everyKey() throws {
        try ScenarioScratch.with { scratch in
            let scenario = try scratch.load(
                """
                name: full
                description: All of it.
                duration: 3d5h
                seed: 18446744073709551615
                start: 2026-07-06T02:00:00+02:00
                budget: {monthly-usd: 3000, regions: {us-east-1: 1500}, spent-before-usd: 120.5}
                cloud: {boot-p50: 1m30s, boot-p90: 150s, interruptions-per-instance-hour: 0.01, rebalance-share: 0.25, spot-price-volatility: 0.05}
                clusters:
                  - id: us-web
                    region: us-east-1
                    zones: [us-east-1d, us-east-1f]
                    time-zone: UTC-5
                    trace: {file: ./trace.csv, offset: 1d2h, scale: 2.5}
                    requests-per-pod: 120
                    pod: {cpu: 1, memory: 1Gi}
                    max-unavailable: 3
                    instance-types: [m6i.large, m5.large]
                    initial-nodes: 5
                    min-nodes: 1
                    max-nodes: 9
                    on-demand-base: 0
                    spot-share: 1
                    target-utilisation: 0.9
                    priority: high
                    failover-targets: [eu-web]
                  - id: eu-web
                    region: eu-west-1
                    time-zone: 1
                    trace: {file: trace.csv}
                    pod: {cpu: 0.5, memory: 2G}
                    priority: 3
                events:
                  - {at: 3d1h, failover: {from: us-east-1, to: eu-web}}
                  - {at: 2d, zone-outage: {zone: us-east-1d, for: 2h}}
                  - {at: 3d, region-outage: {region: us-east-1, for: 6h}}
                  - {at: 1d, price-change: {zone: eu-west-1b, instance-type: m6i.large, factor: 1.8}}
                  - {at: 4h, spot-storm: {zone: us-east-1f, for: 1h, interruptions-per-instance-hour: 0.5}}
                  - {at: 5h, capacity-shortage: {zone: us-east-1d, instance-type: m5.large, market: spot, for: 30m}}
                  - {at: 15h, budget-change: {region: us-east-1, monthly-usd: 1200}}
                  - {at: 3d5m, failback: {from: us-east-1}}
                  - {at: 0, price-change: {factor: 0.9}}
                """
            )
            #expect(scenario.description == "All of it.")
            #expect(scenario.durationMinutes == 3 * 1440 + 5 * 60)
            #expect(scenario.seed == .max)
            #expect(scenario.start == 1_783_296_000)
            #expect(
                scenario.budget == ScenarioBudget(monthlyUSD: 3000, regions: ["us-east-1": 1500], spentBeforeUSD: 120.5)
            )
            #expect(
                scenario.cloud
                    == ScenarioCloud(
                        bootP50Seconds: 90,
                        bootP90Seconds: 150,
                        interruptionsPerInstanceHour: 0.01,
                        rebalanceShare: 0.25,
                        spotPriceVolatility: 0.05
                    )
            )
            #expect(
                scenario.clusters[0]
                    == ScenarioCluster(
                        id: "us-web",
                        region: "us-east-1",
                        zones: ["us-east-1d", "us-east-1f"],
                        timeZoneOffsetHours: -5,
                        trace: ScenarioTrace(path: scratch.tracePath, offsetMinutes: 1560, scale: 2.5),
                        requestsPerPod: 120,
                        podRequest: Resources(cpuMillicores: 1000, memoryBytes: 1 << 30),
                        maxUnavailable: 3,
                        instanceTypes: ["m6i.large", "m5.large"],
                        initialNodes: 5,
                        minNodes: 1,
                        maxNodes: 9,
                        onDemandBase: 0,
                        spotShare: 1,
                        targetUtilisation: 0.9,
                        priority: 2,
                        failoverTargets: ["eu-web"]
                    )
            )
            let eu = scenario.clusters[1]
            #expect(eu.podRequest == Resources(cpuMillicores: 500, memoryBytes: 2_000_000_000))
            #expect(eu.priority == 3)
            #expect(eu.targetUtilisation == nil)  // the planner's default
            // 500m of 1930m: 3 pods a node; 2 GB of 7168Mi: 3 pods a node.
            #expect(eu.requestsPerPod == ScenarioScratch.traceMedian / 18)
            #expect(
                scenario.events == [
                    ScenarioEvent(at: 0, kind: .priceChange(region: nil, zone: nil, instanceType: nil, factor: 0.9)),
                    ScenarioEvent(
                        at: 240,
                        kind: .spotStorm(
                            zone: "us-east-1f",
                            instanceType: nil,
                            minutes: 60,
                            interruptionsPerInstanceHour: 0.5
                        )
                    ),
                    ScenarioEvent(
                        at: 300,
                        kind: .capacityShortage(
                            zone: "us-east-1d",
                            instanceType: "m5.large",
                            market: .spot,
                            minutes: 30
                        )
                    ),
                    ScenarioEvent(at: 900, kind: .budgetChange(region: "us-east-1", monthlyUSD: 1200)),
                    ScenarioEvent(
                        at: 1440,
                        kind: .priceChange(region: nil, zone: "eu-west-1b", instanceType: "m6i.large", factor: 1.8)
                    ),
                    ScenarioEvent(at: 2880, kind: .zoneOutage(zone: "us-east-1d", minutes: 120)),
                    ScenarioEvent(at: 4320, kind: .regionOutage(region: "us-east-1", minutes: 360)),
                    ScenarioEvent(at: 4325, kind: .failback(from: "us-east-1")),
                    ScenarioEvent(at: 4380, kind: .failover(from: "us-east-1", to: "eu-web")),
                ]
            )
        }
    }

    @Test(
        "durations: days, hours, minutes and seconds, alone or summed",
        arguments: [
            ("7d", 10_080), ("3d5h", 4620), ("90m", 90), ("1h30m", 90), ("2h", 120), ("1d0h1m", 1441), ("0.5h", 30),
        ]
    )
    func durations(text: String, minutes: Int) throws {
        try ScenarioScratch.with { scratch in
            var file = ScenarioYAML()
            file.top = "name: t\nduration: \(text)\nstart: 0"
            let scenario = try scratch.load(file.text)
            #expect(scenario.durationMinutes == minutes)
        }
    }

    @Test("a boot delay takes seconds")
    func bootSeconds() throws {
        try ScenarioScratch.with { scratch in
            var file = ScenarioYAML()
            file.top += "\ncloud: {boot-p50: 90s, boot-p90: 2m30s}"
            let scenario = try scratch.load(file.text)
            #expect(scenario.cloud.bootP50Seconds == 90)
            #expect(scenario.cloud.bootP90Seconds == 150)
        }
    }

    @Test(
        "start: ISO-8601 in UTC or with an offset, a date alone, or Unix seconds",
        arguments: [
            ("2026-07-06T00:00:00Z", Int64(1_783_296_000)),
            ("\"2026-07-06T00:00:00Z\"", 1_783_296_000),
            ("2026-07-06T04:00:00+04:00", 1_783_296_000),
            ("2026-07-05T22:00:00-02:00", 1_783_296_000),
            ("2026-07-06T00:00:00.000Z", 1_783_296_000),
            ("2026-07-06", 1_783_296_000),
            ("1783296000", 1_783_296_000),
            ("0", 0),
        ]
    )
    func start(text: String, unixSeconds: Int64) throws {
        try ScenarioScratch.with { scratch in
            var file = ScenarioYAML()
            file.top = "name: t\nduration: 1d\nstart: \(text)"
            let scenario = try scratch.load(file.text)
            #expect(scenario.start == unixSeconds)
        }
    }

    @Test("the trace minute lines local midnight up with the trace's, whatever the start and time zone")
    func traceMinute() {
        func scenario(start: Int64, timeZone: Int, offset: Int) -> (Scenario, ScenarioCluster) {
            let cluster = ScenarioCluster(
                id: "c",
                region: "us-east-1",
                zones: ["us-east-1a"],
                timeZoneOffsetHours: timeZone,
                trace: ScenarioTrace(path: "/t.csv", offsetMinutes: offset),
                requestsPerPod: 1
            )
            let scenario = Scenario(
                name: "t",
                description: "",
                durationMinutes: 60,
                seed: 0,
                start: start,
                budget: nil,
                cloud: ScenarioCloud(),
                clusters: [cluster],
                events: []
            )
            return (scenario, cluster)
        }
        let midnightUTC: Int64 = 1_783_296_000
        // 00:00 UTC is 20:00 the day before at UTC-4: the offset's day at 20:00.
        let (east, eastCluster) = scenario(start: midnightUTC, timeZone: -4, offset: 1440)
        #expect(east.traceMinute(of: eastCluster, atRunMinute: 0) == 1440 + 20 * 60)
        #expect(east.traceMinute(of: eastCluster, atRunMinute: 300) == 2 * 1440 + 60)
        // 00:00 UTC is 01:00 at UTC+1.
        let (europe, europeCluster) = scenario(start: midnightUTC, timeZone: 1, offset: 0)
        #expect(europe.traceMinute(of: europeCluster, atRunMinute: 0) == 60)
        // A start at 10:30 UTC is 06:30 at UTC-4, whatever the day.
        let (late, lateCluster) = scenario(start: midnightUTC + 3 * 86_400 + 37_800, timeZone: -4, offset: 0)
        #expect(late.traceMinute(of: lateCluster, atRunMinute: 10) == 6 * 60 + 30 + 10)
        // Before 1970 too.
        let (old, oldCluster) = scenario(start: -3600, timeZone: 0, offset: 0)
        #expect(old.traceMinute(of: oldCluster, atRunMinute: 0) == 23 * 60)
    }
}
