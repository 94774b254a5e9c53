import Cost
import Scenarios
import SimulationReport

@testable import Simulation

/// Short runs of one baseline policy on the NASA trace, for the baseline suites: the policy instance is kept, so a
/// test can read what it did as well as how the run measured.
enum BaselineRuns {
    /// The NASA trace on one three-zone cluster (as the fleet simulator's smoke test), with what a test changes.
    static func nasa(
        hours: Int,
        initialNodes: Int = 6,
        maxNodes: Int = 60,
        events: [ScenarioEvent] = [],
        interruptionsPerInstanceHour: Double = 0.002
    ) -> Scenario {
        Scenario(
            name: "nasa-\(hours)h",
            description: "NASA trace, one cluster",
            durationMinutes: hours * 60,
            seed: 7,
            start: 1_783_296_000,
            budget: nil,
            cloud: ScenarioCloud(interruptionsPerInstanceHour: interruptionsPerInstanceHour),
            clusters: [
                ScenarioCluster(
                    id: "us-web",
                    region: "us-east-1",
                    zones: ["us-east-1a", "us-east-1b", "us-east-1c"],
                    trace: ScenarioTrace(path: FleetSimulatorTests.traces + "/nasa-per-minute.csv", offsetMinutes: 600),
                    requestsPerPod: 35.0 / 42,
                    initialNodes: initialNodes,
                    maxNodes: maxNodes
                )
            ],
            events: events
        )
    }

    /// Runs `policy` over `scenario` on the simulator's engine and returns the measured result.
    static func run(_ policy: any ScalingPolicy, on scenario: Scenario) async throws -> PolicyResult {
        let simulator = FleetSimulator(
            scenario: scenario,
            catalog: try PriceCatalog.bundled(),
            options: .init(policies: [], sampleMinutes: 5)
        )
        let run = try await simulator.run(policy)
        return run.result(oracleCost: nil, reference: [:])
    }

    /// Nodes (on-demand and spot) in each 5-minute sample.
    static func nodes(_ result: PolicyResult) -> [Double] {
        result.fleet.map { $0.onDemandNodes + $0.spotNodes }
    }
}
