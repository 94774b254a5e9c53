import Cost
import Foundation
import Scenarios
import Simulation
import SimulationReport
import Testing

/// Short runs of the simulator on the real traces, with assertions on what each policy must do.
@Suite("fleet simulator")
struct FleetSimulatorTests {
    static let traces = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/traces").path

    static func nasa(hours: Int, events: [ScenarioEvent] = [], budget: ScenarioBudget? = nil) -> Scenario {
        Scenario(
            name: "nasa-\(hours)h",
            description: "NASA trace, one cluster",
            durationMinutes: hours * 60,
            seed: 7,
            start: 1_783_296_000,  // 2026-07-06 00:00 UTC, a Monday
            budget: budget,
            cloud: ScenarioCloud(),
            clusters: [
                ScenarioCluster(
                    id: "us-web",
                    region: "us-east-1",
                    zones: ["us-east-1a", "us-east-1b", "us-east-1c"],
                    trace: ScenarioTrace(path: traces + "/nasa-per-minute.csv", offsetMinutes: 600),
                    requestsPerPod: 35.0 / 42,
                    maxNodes: 60
                )
            ],
            events: events
        )
    }

    @Test("static, ballast and the oracle run on the same demand")
    func smoke() async throws {
        let simulator = FleetSimulator(
            scenario: Self.nasa(hours: 3),
            catalog: try PriceCatalog.bundled(),
            options: .init(policies: PolicyKind.allCases)
        )
        let started = ContinuousClock.now
        let result = try await simulator.run()
        print("took \(ContinuousClock.now - started)")
        for policy in result.policies {
            print(policy.name, policy.summary)
        }
        #expect(result.policies.map(\.name) == PolicyKind.allCases.map(\.rawValue))
    }
}
