import BallastConfig
import Coordinator
import Cost
import Foundation
import Testing

@Suite("coordinator configuration")
struct CoordinatorConfigurationTests {
    static let examples = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy/examples")

    @Test("the shipped example loads, with its overrides and defaults")
    func example() throws {
        let config = try ConfigLoader.load(
            CoordinatorConfiguration.self,
            from: Self.examples.appendingPathComponent("coordinator.yaml").path
        )
        #expect(config.nodeID == "coord-1")
        #expect(config.clusters.map(\.id) == ["eu-web", "us-api"])
        #expect(config.clusters[0].policy.maxNodes == 60)
        #expect(config.clusters[0].policy.allowedInstanceTypes.count == 4)
        #expect(config.clusters[1].secret == .environment("BALLAST_SECRET_US_API"))
        #expect(config.planInterval.duration == .seconds(5))
        #expect(config.budget?.regions?["eu-west-1"] == 9000)
        #expect(config.spotPrices == .none)
    }

    @Test(
        "bad values are refused naming the key",
        arguments: [
            ("node-id: c\nclusters: []\n", "clusters"),
            (
                "node-id: c\nclusters: [{id: a, region: r, secret: {env: X}}, {id: a, region: r, secret: {env: Y}}]\n",
                "clusters.1.id"
            ),
            ("node-id: c\nclusters: [{id: a, region: r, secret: {env: X}, max-nodes: 0}]\n", "clusters.0.max-nodes"),
            (
                "node-id: c\nclusters: [{id: a, region: r, secret: {env: X}, target-spot-share: 1.5}]\n",
                "clusters.0.target-spot-share"
            ),
            ("node-id: c\nclusters: [{id: a, region: r, secret: {env: X}}]\nplan-interval: 1m\n", "cluster-lost-after"),
            (
                "node-id: c\nclusters: [{id: a, region: r, secret: {env: X}}]\nbudget: {monthly-usd: 0}\n",
                "budget.monthly-usd"
            ),
            ("node-id: c\nclusters: [{id: a, region: r, secret: {env: X}, min-node: 2}]\n", "clusters.0.min-node"),
            ("node-id: c\nclusters: [{id: a, region: r, secret: {env: X}}]\nspot-prices: ec3\n", "spot-prices"),
            (
                "node-id: c\nclusters: [{id: a, region: r, secret: {env: X}}]\nbudget: {monthly-usd: 10, regions: {r: -1}}\n",
                "budget.regions.r"
            ),
            (
                "node-id: c\nclusters: [{id: a, region: r, secret: {env: X}}]\nbudget: {monthly-usd: 10, regions: {q: 5}}\n",
                "budget.regions.q"
            ),
            ("node-id: c\nclusters: [{id: a, region: r, secret: {env: X}, min-nodes: -1}]\n", "clusters.0.min-nodes"),
            (
                "node-id: c\nclusters: [{id: a, region: r, secret: {env: X}, on-demand-base: -2}]\n",
                "clusters.0.on-demand-base"
            ),
        ]
    )
    func refused(yaml: String, key: String) throws {
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader.decode(CoordinatorConfiguration.self, yaml: yaml, file: "coordinator.yaml")
        }
        #expect(error?.key == key)
    }

    @Test(
        "the account-wide interruption queues are refused naming the key",
        arguments: [
            ("interruptions: {queues: {}}\n", "interruptions.queues"),
            (
                "interruptions: {queues: {us-east-1: https://sqs.us-east-1.amazonaws.com/1/q}}\n",
                "interruptions.queues.us-east-1"
            ),
            ("interruptions: {queues: {r: sqs.r.amazonaws.com/1/q}}\n", "interruptions.queues.r"),
            ("interruptions: {queues: {r: https://sqs.r.amazonaws.com/q}}\n", "interruptions.queues.r"),
            (
                "interruptions: {queues: {r: https://sqs.r.amazonaws.com/1/q}, wait-time: 30s}\n",
                "interruptions.wait-time"
            ),
            (
                "interruptions: {queues: {r: https://sqs.r.amazonaws.com/1/q}, endpoint: localhost}\n",
                "interruptions.endpoint"
            ),
            // A misspelt `queues` leaves the required one missing: that is the key named.
            ("interruptions: {queue: {r: https://sqs.r.amazonaws.com/1/q}}\n", "interruptions.queues"),
        ]
    )
    func interruptionsRefused(yaml: String, key: String) throws {
        let base = "node-id: c\nclusters: [{id: a, region: r, secret: {env: X}}]\n"
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader.decode(CoordinatorConfiguration.self, yaml: base + yaml, file: "coordinator.yaml")
        }
        #expect(error?.key == key)
    }

    @Test("the account-wide interruption queues load with their defaults, and none is the default")
    func interruptionsLoad() throws {
        let base = "node-id: c\nclusters: [{id: a, region: eu-west-1, secret: {env: X}}]\n"
        let none = try ConfigLoader.decode(CoordinatorConfiguration.self, yaml: base, file: "c")
        #expect(none.interruptions == nil)
        let config = try ConfigLoader.decode(
            CoordinatorConfiguration.self,
            yaml: base
                + "interruptions:\n  queues:\n    eu-west-1: https://sqs.eu-west-1.amazonaws.com/123456789012/prod-coordinator-events\n"
                + "  visibility-timeout: 1m\n",
            file: "c"
        )
        let interruptions = try #require(config.interruptions)
        #expect(
            interruptions.queues == [
                "eu-west-1": "https://sqs.eu-west-1.amazonaws.com/123456789012/prod-coordinator-events"
            ]
        )
        #expect(interruptions.visibilityTimeout?.duration == .seconds(60))
        #expect(interruptions.waitTime == nil)
    }

    @Test("a budget is checked by the planner's own rule: the fleet's positive, a region's zero or more")
    func oneBudgetRule() throws {
        let base = "node-id: c\nclusters: [{id: a, region: r, secret: {env: X}}]\n"
        let closed = try ConfigLoader.decode(
            CoordinatorConfiguration.self,
            yaml: base + "budget: {monthly-usd: 100, regions: {r: 0}}\n",
            file: "coordinator.yaml"
        )
        #expect(closed.fleetBudget == FleetBudget(monthlyUSD: 100, regionalMonthlyUSD: ["r": 0]))
        #expect(throws: CostError.self) { try FleetBudget(monthlyUSD: 0).validate() }
        #expect(throws: ConfigError.self) {
            try ConfigLoader.decode(CoordinatorConfiguration.self, yaml: base + "budget: {monthly-usd: 0}\n", file: "c")
        }
    }

    @Test(
        "the example maps to the actor's settings: every cluster's region and policy, the budget, the planner's timings"
    )
    func settingsFromExample() throws {
        let config = try ConfigLoader.load(
            CoordinatorConfiguration.self,
            from: Self.examples.appendingPathComponent("coordinator.yaml").path
        )
        let settings = config.actorSettings(catalog: try PriceCatalog.bundled())
        #expect(Set(settings.clusters.keys) == ["eu-web", "us-api"])
        #expect(settings.clusters["eu-web"]?.region == "eu-west-1")
        #expect(settings.clusters["eu-web"]?.policy == config.clusters[0].policy)
        #expect(settings.budget == config.fleetBudget)
        #expect(settings.planner.clusterLostAfter == config.clusterLostAfter.duration)
    }

    @Test("a secret that cannot be read is reported at start under its key, without the secret")
    func unreadableSecret() throws {
        let config = try ConfigLoader.decode(
            CoordinatorConfiguration.self,
            yaml: "node-id: c\nclusters: [{id: a, region: r, secret: {file: /nonexistent/ballast.key}}]\n",
            file: "coordinator.yaml"
        )
        let error = #expect(throws: ConfigValidationError.self) { try config.wireSecrets() }
        #expect(error?.key == "clusters.0.secret")
        #expect(error?.expected.contains("/nonexistent/ballast.key") == true)
    }

    @Test("docs/install.md's lease section, in place of the example's, loads as the DynamoDB lease it describes")
    func installGuideLease() throws {
        let root = Self.examples.deletingLastPathComponent().deletingLastPathComponent()
        let guide = try String(contentsOf: root.appendingPathComponent("docs/install.md"), encoding: .utf8)
        let snippets = guide.components(separatedBy: "```yaml\n").dropFirst()
            .compactMap { $0.components(separatedBy: "```").first }
        let lease = try #require(snippets.first { $0.hasPrefix("lease:") })
        // The example with its `lease:` block (the key and its indented lines) replaced by the guide's.
        let example = try String(contentsOf: Self.examples.appendingPathComponent("coordinator.yaml"), encoding: .utf8)
        var lines: [String] = []
        var inLease = false
        for line in example.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("lease:") {
                inLease = true
                continue
            }
            if inLease, line.hasPrefix(" ") || line.isEmpty { continue }
            inLease = false
            lines.append(String(line))
        }
        #expect(lines.count < example.split(separator: "\n", omittingEmptySubsequences: false).count)
        let config = try ConfigLoader.decode(
            CoordinatorConfiguration.self,
            yaml: lines.joined(separator: "\n") + "\n" + lease,
            file: "install.md"
        )
        #expect(config.lease.store == .dynamodb)
        #expect(config.lease.table == "prod-lease")
        #expect(config.lease.region == "eu-west-1")
        #expect(config.lease.fleet == "prod")
        #expect(config.lease.endpoint == nil)
    }

    @Test("every policy knob the planner has is settable per cluster in the file")
    func everyKnob() throws {
        let yaml = """
            node-id: c
            clusters:
              - {id: b, region: r, secret: {env: Y}}
              - id: a
                region: r
                secret: {env: X}
                target-utilisation: 0.6
                zones: [r1a, r1b]
                priority: critical
                weight: 3
                failover-targets: [b]
                warm-headroom-share: 0.2
                disruption-budget: 0.25
                min-consolidation-saving: 0.05
                max-evictions-per-hour: 40
                scale-down-unneeded: 15m
                scale-down-delay-after-add: 20m
                paused: true

            """
        let config = try ConfigLoader.decode(CoordinatorConfiguration.self, yaml: yaml, file: "coordinator.yaml")
        let policy = config.clusters[1].policy
        #expect(policy.targetUtilisation == 0.6 && policy.allowedZones == ["r1a", "r1b"])
        #expect(policy.priorityClass == .critical && policy.weight == 3 && policy.failoverTargets == ["b"])
        #expect(policy.warmHeadroom == .shareOfDemand(0.2) && policy.disruptionBudget == 0.25)
        #expect(policy.minConsolidationSaving == 0.05 && policy.maxEvictionsPerHour == 40)
        #expect(policy.scaleDownUnneeded == .seconds(900) && policy.scaleDownDelayAfterAdd == .seconds(1200))
        #expect(policy.paused)
    }
}
