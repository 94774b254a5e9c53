import ArgumentParser
import CoordCtlCommands
import Cost
import FleetAPI
import Testing

@Suite("coordctl status table")
struct StatusTableTests {
    static func status(clusters: [ClusterStatus]) -> FleetStatus {
        FleetStatus(
            coordinator: "coord-1",
            isLeader: true,
            epoch: FencingEpoch(7),
            planGeneration: 42,
            clusters: clusters,
            planReasons: ["budget: 80 % of the month's allowance used"]
        )
    }

    static let web = ClusterStatus(
        cluster: "eu-web",
        region: "eu-west-1",
        reportAgeSeconds: 2.4,
        onDemandNodes: 2,
        spotNodes: 5,
        readyNodes: 6,
        pendingPods: 12,
        cpuUtilisation: 0.81,
        desiredNodes: 9,
        plannedLaunches: 2,
        plannedDrains: 0,
        plannedUSDPerHour: 0.6724,
        planStatus: "met",
        reasons: ["launch 2 m6i.large spot in eu-west-1b: 12 pods pending"]
    )

    @Test("a row per cluster, columns aligned under their headers, the leader and epoch on top")
    func rows() {
        let text = StatusTable.render(Self.status(clusters: [Self.web]), withReasons: false)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0] == "coordinator coord-1 (leader, epoch 7), plan generation 42")
        #expect(lines[1].hasPrefix("CLUSTER"))
        #expect(lines[2].hasPrefix("eu-web "))
        // Every column starts at the same offset in the header and the row.
        let header = lines[1]
        let row = lines[2]
        for (title, cell) in [("SPOT", "5"), ("PENDING", "12"), ("CPU", "81%"), ("USD/H", "0.672"), ("AGE", "2s")] {
            let column = header.range(of: title).map { header.distance(from: header.startIndex, to: $0.lowerBound) }
            let at = column.map { row.dropFirst($0) }
            #expect(at?.hasPrefix(cell) == true, "column \(title)")
        }
        #expect(!text.contains("launch 2"))
    }

    @Test("reasons are listed per cluster and for the fleet when asked")
    func reasons() {
        let text = StatusTable.render(Self.status(clusters: [Self.web]), withReasons: true)
        #expect(text.contains("eu-web:\n  - launch 2 m6i.large spot in eu-west-1b: 12 pods pending"))
        #expect(text.contains("fleet:\n  - budget: 80 % of the month's allowance used"))
    }

    @Test("an empty fleet says so")
    func empty() {
        let text = StatusTable.render(Self.status(clusters: []), withReasons: false)
        #expect(text.contains("(no cluster has reported yet)"))
    }

    @Test("the verbs parse their flags; an unknown verb is refused")
    func parsing() throws {
        let command = try CoordCtl.parseAsRoot(["status", "--json", "--coordinator", "10.0.0.5:7400"])
        #expect(command is Status)
        let policy = try CoordCtl.parseAsRoot([
            "policy", "set", "eu-web", "--scale-down-unneeded", "900", "--failover-target", "us-api",
            "--failover-target", "ap-batch", "--target-utilisation", "0.6",
        ])
        let change = try #require(policy as? Policy.Set).change()
        #expect(change.scaleDownUnneededSeconds == 900 && change.targetUtilisation == 0.6)
        #expect(change.failoverTargets == ["us-api", "ap-batch"])
        #expect(throws: (any Error).self) { try CoordCtl.parseAsRoot(["frobnicate"]) }
    }
}
