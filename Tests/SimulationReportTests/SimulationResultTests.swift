import Foundation
import SimulationReport
import Testing

@Suite("simulation result")
struct SimulationResultTests {
    @Test("a result round-trips through JSON")
    func roundTrip() throws {
        let sample = Sample(
            minute: 0,
            demandNodes: 3.5,
            onDemandNodes: 2,
            spotNodes: 2,
            pendingPods: 0,
            spendUSD: 1.25,
            allowanceUSD: 2,
            interruptions: 0
        )
        let summary = PolicySummary(
            totalCostUSD: 1.25,
            costRatioToOracle: 1.1,
            savingVsStaticOnDemand: 0.6,
            costPerMillionRequests: 3,
            requestsServed: 400_000,
            unschedulablePodMinutes: 0,
            availability: 1,
            p95PodWaitSeconds: 10,
            p95ScaleUpSeconds: 120,
            utilisation: 0.8,
            spotShare: 0.5,
            hoursOverBudget: 0,
            launches: 1,
            drains: 0,
            interruptions: 0,
            interruptionsHandled: 0
        )
        let result = SimulationResult(
            scenario: "s",
            description: "d",
            seed: 1,
            durationMinutes: 5,
            sampleMinutes: 5,
            start: 0,
            monthlyBudgetUSD: 100,
            clusters: ["web"],
            policies: [
                PolicyResult(
                    name: "ballast",
                    title: "Ballast",
                    summary: summary,
                    fleet: [sample],
                    perCluster: [ClusterSeries(cluster: "web", summary: summary, samples: [sample])]
                )
            ],
            events: []
        )
        let data = try JSONEncoder().encode(result)
        #expect(try JSONDecoder().decode(SimulationResult.self, from: data) == result)
    }
}
