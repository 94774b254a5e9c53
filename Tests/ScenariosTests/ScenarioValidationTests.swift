import BallastConfig
import Foundation
import Scenarios
import Testing

@Suite("scenario validation")
struct ScenarioValidationTests {
    /// A file with one thing wrong, the key the error must name, and a word the expectation must contain.
    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var yaml: String
        var key: String
        var code: ConfigError.Code = .invalidValue
        var mentions: String

        var testDescription: String { label }
    }

    static func file(_ change: (inout ScenarioYAML) -> Void) -> String {
        var file = ScenarioYAML()
        change(&file)
        return file.text
    }

    static let usWeb = """
          - id: us-web
            region: us-east-1
            trace: {file: trace.csv}
        """

    static let cases: [Case] = [
        Case(
            label: "a zero duration",
            yaml: file { $0.top = "name: t\nduration: 0m\nstart: 0" },
            key: "duration",
            mentions: "positive"
        ),
        Case(
            label: "a duration that is not whole minutes",
            yaml: file { $0.top = "name: t\nduration: 90s\nstart: 0" },
            key: "duration",
            mentions: "whole"
        ),
        Case(
            label: "a duration without a unit",
            yaml: file { $0.top = "name: t\nduration: 7\nstart: 0" },
            key: "duration",
            mentions: "unit"
        ),
        Case(
            label: "a duration in an unknown unit",
            yaml: file { $0.top = "name: t\nduration: 2w\nstart: 0" },
            key: "duration",
            mentions: "7d"
        ),
        Case(
            label: "a start that is not a time",
            yaml: file { $0.top = "name: t\nduration: 1d\nstart: next monday" },
            key: "start",
            mentions: "ISO-8601"
        ),
        Case(
            label: "no name",
            yaml: file { $0.top = "duration: 1d\nstart: 0" },
            key: "name",
            code: .missingKey,
            mentions: "required"
        ),
        Case(
            label: "two clusters with one id",
            yaml: file { $0.clusters[1] = usWeb },
            key: "clusters[1].id",
            mentions: "no other cluster"
        ),
        Case(
            label: "no clusters",
            yaml: file { $0.clusters = [" []"] },
            key: "clusters",
            mentions: "at least one"
        ),
        Case(
            label: "a zone of another region",
            yaml: file { $0.clusters[1] = $0.clusters[1].replacingOccurrences(of: "eu-west-1b", with: "us-east-1b") },
            key: "clusters[1].zones[1]",
            mentions: "eu-west-1"
        ),
        Case(
            label: "a spot share above 1",
            yaml: file { $0.clusters[1] += "\n    spot-share: 1.5" },
            key: "clusters[1].spot-share",
            mentions: "0 to 1"
        ),
        Case(
            label: "a negative spot share",
            yaml: file { $0.clusters[0] += "\n    spot-share: -0.1" },
            key: "clusters[0].spot-share",
            mentions: "0 to 1"
        ),
        Case(
            label: "a target utilisation of 0",
            yaml: file { $0.clusters[1] += "\n    target-utilisation: 0" },
            key: "clusters[1].target-utilisation",
            mentions: "above 0 and at most 1"
        ),
        Case(
            label: "initial nodes below the minimum",
            yaml: file { $0.clusters[0] += "\n    min-nodes: 4\n    initial-nodes: 3" },
            key: "clusters[0].initial-nodes",
            mentions: "min-nodes ≤ initial-nodes ≤ max-nodes"
        ),
        Case(
            label: "initial nodes above the maximum",
            yaml: file { $0.clusters[0] += "\n    max-nodes: 10\n    initial-nodes: 11" },
            key: "clusters[0].initial-nodes",
            mentions: "max-nodes"
        ),
        Case(
            label: "a minimum above the maximum",
            yaml: file { $0.clusters[0] += "\n    min-nodes: 8\n    max-nodes: 5\n    initial-nodes: 5" },
            key: "clusters[0].min-nodes",
            mentions: "at most max-nodes"
        ),
        Case(
            label: "a default initial count above a small maximum names the maximum",
            yaml: file { $0.clusters[0] += "\n    max-nodes: 4" },
            key: "clusters[0].max-nodes",
            mentions: "initial-nodes"
        ),
        Case(
            label: "an on-demand base above the maximum",
            yaml: file { $0.clusters[0] += "\n    max-nodes: 6\n    on-demand-base: 7" },
            key: "clusters[0].on-demand-base",
            mentions: "max-nodes"
        ),
        Case(
            label: "a failover target that is not a cluster",
            yaml: file { $0.clusters[0] = $0.clusters[0].replacingOccurrences(of: "[eu-web]", with: "[eu-wbe]") },
            key: "clusters[0].failover-targets[0]",
            mentions: "eu-web"
        ),
        Case(
            label: "a cluster failing over to itself",
            yaml: file {
                $0.clusters[0] = $0.clusters[0].replacingOccurrences(of: "[eu-web]", with: "[eu-web, us-web]")
            },
            key: "clusters[0].failover-targets[1]",
            mentions: "another cluster"
        ),
        Case(
            label: "no instance types",
            yaml: file { $0.clusters[0] += "\n    instance-types: []" },
            key: "clusters[0].instance-types",
            mentions: "at least one"
        ),
        Case(
            label: "an instance type not sold in the region",
            yaml: file { $0.clusters[0] += "\n    instance-types: [m6i.large, m6i.larg]" },
            key: "clusters[0].instance-types[1]",
            mentions: "us-east-1"
        ),
        Case(
            label: "a region the catalog does not know",
            yaml: file { $0.clusters[0] = $0.clusters[0].replacingOccurrences(of: "us-east-1", with: "us-east-9") },
            key: "clusters[0].region",
            mentions: "eu-west-1"
        ),
        Case(
            label: "a time zone off the globe",
            yaml: file { $0.clusters[0] += "\n    time-zone: 15" },
            key: "clusters[0].time-zone",
            mentions: "-12 to 14"
        ),
        Case(
            label: "a time zone in the wrong form",
            yaml: file { $0.clusters[0] += "\n    time-zone: EST" },
            key: "clusters[0].time-zone",
            mentions: "UTC-4"
        ),
        Case(
            label: "a CPU request that is not a quantity",
            yaml: file { $0.clusters[0] += "\n    pod: {cpu: 250x}" },
            key: "clusters[0].pod.cpu",
            mentions: "250m"
        ),
        Case(
            label: "a memory request that is not a quantity",
            yaml: file { $0.clusters[0] += "\n    pod: {memory: 512MB}" },
            key: "clusters[0].pod.memory",
            mentions: "512Mi"
        ),
        Case(
            label: "a zero CPU request",
            yaml: file { $0.clusters[0] += "\n    pod: {cpu: 0m}" },
            key: "clusters[0].pod.cpu",
            mentions: "positive"
        ),
        Case(
            label: "a priority out of range",
            yaml: file { $0.clusters[0] += "\n    priority: 7" },
            key: "clusters[0].priority",
            mentions: "critical"
        ),
        Case(
            label: "a trace that is not there",
            yaml: file { $0.clusters[1] = $0.clusters[1].replacingOccurrences(of: "trace.csv", with: "missing.csv") },
            key: "clusters[1].trace.file",
            mentions: "missing.csv"
        ),
        Case(
            label: "a trace scaled by zero",
            yaml: file {
                $0.clusters[0] = $0.clusters[0].replacingOccurrences(
                    of: "{file: trace.csv}",
                    with: "{file: trace.csv, scale: 0}"
                )
            },
            key: "clusters[0].trace.scale",
            mentions: "positive"
        ),
        Case(
            label: "a trace offset in seconds",
            yaml: file {
                $0.clusters[0] = $0.clusters[0].replacingOccurrences(
                    of: "{file: trace.csv}",
                    with: "{file: trace.csv, offset: 30s}"
                )
            },
            key: "clusters[0].trace.offset",
            mentions: "whole number of minutes"
        ),
        Case(
            label: "requests per pod of zero",
            yaml: file { $0.clusters[0] += "\n    requests-per-pod: 0" },
            key: "clusters[0].requests-per-pod",
            mentions: "positive"
        ),
        Case(
            label: "a budget of nothing",
            yaml: file { $0.budget = "budget: {monthly-usd: 0}" },
            key: "budget.monthly-usd",
            mentions: "positive"
        ),
        Case(
            label: "a regional budget for a region with no cluster",
            yaml: file { $0.budget = "budget: {monthly-usd: 10, regions: {ap-south-1: 5}}" },
            key: "budget.regions.ap-south-1",
            mentions: "eu-west-1, us-east-1"
        ),
        Case(
            label: "money spent before that is negative",
            yaml: file { $0.budget = "budget: {monthly-usd: 10, spent-before-usd: -1}" },
            key: "budget.spent-before-usd",
            mentions: "zero or more"
        ),
        Case(
            label: "boot p90 below p50",
            yaml: file { $0.top += "\ncloud: {boot-p50: 2m, boot-p90: 60s}" },
            key: "cloud.boot-p90",
            mentions: "at least boot-p50"
        ),
        Case(
            label: "a rebalance share above 1",
            yaml: file { $0.top += "\ncloud: {rebalance-share: 2}" },
            key: "cloud.rebalance-share",
            mentions: "0 to 1"
        ),
        Case(
            label: "an event after the run",
            yaml: file { $0.events = ["{at: 1d, zone-outage: {zone: us-east-1a, for: 1h}}"] },
            key: "events[0].at",
            mentions: "within the run"
        ),
        Case(
            label: "an event at a second",
            yaml: file { $0.events = ["{at: 90s, zone-outage: {zone: us-east-1a, for: 1h}}"] },
            key: "events[0].at",
            mentions: "whole number of minutes"
        ),
        Case(
            label: "an outage of a zone no cluster runs in",
            yaml: file {
                $0.events = [
                    "{at: 1h, zone-outage: {zone: us-east-1a, for: 1h}}",
                    "{at: 2h, region-outage: {region: eu-west-1, for: 1h}}",
                    "{at: 3h, failback: {from: eu-west-1}}",
                    "{at: 4h, zone-outage: {zone: eu-west-1c, for: 1h}}",
                ]
            },
            key: "events[3].zone-outage.zone",
            mentions: "eu-west-1a, eu-west-1b, us-east-1a"
        ),
        Case(
            label: "an outage of no time",
            yaml: file { $0.events = ["{at: 1h, zone-outage: {zone: us-east-1a, for: 0m}}"] },
            key: "events[0].zone-outage.for",
            mentions: "positive"
        ),
        Case(
            label: "an outage of a region no cluster is in",
            yaml: file { $0.events = ["{at: 1h, region-outage: {region: us-west-2, for: 1h}}"] },
            key: "events[0].region-outage.region",
            mentions: "us-east-1"
        ),
        Case(
            label: "an event with two kinds",
            yaml: file {
                $0.events = [
                    "{at: 1h, zone-outage: {zone: us-east-1a, for: 1h}, region-outage: {region: us-east-1, for: 1h}}"
                ]
            },
            key: "events[0]",
            mentions: "`zone-outage`, `region-outage`"
        ),
        Case(
            label: "an event of no kind",
            yaml: file { $0.events = ["{at: 1h, zone-outtage: {zone: us-east-1a, for: 1h}}"] },
            key: "events[0]",
            mentions: "found `zone-outtage`"
        ),
        Case(
            label: "a price change by nothing",
            yaml: file { $0.events = ["{at: 1h, price-change: {zone: eu-west-1a, factor: 0}}"] },
            key: "events[0].price-change.factor",
            mentions: "positive"
        ),
        Case(
            label: "a price change in a zone outside its region",
            yaml: file { $0.events = ["{at: 1h, price-change: {region: eu-west-1, zone: us-east-1a, factor: 2}}"] },
            key: "events[0].price-change.zone",
            mentions: "eu-west-1"
        ),
        Case(
            label: "a spot storm on a type no cluster there runs",
            yaml: file {
                $0.events = [
                    "{at: 1h, spot-storm: {zone: eu-west-1a, instance-type: m5.large, for: 1h, interruptions-per-instance-hour: 0.5}}"
                ]
            },
            key: "events[0].spot-storm.instance-type",
            mentions: "m6i.large"
        ),
        Case(
            label: "a spot storm without interruptions",
            yaml: file {
                $0.events = ["{at: 1h, spot-storm: {zone: eu-west-1a, for: 1h, interruptions-per-instance-hour: 0}}"]
            },
            key: "events[0].spot-storm.interruptions-per-instance-hour",
            mentions: "positive"
        ),
        Case(
            label: "a capacity shortage in an unknown market",
            yaml: file { $0.events = ["{at: 1h, capacity-shortage: {zone: eu-west-1a, market: reserved, for: 1h}}"] },
            key: "events[0].capacity-shortage.market",
            mentions: "on-demand"
        ),
        Case(
            label: "a budget change without a budget",
            yaml: file {
                $0.budget = ""
                $0.events = ["{at: 1h, budget-change: {monthly-usd: 100}}"]
            },
            key: "events[0].budget-change",
            mentions: "budget"
        ),
        Case(
            label: "a budget change to nothing",
            yaml: file { $0.events = ["{at: 1h, budget-change: {monthly-usd: -5}}"] },
            key: "events[0].budget-change.monthly-usd",
            mentions: "positive"
        ),
        Case(
            label: "a failover to a cluster that does not exist",
            yaml: file { $0.events = ["{at: 1h, failover: {from: us-east-1, to: eu-wbe}}"] },
            key: "events[0].failover.to",
            mentions: "eu-web, us-web"
        ),
        Case(
            label: "a failover into the region failed over",
            yaml: file { $0.events = ["{at: 1h, failover: {from: us-east-1, to: us-web}}"] },
            key: "events[0].failover.to",
            mentions: "outside us-east-1"
        ),
        Case(
            label: "a failback from somewhere unknown",
            yaml: file { $0.events = ["{at: 1h, failback: {from: mars-1}}"] },
            key: "events[0].failback.from",
            mentions: "region or a cluster"
        ),
        Case(
            label: "an unknown top-level key",
            yaml: file { $0.top += "\nsed: 4" },
            key: "sed",
            code: .unknownKey,
            mentions: "seed"
        ),
        Case(
            label: "a misspelt cluster key",
            yaml: file { $0.clusters[1] += "\n    spot-shares: 0.5" },
            key: "clusters[1].spot-shares",
            code: .unknownKey,
            mentions: "did you mean `spot-share`?"
        ),
        Case(
            label: "an unknown key inside an event",
            yaml: file { $0.events = ["{at: 1h, zone-outage: {zone: us-east-1a, for: 1h, until: 3h}}"] },
            key: "events[0].zone-outage.until",
            code: .unknownKey,
            mentions: "known keys here: for, zone"
        ),
        Case(
            label: "a known key written with no value",
            yaml: file { $0.clusters[0] += "\n    zones:" },
            key: "clusters[0].zones",
            mentions: "the key has none"
        ),
        Case(
            label: "an unknown key in the trace",
            yaml: file {
                $0.clusters[0] = $0.clusters[0].replacingOccurrences(
                    of: "{file: trace.csv}",
                    with: "{file: trace.csv, ofset: 1h}"
                )
            },
            key: "clusters[0].trace.ofset",
            code: .unknownKey,
            mentions: "offset"
        ),
    ]

    @Test("each problem is refused with the file, the key and what was expected", arguments: cases)
    func refused(_ testCase: Case) throws {
        try ScenarioScratch.with { scratch in
            let path = try scratch.write(testCase.yaml)
            do throws(ConfigError) {
                let scenario = try Scenario.load(path: path)
                Issue.record("loaded \(scenario.name) from:\n\(testCase.yaml)")
            } catch {
                #expect(error.file == path)
                #expect(error.key == testCase.key, "\(error)")
                #expect(error.code == testCase.code, "\(error)")
                #expect(error.expected.contains(testCase.mentions), "\(error)")
                #expect(error.description.hasPrefix("\(path): \(testCase.key): "))
            }
        }
    }

    @Test("the example every case starts from is valid")
    func baseIsValid() throws {
        try ScenarioScratch.with { scratch in
            let scenario = try scratch.load(ScenarioYAML().text)
            #expect(scenario.clusters.map(\.id) == ["us-web", "eu-web"])
        }
    }

    @Test("a file that is not there, or not YAML, is refused naming the file")
    func unreadable() throws {
        try ScenarioScratch.with { scratch in
            let missing = scratch.directory.appendingPathComponent("nothing.yaml").path
            #expect(throws: ConfigError.self) { try Scenario.load(path: missing) }
            do throws(ConfigError) {
                _ = try Scenario.load(path: missing)
            } catch {
                #expect(error.code == .unreadable && error.file == missing)
            }
            let broken = try scratch.write("name: [unclosed\n", name: "broken.yaml")
            do throws(ConfigError) {
                _ = try Scenario.load(path: broken)
                Issue.record("loaded a broken file")
            } catch {
                #expect(error.code == .malformedYAML && error.file == broken)
            }
        }
    }

    @Test("a trace that is not a minute,requests CSV is refused when its median is needed, naming the line")
    func badTrace() throws {
        try ScenarioScratch.with { scratch in
            try "minute,requests\n0,10\n1,lots\n".write(
                to: scratch.directory.appendingPathComponent("bad.csv"),
                atomically: true,
                encoding: .utf8
            )
            let yaml = """
                name: t
                duration: 1h
                start: 0
                clusters:
                  - {id: a, region: us-east-1, trace: {file: bad.csv}}
                """
            do {
                _ = try scratch.load(yaml)
                Issue.record("loaded a scenario whose trace has a bad line")
            } catch let error as ConfigError {
                #expect(error.key == "clusters[0].trace.file")
                #expect(error.expected.contains("line 3"))
            }
            // With requests-per-pod written, the trace is not read, only checked to be readable.
            let written = try scratch.load(yaml.replacingOccurrences(of: "}}", with: "}, requests-per-pod: 2}"))
            #expect(written.clusters[0].requestsPerPod == 2)
        }
    }
}
