import ClusterAgent
import Cost
import FleetAPI
import Foundation
import Scenarios
import Simulation
import SimulationReport
import Testing

/// The simulator's scenarios, short, with Ballast (the real coordinator and agents) facing each, and assertions on
/// what it must do: restore capacity after a zone outage, move spot capacity out of a storming pool, bring spend
/// under a cut budget while floors hold, and never act on a cluster that went silent.
@Suite("scenario outcomes")
struct ScenarioOutcomeTests {
    /// A trace with the same requests every minute, so what changes is only what the scenario does.
    static func steadyTrace(_ requestsPerMinute: Int) throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("ballast-steady-\(requestsPerMinute)-\(getpid()).csv").path
        var text = "minute,requests\n"
        for minute in 0..<2_880 { text += "\(minute),\(requestsPerMinute)\n" }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func cluster(
        _ id: ClusterID,
        region: String = "us-east-1",
        trace: String,
        instanceTypes: [String] = ["m6i.large"],
        initialNodes: Int = 8,
        failoverTargets: [ClusterID] = []
    ) -> ScenarioCluster {
        ScenarioCluster(
            id: id,
            region: region,
            zones: ["a", "b", "c"].map { region + $0 },
            trace: ScenarioTrace(path: trace),
            requestsPerPod: 10,
            instanceTypes: instanceTypes,
            initialNodes: initialNodes,
            minNodes: 2,
            maxNodes: 40,
            failoverTargets: failoverTargets
        )
    }

    static func run(
        minutes: Int,
        clusters: [ScenarioCluster],
        events: [ScenarioEvent],
        budget: ScenarioBudget? = nil,
        interruptions: Double = 0
    ) async throws -> (outcome: FleetSimulator.Outcome, policy: BallastPolicy) {
        let scenario = Scenario(
            name: "outcome",
            description: "",
            durationMinutes: minutes,
            seed: 11,
            start: 1_782_864_000,  // 2026-07-01 00:00 UTC: the month has only begun.
            budget: budget,
            cloud: ScenarioCloud(interruptionsPerInstanceHour: interruptions),
            clusters: clusters,
            events: events
        )
        let simulator = FleetSimulator(
            scenario: scenario,
            catalog: try PriceCatalog.bundled(),
            options: .init(policies: [], sampleMinutes: 1)
        )
        let policy = BallastPolicy()
        return (try await simulator.run(policy: policy), policy)
    }

    static func minute(_ time: Timestamp) -> Int {
        Int((time.millisecondsSinceEpoch / 1_000 - 1_782_864_000) / 60)
    }

    @Test("a zone outage: capacity comes back in the other zones within two plan cycles plus boot time")
    func zoneOutage() async throws {
        let trace = try Self.steadyTrace(420)  // 42 pods of 250m: six nodes' worth
        let (outcome, _) = try await Self.run(
            minutes: 90,
            clusters: [Self.cluster("us-web", trace: trace)],
            events: [ScenarioEvent(at: 30, kind: .zoneOutage(zone: "us-east-1a", minutes: 45))]
        )
        let fleet = outcome.result.fleet
        #expect(fleet[29].pendingPods == 0, "steady before the outage")
        #expect(fleet[31].pendingPods > 0, "the outage takes a third of the nodes and their pods")
        // Two 30 s plan cycles, a boot (p90 150 s, a long tail), the node's readiness: pods run again by minute 36.
        for sample in fleet[36..<75] { #expect(sample.pendingPods == 0, "minute \(sample.minute)") }
        let launches = outcome.world.clusters[0].cloud.launchLog
        let start = launches.first { $0.at.offset >= .seconds(30 * 60) }
        #expect(start.map { $0.at.offset <= .seconds(31 * 60) } == true, "the first launch within two plan cycles")
        #expect(
            !launches.contains {
                $0.pool.availabilityZone == "us-east-1a" && $0.at.offset >= .seconds(30 * 60)
                    && $0.at.offset < .seconds(75 * 60)
            },
            "nothing launched into the zone that is out"
        )
    }

    @Test("a spot storm: after its first interruption no new spot capacity goes into the storming pool")
    func spotStorm() async throws {
        let trace = try Self.steadyTrace(420)
        let (outcome, policy) = try await Self.run(
            minutes: 90,
            clusters: [Self.cluster("us-web", trace: trace, instanceTypes: ["m6i.large", "m5.large"])],
            events: [
                ScenarioEvent(
                    at: 10,
                    kind: .spotStorm(
                        zone: "us-east-1a",
                        instanceType: "m6i.large",
                        minutes: 70,
                        interruptionsPerInstanceHour: 20
                    )
                )
            ]
        )
        let notices = policy.finalJournal.filter {
            $0.kind == "interruption" && $0.message.contains("m6i.large in us-east-1a")
        }
        let first = try #require(notices.first, "the storm interrupts")
        // One plan cycle to hear of it.
        let after = Duration.seconds((Self.minute(first.time) + 1) * 60)
        let launches = outcome.world.clusters[0].cloud.launchLog.filter {
            $0.at.offset >= after && $0.at.offset < .seconds(80 * 60)
        }
        #expect(!launches.isEmpty, "lost capacity is replaced")
        #expect(
            !launches.contains {
                $0.pool.market == .spot && $0.pool.instanceType == "m6i.large"
                    && $0.pool.availabilityZone == "us-east-1a"
            },
            "\(launches.map { "\($0.pool)" })"
        )
    }

    @Test("a budget cut: within an hour spend runs at a rate the new budget allows, and the floors hold")
    func budgetCut() async throws {
        let trace = try Self.steadyTrace(420)
        let (outcome, _) = try await Self.run(
            minutes: 120,
            clusters: [Self.cluster("us-web", trace: trace)],
            events: [ScenarioEvent(at: 30, kind: .budgetChange(region: nil, monthlyUSD: 250))],
            budget: ScenarioBudget(monthlyUSD: 10_000)
        )
        let fleet = outcome.result.fleet
        let hoursInJuly = 31.0 * 24
        func monthlyRate(at minute: Int) -> Double {
            (fleet[minute].spendUSD - fleet[minute - 10].spendUSD) * 6 * hoursInJuly
        }
        #expect(monthlyRate(at: 29) > 250, "the fleet runs above the coming budget before the cut")
        #expect(monthlyRate(at: 90) <= 250 * 1.02, "projected \(monthlyRate(at: 90)) a month")
        #expect(fleet.allSatisfy { $0.onDemandNodes + $0.spotNodes >= 2 }, "never under the floor")
    }

    @Test("a month partly spent before the run: the leader's ledger starts from it, and says so at once")
    func spentBefore() async throws {
        let trace = try Self.steadyTrace(420)
        let (_, policy) = try await Self.run(
            minutes: 10,
            clusters: [Self.cluster("us-web", trace: trace)],
            events: [],
            budget: ScenarioBudget(monthlyUSD: 1_000, spentBeforeUSD: 850)
        )
        let alerts = policy.finalJournal.filter { $0.kind == "budget-alert" }
        #expect(alerts.contains { $0.message.contains("spent") && $0.message.contains("reached 80 %") }, "\(alerts)")
        #expect(!alerts.contains { $0.message.contains("spent") && $0.message.contains("reached 100 %") }, "\(alerts)")
    }

    @Test("a region outage with failover: the silent cluster gets no command; its target takes the demand")
    func regionFailover() async throws {
        let trace = try Self.steadyTrace(420)
        let (outcome, policy) = try await Self.run(
            minutes: 100,
            clusters: [
                Self.cluster("us-web", trace: trace, failoverTargets: ["eu-web"]),
                Self.cluster("eu-web", region: "eu-west-1", trace: trace),
            ],
            events: [
                ScenarioEvent(at: 20, kind: .regionOutage(region: "us-east-1", minutes: 60)),
                ScenarioEvent(at: 25, kind: .failover(from: "us-east-1", to: "eu-web")),
                ScenarioEvent(at: 90, kind: .failback(from: "us-east-1")),
            ]
        )
        let journal = policy.finalJournal
        #expect(journal.contains { $0.kind == "cluster-lost" && $0.cluster == "us-web" })
        let acted = journal.filter {
            $0.cluster == "us-web" && ($0.kind == "launch" || $0.kind == "drain")
                && (22..<80).contains(Self.minute($0.time))
        }
        #expect(acted.isEmpty, "\(acted.map(\.message))")
        let eu = try #require(outcome.result.perCluster.first { $0.cluster == "eu-web" })
        let before = eu.samples[19].onDemandNodes + eu.samples[19].spotNodes
        let during = eu.samples[45].onDemandNodes + eu.samples[45].spotNodes
        #expect(during > before, "eu-web grows to carry us-web's demand (\(before) → \(during))")
    }
}
