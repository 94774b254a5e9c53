import BallastTestSupport
import Foundation
import Testing

/// The fleet as a user runs it: coordinator replicas, agents and coordctl as separate processes over real loopback
/// TCP, the replicas electing a leader through one SQLite lease.
@Suite("fleet end to end", .serialized)
struct FleetEndToEndTests {
    static let traces = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/traces")

    struct LeaderInfo: Decodable {
        var coordinator: String
        var isLeader: Bool
        var epoch: UInt64
        var holder: String?
        var address: String?
    }

    static func leader(_ fleet: LocalFleet, asking node: String) async throws -> LeaderInfo? {
        let run = try await fleet.coordctl(node, ["leader", "--json"])
        guard run.status == 0 else { return nil }
        return try? JSONDecoder().decode(LeaderInfo.self, from: Data(run.stdout.utf8))
    }

    @Test("two replicas elect one leader; coordctl follows it; a budget change survives kill -9 of the leader")
    func electionBudgetAndTakeover() async throws {
        let fleet = try LocalFleet(clusters: [(id: "eu-web", region: "eu-west-1"), (id: "us-api", region: "us-east-1")])
        defer { fleet.stopAllNow() }
        try fleet.startCoordinator("coord-1")
        try fleet.startCoordinator("coord-2")
        try fleet.startAgent("eu-web", trace: Self.traces.appendingPathComponent("twitter-per-minute.csv"))
        try fleet.startAgent("us-api", trace: Self.traces.appendingPathComponent("nasa-per-minute.csv"))

        var leaderNode = ""
        let elected = try await fleet.eventually(timeout: .seconds(30)) {
            for node in ["coord-1", "coord-2"] {
                if let info = try await Self.leader(fleet, asking: node), info.isLeader {
                    leaderNode = node
                    return true
                }
            }
            return false
        }
        #expect(elected, "no leader elected\n\(fleet.logs)")
        guard elected else { return }
        let follower = leaderNode == "coord-1" ? "coord-2" : "coord-1"
        let fromFollower = try #require(try await Self.leader(fleet, asking: follower))
        #expect(!fromFollower.isLeader)
        #expect(fromFollower.address == "127.0.0.1:\(fleet.ports[leaderNode] ?? 0)")

        // Both replicas hear every agent (hot standby).
        let warm = await fleet.eventually(timeout: .seconds(30)) {
            let run = try? await fleet.coordctl(follower, ["status"])
            return run.map { $0.status == 0 && $0.stdout.contains("eu-web") && $0.stdout.contains("us-api") } ?? false
        }
        #expect(warm, "the follower has not heard both agents\n\(fleet.logs)")

        // Operations: the leader is ready, the follower too once it has every cluster's report; the leader's
        // /metrics carries the lease and the plan.
        let leaderMetrics = try #require(fleet.metricsPorts[leaderNode])
        #expect(try await httpGet(port: leaderMetrics, "/readyz").status == 200)
        let followerReady = try await fleet.eventually(timeout: .seconds(10)) {
            try await httpGet(port: fleet.metricsPorts[follower] ?? 0, "/readyz").status == 200
        }
        #expect(followerReady)
        let planned = try await fleet.eventually(timeout: .seconds(10)) {
            let body = try await httpGet(port: leaderMetrics, "/metrics").body
            return body.contains("ballast_lease_leader") && body.contains("ballast_desired_nodes")
                && body.contains("ballast_spend_month_to_date_usd") && body.contains("ballast_connected_agents 2")
        }
        let exported = try await httpGet(port: leaderMetrics, "/metrics").body
        #expect(planned, "\(exported)")

        // A budget below what the month has already cost is refused, saying so (the agents' nodes accrue spend).
        let belowSpend = try await fleet.coordctl(leaderNode, ["budget", "set", "0.00001"])
        #expect(belowSpend.status == 65, "\(belowSpend)")
        #expect(belowSpend.stderr.contains("below this month's spend so far"), "\(belowSpend)")

        // A change sent to the follower reaches the leader (coordctl follows the redirect once).
        let set = try await fleet.coordctl(follower, ["budget", "set", "777", "--region", "eu-west-1=300"])
        #expect(set.status == 0, "\(set)")
        #expect(set.stdout.contains("777.00"))
        let read = try await fleet.coordctl(leaderNode, ["budget", "get"])
        #expect(read.stdout.contains("777.00") && read.stdout.contains("eu-west-1: 300.00"), "\(read)")

        // kill -9 the leader: the other replica leads within the lease duration and a poll (2 s + 0.1 s; the
        // bound allows for a loaded machine), under a higher epoch, with the budget the deposed leader stored.
        let before = try #require(try await Self.leader(fleet, asking: follower)).epoch
        fleet.coordinators[leaderNode]?.send(SIGKILL)
        let killedAt = ContinuousClock.now
        var takeover: Duration = .zero
        let tookOver = try await fleet.eventually(timeout: .seconds(20)) {
            guard let info = try await Self.leader(fleet, asking: follower), info.isLeader else { return false }
            takeover = ContinuousClock.now - killedAt
            return info.epoch > before
        }
        #expect(tookOver, "no takeover\n\(fleet.logs)")
        #expect(takeover < .seconds(6), "takeover took \(takeover)")
        let survived = try await fleet.coordctl(follower, ["budget", "get"])
        #expect(survived.stdout.contains("777.00"), "\(survived)\n\(fleet.logs)")
        let events = try await fleet.coordctl(follower, ["events"])
        #expect(events.stdout.contains("budget: monthly budget set to $777.00"), "\(events)")
        #expect(events.stdout.contains("leader: \(follower) leads under epoch"), "\(events)")
    }

    @Test("coordctl's errors say what to do and end with the documented exit codes")
    func coordctlErrors() async throws {
        let fleet = try LocalFleet(clusters: [(id: "eu-web", region: "eu-west-1")])
        defer { fleet.stopAllNow() }
        try fleet.startCoordinator("coord-1")
        let up = try await fleet.eventually(timeout: .seconds(30)) {
            try await Self.leader(fleet, asking: "coord-1")?.isLeader == true
        }
        #expect(up, "\(fleet.logs)")

        let wrongSecret = fleet.directory.appendingPathComponent("wrong.key")
        try LocalFleet.secret().write(to: wrongSecret)
        let unauthorized = try await runCoordCtl([
            "status", "--coordinator", "127.0.0.1:\(fleet.ports["coord-1"] ?? 0)", "--admin-secret-file",
            wrongSecret.path,
        ])
        #expect(unauthorized.status == 77, "\(unauthorized)")
        #expect(unauthorized.stderr.contains("refused the admin secret"))

        let nobody = try await runCoordCtl([
            "status", "--coordinator", "127.0.0.1:\(try FreePort.next())", "--admin-secret-file",
            fleet.adminSecretFile.path, "--timeout", "1",
        ])
        #expect(nobody.status == 69, "\(nobody)")

        let unknown = try await fleet.coordctl("coord-1", ["policy", "get", "nowhere"])
        #expect(unknown.status == 65, "\(unknown)")
        #expect(unknown.stderr.contains("not managed by this fleet"))

        let zero = try await fleet.coordctl("coord-1", ["budget", "set", "0"])
        #expect(zero.status == 65, "\(zero)")
        #expect(zero.stderr.contains("positive"))

        let usage = try await fleet.coordctl("coord-1", ["budget", "set"])
        #expect(usage.status == 64, "\(usage)")

        let noSecret = try await runCoordCtl(["status", "--admin-secret-file", "/nonexistent/admin.key"])
        #expect(noSecret.status == 78, "\(noSecret)")
    }
}

/// The fencing promises with real processes: a leader stopped and resumed after a takeover sends nothing an agent
/// executes, and no launch token is ever executed twice.
@Suite("fleet end to end: fencing", .serialized)
struct FencingEndToEndTests {
    /// logfmt `key=value` pairs of one log line.
    static func fields(_ line: Substring) -> [String: String] {
        var fields: [String: String] = [:]
        for word in line.split(separator: " ") {
            guard let equals = word.firstIndex(of: "=") else { continue }
            fields[String(word[..<equals])] = String(word[word.index(after: equals)...])
        }
        return fields
    }

    @Test("a leader stopped past its lease and resumed sends nothing agents execute; no launch runs twice")
    func stoppedLeader() async throws {
        let fleet = try LocalFleet(clusters: [(id: "eu-web", region: "eu-west-1"), (id: "us-api", region: "us-east-1")])
        defer { fleet.stopAllNow() }
        try fleet.startCoordinator("coord-1", budget: 50_000)
        try fleet.startCoordinator("coord-2", budget: 50_000)
        try fleet.startAgent(
            "eu-web",
            trace: FleetEndToEndTests.traces.appendingPathComponent("twitter-per-minute.csv")
        )
        try fleet.startAgent("us-api", trace: FleetEndToEndTests.traces.appendingPathComponent("nasa-per-minute.csv"))

        var leader = ""
        var firstEpoch: UInt64 = 0
        let elected = try await fleet.eventually(timeout: .seconds(30)) {
            for node in ["coord-1", "coord-2"] {
                if let info = try await FleetEndToEndTests.leader(fleet, asking: node), info.isLeader {
                    (leader, firstEpoch) = (node, info.epoch)
                    return true
                }
            }
            return false
        }
        #expect(elected, "\(fleet.logs)")
        guard elected else { return }
        let standby = leader == "coord-1" ? "coord-2" : "coord-1"
        // Raise the floors so the leader must launch (the agents' simulated clusters start with 3 workers).
        for cluster in ["eu-web", "us-api"] {
            let raised = try await fleet.coordctl(standby, ["policy", "set", cluster, "--min-nodes", "6"])
            #expect(raised.status == 0, "\(raised)")
        }
        let launched = await fleet.eventually(timeout: .seconds(30)) {
            fleet.agents.values.contains { $0.output.contains("msg=launched") }
        }
        #expect(launched, "the leader launched nothing\n\(fleet.logs)")

        // SIGSTOP the leader for twice the lease (2 s): the standby takes over under a higher epoch.
        fleet.coordinators[leader]?.send(SIGSTOP)
        let tookOver = try await fleet.eventually(timeout: .seconds(15)) {
            guard let info = try await FleetEndToEndTests.leader(fleet, asking: standby) else { return false }
            return info.isLeader && info.epoch > firstEpoch
        }
        #expect(tookOver, "\(fleet.logs)")
        try await Task.sleep(for: .seconds(4))
        fleet.coordinators[leader]?.send(SIGCONT)
        // Let the resumed replica run a few rounds and the agents report to both.
        try await Task.sleep(for: .seconds(5))
        #expect(try await FleetEndToEndTests.leader(fleet, asking: leader)?.isLeader == false)

        for (cluster, agent) in fleet.agents {
            var newest: UInt64 = 0
            var tokens: [String: Int] = [:]
            for line in agent.output.split(separator: "\n") {
                let fields = Self.fields(line)
                let epoch = fields["ballast.epoch"].flatMap(UInt64.init) ?? 0
                if line.contains("msg=\"new fencing epoch\"") { newest = max(newest, epoch) }
                if line.contains("msg=launched") {
                    // Nothing is executed under an epoch lower than one the agent has already seen.
                    #expect(epoch >= newest, "\(cluster) launched under epoch \(epoch) after seeing \(newest): \(line)")
                    if let token = fields["token"] { tokens[token, default: 0] += 1 }
                }
            }
            #expect(tokens.values.allSatisfy { $0 == 1 }, "\(cluster) launched a token twice: \(tokens)")
        }
        // The resumed replica knows it lost the lease: it says so, and no command of its is accepted after that.
        let resumed = fleet.coordinators[leader]?.output ?? ""
        let lines = resumed.split(separator: "\n")
        let stopped = lines.lastIndex { $0.contains("stopped leading") || $0.contains("stepping down") }
        #expect(stopped != nil, "\(resumed.suffix(3000))")
        if let stopped {
            #expect(!lines[stopped...].contains { $0.contains("command accepted") }, "\(resumed.suffix(3000))")
        }
    }
}

/// The same fleet with its lease and durable state in DynamoDB (moto, signatures checked), as production runs it.
@Suite("fleet end to end on DynamoDB", .moto, .serialized)
struct DynamoDBFleetEndToEndTests {
    /// The epoch of every launch an agent's log says it executed.
    static func launchEpochs(_ agent: FleetProcess) -> [UInt64] {
        agent.output.split(separator: "\n").filter { $0.contains("msg=launched") }
            .map { FencingEndToEndTests.fields($0)["ballast.epoch"].flatMap(UInt64.init) ?? 0 }
    }

    @Test("on DynamoDB: one replica leads, a budget change lands, kill -9 hands over in time, no launch runs twice")
    func dynamoDBTakeover() async throws {
        let store = try await FleetLeaseStore.dynamoDB(on: try MotoServer.current)
        let fleet = try LocalFleet(
            clusters: [(id: "eu-web", region: "eu-west-1"), (id: "us-api", region: "us-east-1")],
            leaseStore: store
        )
        defer { fleet.stopAllNow() }
        try fleet.startCoordinator("coord-1", budget: 50_000)
        try fleet.startCoordinator("coord-2", budget: 50_000)
        let traces = FleetEndToEndTests.traces
        try fleet.startAgent("eu-web", trace: traces.appendingPathComponent("twitter-per-minute.csv"))
        try fleet.startAgent("us-api", trace: traces.appendingPathComponent("nasa-per-minute.csv"))

        var (leader, epoch): (String, UInt64) = ("", 0)
        let elected = try await fleet.eventually(timeout: .seconds(30)) {
            for node in ["coord-1", "coord-2"] {
                if let info = try await FleetEndToEndTests.leader(fleet, asking: node), info.isLeader {
                    (leader, epoch) = (node, info.epoch)
                    return true
                }
            }
            return false
        }
        #expect(elected, "no leader elected\n\(fleet.logs)")
        guard elected else { return }
        let standby = leader == "coord-1" ? "coord-2" : "coord-1"
        #expect(try await FleetEndToEndTests.leader(fleet, asking: standby)?.isLeader == false)

        // A budget change sent to the standby lands in the leader's state in DynamoDB; raised floors make it launch.
        let set = try await fleet.coordctl(standby, ["budget", "set", "44444"])
        #expect(set.status == 0, "\(set)")
        #expect(try await fleet.coordctl(leader, ["budget", "get"]).stdout.contains("44444.00"))
        for cluster in ["eu-web", "us-api"] {
            let raised = try await fleet.coordctl(standby, ["policy", "set", cluster, "--min-nodes", "6"])
            #expect(raised.status == 0, "\(raised)")
        }
        let launched = await fleet.eventually(timeout: .seconds(30)) {
            fleet.agents.values.contains { $0.output.contains("msg=launched") }
        }
        #expect(launched, "the leader launched nothing\n\(fleet.logs)")

        // kill -9: the standby leads within the lease duration and a poll (3 s + 0.1 s; the bound allows for a
        // loaded machine and moto's latency), under a higher epoch, with the stored budget.
        fleet.coordinators[leader]?.send(SIGKILL)
        let killedAt = ContinuousClock.now
        var takeover: Duration = .zero
        let tookOver = try await fleet.eventually(timeout: .seconds(20)) {
            guard let info = try await FleetEndToEndTests.leader(fleet, asking: standby), info.isLeader else {
                return false
            }
            takeover = ContinuousClock.now - killedAt
            return info.epoch > epoch
        }
        #expect(tookOver, "no takeover\n\(fleet.logs)")
        #expect(takeover < .seconds(7), "takeover took \(takeover)")
        let survived = try await fleet.coordctl(standby, ["budget", "get"])
        #expect(survived.stdout.contains("44444.00"), "\(survived)\n\(fleet.logs)")

        // The new leader launches too (higher floors); every agent executed each launch token once.
        for cluster in ["eu-web", "us-api"] {
            let raised = try await fleet.coordctl(standby, ["policy", "set", cluster, "--min-nodes", "9"])
            #expect(raised.status == 0, "\(raised)")
        }
        let relaunched = await fleet.eventually(timeout: .seconds(30)) {
            fleet.agents.values.contains { Self.launchEpochs($0).contains { $0 > epoch } }
        }
        #expect(relaunched, "the new leader launched nothing\n\(fleet.logs)")
        // Its lease and fenced state writes went to DynamoDB, signed calls moto accepted.
        let exported = try await httpGet(port: fleet.metricsPorts[standby] ?? 0, "/metrics").body
        for operation in ["GetItem", "PutItem", "TransactWriteItems"] {
            let accepted = exported.split(separator: "\n").contains {
                $0.hasPrefix("ballast_aws_attempts_total{") && $0.contains("service=\"dynamodb\"")
                    && $0.contains("operation=\"\(operation)\"") && $0.contains("outcome=\"ok\"")
            }
            #expect(accepted, "no \(operation) accepted\n\(exported)")
        }
        for (cluster, agent) in fleet.agents {
            var tokens: [String: Int] = [:]
            for line in agent.output.split(separator: "\n") where line.contains("msg=launched") {
                if let token = FencingEndToEndTests.fields(line)["token"] { tokens[token, default: 0] += 1 }
            }
            #expect(tokens.values.allSatisfy { $0 == 1 }, "\(cluster) launched a token twice: \(tokens)")
        }
    }
}
