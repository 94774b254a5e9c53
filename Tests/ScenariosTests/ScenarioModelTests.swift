import Cost
import Scenarios
import Testing

@Suite("scenario model")
struct ScenarioModelTests {
    @Test("a cluster takes the documented defaults")
    func defaults() {
        let cluster = ScenarioCluster(
            id: "web",
            region: "eu-west-1",
            zones: ["eu-west-1a"],
            trace: ScenarioTrace(path: "/traces/nasa.csv"),
            requestsPerPod: 100
        )
        #expect(cluster.onDemandBase == 2)
        #expect(cluster.spotShare == 0.7)
        #expect(cluster.instanceTypes == ["m6i.large"])
    }
}
