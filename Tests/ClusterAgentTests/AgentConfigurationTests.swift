import BallastConfig
import ClusterAgent
import Foundation
import Testing

@Suite("agent configuration")
struct AgentConfigurationTests {
    @Test("the shipped example loads")
    func example() throws {
        let path = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/examples/cluster-agent.yaml").path
        let config = try ConfigLoader.load(AgentConfiguration.self, from: path)
        #expect(config.clusterID == "eu-web")
        #expect(
            config.coordinators == [
                PeerAddress(host: "10.0.1.10", port: 7400), PeerAddress(host: "10.0.2.10", port: 7400),
            ]
        )
        #expect(config.reportInterval.duration == .seconds(5))
        #expect(config.simulation?.nodes == 6)
    }

    @Test(
        "bad values are refused naming the key",
        arguments: [
            ("cluster-id: a\nregion: r\ncoordinators: []\nsecret: {env: S}\n", "coordinators"),
            ("cluster-id: a\nregion: r\ncoordinators: [\"h\"]\nsecret: {env: S}\n", "coordinators.0"),
            (
                "cluster-id: a\nregion: r\ncoordinators: [\"h:1\"]\nsecret: {env: S}\nreport-interval: 0s\n",
                "report-interval"
            ),
            (
                "cluster-id: a\nregion: r\ncoordinators: [\"h:1\"]\nsecret: {env: S}\nsimulation: {trace: t, nodes: 0}\n",
                "simulation.nodes"
            ),
            ("cluster-id: a\nregion: r\ncoordinators: [\"h:1\"]\n", "secret"),
        ]
    )
    func refused(yaml: String, key: String) throws {
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader.decode(AgentConfiguration.self, yaml: yaml, file: "agent.yaml")
        }
        #expect(error?.key == key)
    }
}
