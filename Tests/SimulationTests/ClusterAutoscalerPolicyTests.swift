import Cost
import Scenarios
import Simulation
import SimulationReport
import Testing

/// The Cluster Autoscaler baseline on short runs of the NASA trace: it must behave as the real one does with its
/// defaults, or beating it means nothing.
@Suite("cluster autoscaler baseline")
struct ClusterAutoscalerPolicyTests {
    @Test("scales up for pending pods, within seconds, in groups of the cluster's zones")
    func scalesUpForPendingPods() async throws {
        let policy = ClusterAutoscalerPolicy()
        let result = try await BaselineRuns.run(policy, on: BaselineRuns.nasa(hours: 2))
        let scaleUps = policy.actions.compactMap { action -> (Duration, String, Int)? in
            guard case .scaleUp(let zone, let count) = action.kind else { return nil }
            return (action.at, zone, count)
        }
        // Six m6i.large nodes hold 42 pods; the trace asks for 60 on average, so pods pend from the first minutes.
        let first = try #require(scaleUps.first)
        #expect(first.0 <= .seconds(120))
        #expect(scaleUps.allSatisfy { ["us-east-1a", "us-east-1b", "us-east-1c"].contains($0.1) && $0.2 > 0 })
        #expect(Set(scaleUps.map(\.1)).count > 1, "the random expander spreads scale-ups over the groups")
        #expect(BaselineRuns.nodes(result).max() ?? 0 > 8)
        #expect(BaselineRuns.nodes(result).allSatisfy { $0 <= 60 })
        // Scale-up is for pods with no room: the workload is served almost always.
        #expect(result.summary.availability > 0.95)
    }

    @Test("removes an underused node only after 10 minutes unneeded and 10 minutes after a scale-up")
    func scaleDownWaits() async throws {
        let policy = ClusterAutoscalerPolicy()
        // Twenty nodes for about nine nodes' worth of pods.
        let result = try await BaselineRuns.run(policy, on: BaselineRuns.nasa(hours: 2, initialNodes: 20))
        let actions = policy.actions
        let removals = actions.compactMap { action -> (Duration, Bool, Duration)? in
            guard case .scaleDown(_, let empty, let unneededFor) = action.kind else { return nil }
            return (action.at, empty, unneededFor)
        }
        #expect(!removals.isEmpty)
        #expect(removals.allSatisfy { $0.2 >= .seconds(600) })
        #expect(removals.allSatisfy { $0.0 >= .seconds(600) })
        let scaleUps = actions.compactMap { action -> Duration? in
            guard case .scaleUp = action.kind else { return nil }
            return action.at
        }
        for removal in removals {
            #expect(!scaleUps.contains { $0 <= removal.0 && removal.0 - $0 < .seconds(600) })
        }
        // Non-empty nodes go one at a time: never two at the same scan.
        let busy = removals.filter { !$0.1 }.map(\.0)
        #expect(Set(busy).count == busy.count)
        let nodes = BaselineRuns.nodes(result)
        #expect(nodes.last ?? 20 < 18, "the surplus goes")
        #expect(nodes.allSatisfy { $0 >= 2 })
    }

    @Test("backs a group off when its zone has no capacity and scales up in another")
    func backsOffAGroupWithoutCapacity() async throws {
        let policy = ClusterAutoscalerPolicy()
        let shortage = ScenarioEvent(
            at: 0,
            kind: .capacityShortage(zone: "us-east-1a", instanceType: nil, market: nil, minutes: 120)
        )
        _ = try await BaselineRuns.run(policy, on: BaselineRuns.nasa(hours: 2, events: [shortage]))
        let actions = policy.actions
        let backoffs = actions.compactMap { action -> (Duration, Duration)? in
            guard case .backedOff("us-east-1a", let until) = action.kind else { return nil }
            return (action.at, until)
        }
        let first = try #require(backoffs.first)
        #expect(first.1 - first.0 == .seconds(300))
        // Each further failure within 3 h doubles the wait, up to 30 minutes.
        for (previous, next) in zip(backoffs, backoffs.dropFirst()) {
            #expect(next.0 >= previous.1, "a backed-off group is not tried")
            #expect(next.1 - next.0 == min(.seconds(1_800), (previous.1 - previous.0) * 2))
        }
        #expect(!actions.contains { if case .scaleUp("us-east-1a", _) = $0.kind { true } else { false } })
        let elsewhere = actions.filter {
            if case .scaleUp(let zone, _) = $0.kind { zone != "us-east-1a" } else { false }
        }
        #expect(elsewhere.contains { $0.at == first.0 }, "the next group is tried in the same scan")
    }
}
