import Cost
import Scenarios
import Simulation
import SimulationReport
import Testing

/// The Karpenter baseline on short runs of the NASA trace: batching, the unavailable-offering cache, the spot
/// interruption handling and consolidation, as Karpenter does them with its defaults.
@Suite("karpenter baseline")
struct KarpenterPolicyTests {
    static let zones = ["us-east-1a", "us-east-1b", "us-east-1c"]

    @Test("skips a pool that had no capacity for 3 minutes, then tries it again")
    func skipsAnIcePoolForThreeMinutes() async throws {
        let policy = KarpenterPolicy()
        // No spot m6i.large anywhere for the first hour: every spot pool refuses.
        let shortages = Self.zones.map {
            ScenarioEvent(at: 0, kind: .capacityShortage(zone: $0, instanceType: nil, market: .spot, minutes: 60))
        }
        let result = try await BaselineRuns.run(policy, on: BaselineRuns.nasa(hours: 2, events: shortages))
        let actions = policy.actions
        let skips = actions.compactMap { action -> (Duration, SimulatedCloud.Pool, Duration)? in
            guard case .poolSkipped(let pool, let until) = action.kind else { return nil }
            return (action.at, pool, until)
        }
        #expect(!skips.isEmpty)
        #expect(skips.allSatisfy { $0.2 - $0.0 == .seconds(180) && $0.1.market == .spot })
        for zone in Self.zones {
            let times = skips.filter { $0.1.availabilityZone == zone }.map(\.0)
            for (a, b) in zip(times, times.dropFirst()) {
                #expect(b - a >= .seconds(180), "a skipped pool is not tried again within 3 minutes")
            }
        }
        // The cheapest pool is tried again after each 3 minutes while the shortage lasts.
        #expect(Dictionary(grouping: skips, by: \.1).values.contains { $0.count >= 3 })
        let launches = actions.compactMap { action -> (Duration, SimulatedCloud.Pool)? in
            guard case .launched(let pool, _, _) = action.kind else { return nil }
            return (action.at, pool)
        }
        #expect(!launches.contains { $0.0 < .seconds(3_600) && $0.1.market == .spot })
        // The pods it could not place on spot went on-demand at once, and spot came back with the capacity.
        for skip in skips {
            #expect(launches.contains { $0.0 == skip.0 && $0.1.market == .onDemand })
        }
        #expect(launches.contains { $0.0 >= .seconds(3_600) && $0.1.market == .spot })
        // As served as without the shortage (Karpenter's fast consolidation keeps it near 0.9 on this trace).
        #expect(result.summary.availability > 0.85)
    }

    @Test("launches a replacement at the spot notice and drains the node before the reclaim")
    func replacesInterruptedSpotNodes() async throws {
        let policy = KarpenterPolicy()
        let storms = Self.zones.map {
            ScenarioEvent(
                at: 20,
                kind: .spotStorm(zone: $0, instanceType: nil, minutes: 60, interruptionsPerInstanceHour: 4)
            )
        }
        let result = try await BaselineRuns.run(policy, on: BaselineRuns.nasa(hours: 2, events: storms))
        let actions = policy.actions
        let drained = actions.compactMap { action -> (Duration, Int, Int)? in
            guard case .interruptionDrained(_, let pods, let replacements) = action.kind else { return nil }
            return (action.at, pods, replacements)
        }
        #expect(result.summary.interruptions >= 5)
        #expect(drained.count >= result.summary.interruptions - 1, "every notice on a node drains it")
        for drain in drained where drain.1 > 0 {
            #expect(drain.2 > 0)
            #expect(
                actions.contains {
                    if case .launched(_, _, true) = $0.kind { $0.at == drain.0 } else { false }
                },
                "the replacement is launched at the notice, two minutes before the reclaim"
            )
        }
        #expect(result.summary.interruptionsHandled > 0)
        #expect(result.summary.availability > 0.85)
    }

    @Test("consolidates a fleet larger than the demand, re-validating each decision 15 s later")
    func consolidatesAfterDemandFalls() async throws {
        let policy = KarpenterPolicy()
        // Twenty nodes for about nine nodes' worth of pods.
        let result = try await BaselineRuns.run(policy, on: BaselineRuns.nasa(hours: 2, initialNodes: 20))
        let actions = policy.actions
        let computed = actions.compactMap { action -> (Duration, [String])? in
            guard case .consolidationComputed(let nodes, _) = action.kind else { return nil }
            return (action.at, nodes)
        }
        let removed = actions.compactMap { action -> (Duration, String)? in
            guard case .consolidated(let node, _) = action.kind else { return nil }
            return (action.at, node)
        }
        #expect(removed.count >= 5)
        for removal in removed {
            let decision = computed.last { $0.0 <= removal.0 && $0.1.contains(removal.1) }
            let delay = decision.map { removal.0 - $0.0 }
            #expect(delay.map { $0 >= .seconds(15) && $0 < .seconds(25) } ?? false)
        }
        // Within the budget: at most 10 % of the nodes (two of twenty) in one decision.
        #expect(computed.allSatisfy { $0.1.count <= 2 })
        let nodes = BaselineRuns.nodes(result)
        #expect(nodes.last ?? 20 < 16)
        #expect(nodes.allSatisfy { $0 >= 2 })
        #expect(result.summary.availability > 0.9)
    }
}
