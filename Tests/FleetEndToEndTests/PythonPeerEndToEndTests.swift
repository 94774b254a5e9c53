import BallastTestSupport
import Foundation
import Testing

/// The Python peer written from docs/wire.md alone (Tests/WirePeers/python) against a `coordinator` process: it
/// reports as the agents of two configured clusters and reads the status as an operator, and what it reads is what
/// `coordctl status --json` shows.
extension FleetEndToEndTests {
    static let peerScript = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("WirePeers/python/ballast_peer.py").path

    /// One node of a report as docs/schemas/agent-report.json describes it.
    static func node(
        _ name: String,
        market: String,
        state: String,
        zone: String,
        launchedAt: Int64
    ) -> [String: Any] {
        [
            "name": name, "instanceID": "i-\(name)", "instanceType": "m6i.large", "market": market,
            "availabilityZone": zone, "state": state, "launchedAt": launchedAt,
            "allocatable": ["cpuMillicores": 2000, "memoryBytes": 8_589_934_592],
            "requested": ["cpuMillicores": 1200, "memoryBytes": 4_294_967_296],
            "podCount": 6, "hasDrainBlockingPods": false,
        ]
    }

    /// A report of `cluster` in `region` with `nodes`, `pending` pending pods and `cpu` utilisation, observed now.
    static func report(
        cluster: String,
        region: String,
        nodes: [(market: String, state: String)],
        pending: Int,
        cpu: Double
    ) -> [String: Any] {
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        let zones = ["\(region)a", "\(region)b"]
        return [
            "clusterID": cluster, "region": region, "availabilityZones": zones,
            "nodes": nodes.enumerated().map { index, node in
                Self.node(
                    "\(cluster)-\(index)",
                    market: node.market,
                    state: node.state,
                    zone: zones[index % zones.count],
                    launchedAt: now - 3_600_000
                )
            },
            "pending": [
                "count": pending,
                "totalRequests": ["cpuMillicores": 250 * pending, "memoryBytes": 268_435_456 * pending],
                "largestRequest": [
                    "cpuMillicores": pending > 0 ? 250 : 0, "memoryBytes": pending > 0 ? 268_435_456 : 0,
                ],
            ],
            "utilisation": ["cpu": cpu, "memory": 0.5],
            "notices": [], "launchFailures": [], "observedAt": now, "metricsStale": false, "highestEpochSeen": 0,
        ]
    }

    /// Runs the Python peer and reads the one JSON document it prints.
    static func runPeer(_ arguments: [String]) async throws -> [String: Any] {
        let output = try await runToCompletion("python3", [peerScript] + arguments)
        let object = try JSONSerialization.jsonObject(with: output)
        return try #require(object as? [String: Any], "\(String(decoding: output, as: UTF8.self))")
    }

    @Test("a Python peer reports as two agents and reads the status; its numbers are coordctl status --json's")
    func pythonPeerMatchesCoordCtl() async throws {
        let fleet = try LocalFleet(clusters: [(id: "eu-web", region: "eu-west-1"), (id: "us-api", region: "us-east-1")])
        defer { fleet.stopAllNow() }
        try fleet.startCoordinator("coord-1")
        let port = try #require(fleet.ports["coord-1"])
        // Leading before anything is read, so that the peer and coordctl see the same role and epoch.
        let leads = try await fleet.eventually(timeout: .seconds(30)) {
            try await Self.leader(fleet, asking: "coord-1")?.isLeader == true
        }
        #expect(leads, "\(fleet.logs)")
        guard leads else { return }

        // What each agent reports: active nodes of both markets, and nodes that do not count (draining,
        // terminating); the status counts the active ones.
        struct Expected {
            var region: String
            var onDemand: Int
            var spot: Int
            var pending: Int
            var cpu: Double
        }
        let reports: [(cluster: String, document: [String: Any], expected: Expected)] = [
            (
                "eu-web",
                Self.report(
                    cluster: "eu-web",
                    region: "eu-west-1",
                    nodes: [
                        ("on-demand", "ready"), ("on-demand", "ready"), ("on-demand", "notReady"),
                        ("on-demand", "draining"), ("spot", "ready"), ("spot", "launching"),
                    ],
                    pending: 4,
                    cpu: 0.625
                ),
                Expected(region: "eu-west-1", onDemand: 3, spot: 2, pending: 4, cpu: 0.625)
            ),
            (
                "us-api",
                Self.report(
                    cluster: "us-api",
                    region: "us-east-1",
                    nodes: [
                        ("on-demand", "ready"), ("on-demand", "ready"), ("spot", "ready"), ("spot", "ready"),
                        ("spot", "ready"), ("spot", "terminating"),
                    ],
                    pending: 7,
                    cpu: 0.375
                ),
                Expected(region: "us-east-1", onDemand: 2, spot: 3, pending: 7, cpu: 0.375)
            ),
        ]

        var epoch: UInt64?
        for (cluster, document, _) in reports {
            let file = fleet.directory.appendingPathComponent("\(cluster)-report.json")
            try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]).write(to: file)
            let asAgent = try await Self.runPeer([
                "--port", "\(port)", "--node", cluster, "--role", "agent",
                "--secret-file", fleet.directory.appendingPathComponent("\(cluster).key").path, "report", file.path,
            ])
            #expect(asAgent["coordinator"] as? String == "coord-1", "\(asAgent)")
            let acknowledgement = try #require(
                asAgent["acknowledgement"] as? [String: Any],
                "\(asAgent)\n\(fleet.logs)"
            )
            #expect(acknowledgement["coordinator"] as? String == "coord-1")
            #expect(acknowledgement["isLeader"] as? Bool == true)
            epoch = (acknowledgement["epoch"] as? NSNumber)?.uint64Value
            // An agent may not call an operator's function: the name is unknown to its role.
            let refused = try #require(asAgent["refused"] as? [String: Any], "\(asAgent)")
            #expect(refused["code"] as? String == "wire.unknown-target")
        }

        let asAdmin = try await Self.runPeer([
            "--port", "\(port)", "--node", "ops-1", "--role", "admin",
            "--secret-file", fleet.adminSecretFile.path, "status",
        ])
        let peerStatus = try #require(asAdmin["status"] as? [String: Any], "\(asAdmin)\n\(fleet.logs)")
        let unknown = try #require(asAdmin["unknown"] as? [String: Any], "\(asAdmin)")
        #expect(unknown["code"] as? String == "wire.unknown-target")

        let run = try await fleet.coordctl("coord-1", ["status", "--json"])
        #expect(run.status == 0, "\(run)")
        let parsed = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8))
        let ctlStatus = try #require(parsed as? [String: Any], "\(run)")

        // The replica, its role and its epoch: the same to both, and the acknowledgements'.
        #expect(peerStatus["coordinator"] as? String == "coord-1")
        #expect(ctlStatus["coordinator"] as? String == "coord-1")
        #expect(peerStatus["isLeader"] as? Bool == true)
        #expect(ctlStatus["isLeader"] as? Bool == true)
        let peerEpoch = (peerStatus["epoch"] as? NSNumber)?.uint64Value
        #expect(peerEpoch != nil && peerEpoch == (ctlStatus["epoch"] as? NSNumber)?.uint64Value)
        #expect(peerEpoch == epoch)

        // The same clusters, each with the numbers its agent reported.
        func lines(_ status: [String: Any]) -> [String: [String: Any]] {
            let clusters = status["clusters"] as? [[String: Any]] ?? []
            return Dictionary(clusters.map { ($0["cluster"] as? String ?? "", $0) }, uniquingKeysWith: { $1 })
        }
        let fromPeer = lines(peerStatus)
        let fromCtl = lines(ctlStatus)
        #expect(fromPeer.keys.sorted() == ["eu-web", "us-api"], "\(peerStatus)")
        #expect(fromCtl.keys.sorted() == fromPeer.keys.sorted(), "\(run.stdout)")
        for (cluster, _, expected) in reports {
            let peer = try #require(fromPeer[cluster])
            let ctl = try #require(fromCtl[cluster])
            for key in ["region", "onDemandNodes", "spotNodes", "pendingPods", "cpuUtilisation"] {
                let fromPeer = peer[key].map { String(describing: $0) }
                let fromCtl = ctl[key].map { String(describing: $0) }
                #expect(fromPeer != nil && fromPeer == fromCtl, "\(cluster).\(key): peer \(peer), coordctl \(ctl)")
            }
            #expect(peer["region"] as? String == expected.region)
            #expect(peer["onDemandNodes"] as? Int == expected.onDemand, "\(cluster): \(peer)")
            #expect(peer["spotNodes"] as? Int == expected.spot, "\(cluster): \(peer)")
            #expect(peer["pendingPods"] as? Int == expected.pending, "\(cluster): \(peer)")
            #expect((peer["cpuUtilisation"] as? NSNumber)?.doubleValue == expected.cpu, "\(cluster): \(peer)")
        }
    }
}
