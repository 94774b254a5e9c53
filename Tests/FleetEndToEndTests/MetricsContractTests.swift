import BallastTestSupport
import Foundation
import Testing

/// The dashboard and the alert rules against what the programs export: every metric they query that
/// docs/operations.md's contract table assigns to the coordinator is on a running coordinator's /metrics once it
/// has led and planned.
@Suite("metrics the dashboard and alerts use are exported", .serialized)
struct MetricsContractTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Metric name → who exports it (the "from" column: `coordinator`, `coordinator (leader)`, `agent`, `both`).
    static func contract() throws -> [String: String] {
        let text = try String(contentsOf: root.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        var contract: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `ballast_") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 6 else { continue }
            contract[cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = cells[4]
        }
        return contract
    }

    /// Every ballast_* name the dashboard's queries and the alert rules use, histogram series by their base name.
    static func used() throws -> Set<String> {
        var names: Set<String> = []
        for file in ["deploy/grafana/ballast.json", "deploy/prometheus/ballast-alerts.yml"] {
            let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
            names.formUnion(metricNames(in: text))
        }
        return names
    }

    /// The ballast_* names in `text`, `_bucket`, `_sum` and `_count` folded into the histogram's name.
    static func metricNames(in text: String) -> Set<String> {
        let regex = try! NSRegularExpression(pattern: "\\bballast_[a-z_]+")
        let range = NSRange(text.startIndex..., in: text)
        return Set(
            regex.matches(in: text, range: range).compactMap { match in
                Range(match.range, in: text).map { String(text[$0]) }
            }
            .map { name in
                for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                    return String(name.dropLast(suffix.count))
                }
                return name
            }
        )
    }

    /// The names a /metrics page has samples for (comment lines aside).
    static func exported(_ page: String) -> Set<String> {
        metricNames(in: page.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n"))
    }

    /// Coordinator metrics that only get a series once their event happened, which a healthy fleet's first
    /// seconds do not cause; for them the test checks that the coordinator's code declares the name.
    static let afterAnEvent = [
        "ballast_lease_step_downs_total": "Sources/Consensus/LeaseMetrics.swift",  // a leader stepping down
        "ballast_aws_failures_total": "Sources/AWSClients/AWSMetrics.swift",  // an AWS call failing for good
    ]

    @Test("a coordinator that led and planned exports every coordinator metric the dashboard and alerts use")
    func coordinatorExportsWhatIsQueried() async throws {
        let contract = try Self.contract()
        let used = try Self.used()
        #expect(used.count > 10)
        #expect(
            used.subtracting(contract.keys).isEmpty,
            "not in the contract table: \(used.subtracting(contract.keys))"
        )
        let coordinatorSide = used.filter { contract[$0].map { $0.hasPrefix("coordinator") || $0 == "both" } ?? false }
        #expect(coordinatorSide.contains("ballast_commands_total") && coordinatorSide.contains("ballast_lease_leader"))

        let fleet = try LocalFleet(clusters: [(id: "eu-web", region: "eu-west-1")])
        defer { fleet.stopAllNow() }
        try fleet.startCoordinator("coord-1")
        try fleet.startAgent(
            "eu-web",
            trace: FleetEndToEndTests.traces.appendingPathComponent("twitter-per-minute.csv")
        )
        let port = try #require(fleet.metricsPorts["coord-1"])
        var page = ""
        // Led, planned at least once, and answered commands: every series the healthy path makes exists.
        let ready = try await fleet.eventually(timeout: .seconds(60)) {
            page = (try? await httpGet(port: port, "/metrics").body) ?? ""
            let names = Self.exported(page)
            return ["ballast_lease_leader", "ballast_plan_duration_seconds", "ballast_commands_total"].allSatisfy {
                names.contains($0)
            }
        }
        #expect(ready, "\(fleet.logs)")
        let exported = Self.exported(page)
        for name in coordinatorSide.sorted() {
            if let source = Self.afterAnEvent[name] {
                let text = try String(contentsOf: Self.root.appendingPathComponent(source), encoding: .utf8)
                #expect(text.contains("\"\(name)\""), "\(name) is not declared in \(source)")
            } else {
                #expect(exported.contains(name), "\(name) is queried but not on the coordinator's /metrics")
            }
        }
    }

    /// Agent counters that exist only once their event has happened, and the file that declares each.
    static let agentAfterAnEvent: [String: String] = [
        "ballast_launch_failures_total": "Sources/ClusterAgent/AgentMetrics.swift",
        "ballast_interruptions_total": "Sources/ClusterAgent/AgentMetrics.swift",
    ]

    @Test("the agent exports every agent metric the dashboard and alerts use")
    func agentExportsWhatIsQueried() async throws {
        let contract = try Self.contract()
        let agentSide = try Self.used().filter { contract[$0] == "agent" }
        #expect(!agentSide.isEmpty)
        let fleet = try LocalFleet(clusters: [(id: "eu-web", region: "eu-west-1")])
        defer { fleet.stopAllNow() }
        try fleet.startCoordinator("coord-1")
        let metricsPort = try FreePort.next()
        try fleet.startAgent(
            "eu-web",
            trace: FleetEndToEndTests.traces.appendingPathComponent("twitter-per-minute.csv"),
            metricsPort: metricsPort
        )
        var page = ""
        _ = await fleet.eventually(timeout: .seconds(30)) {
            page = (try? await httpGet(port: metricsPort, "/metrics").body) ?? ""
            return page.contains("ballast_nodes") && page.contains("ballast_agent_connected_coordinators")
        }
        let exported = Self.exported(page)
        for name in agentSide.sorted() {
            if let source = Self.agentAfterAnEvent[name] {
                // Counted only when it happens (a refused launch, an interruption): declared, not yet exported.
                let text = try String(contentsOf: Self.root.appendingPathComponent(source), encoding: .utf8)
                #expect(text.contains("\"\(name)\""), "\(name) is not declared in \(source)")
            } else {
                #expect(exported.contains(name), "\(name) is queried but not on the agent's /metrics\n\(page)")
            }
        }
    }
}
