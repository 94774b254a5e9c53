import BallastConfig
import ClusterAgent
import Foundation
import Testing

@Suite("agent configuration")
struct AgentConfigurationTests {
    static let examples = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy/examples")

    @Test("the shipped example loads: the real cluster's sources")
    func example() throws {
        let path = Self.examples.appendingPathComponent("cluster-agent.yaml").path
        let config = try ConfigLoader.load(AgentConfiguration.self, from: path)
        #expect(config.clusterID == "eu-web")
        #expect(
            config.coordinators == [
                PeerAddress(host: "10.0.1.10", port: 7400), PeerAddress(host: "10.0.2.10", port: 7400),
            ]
        )
        #expect(config.reportInterval.duration == .seconds(5))
        #expect(config.simulation == nil)
        #expect(config.kubernetes?.kubeconfig == "/run/credentials/ballast-cluster-agent.service/kubeconfig")
        #expect(config.stateDirectory == "/var/lib/ballast")
        #expect(config.prometheus?.customMetrics?.first?.targetPerNode == 100)
        #expect(config.ec2?.subnets.count == 2)
        #expect(config.interruptions?.queueURL.hasSuffix("prod-eu-web-events") == true)
    }

    @Test("the demo's example loads: a simulated cluster instead")
    func demoExample() throws {
        let config = try ConfigLoader.load(
            AgentConfiguration.self,
            from: Self.examples.appendingPathComponent("cluster-agent-demo.yaml").path
        )
        #expect(config.simulation?.nodes == 6)
        #expect(config.kubernetes == nil)
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
            ("cluster-id: a\nregion: r\ncoordinators: [\"h:1\"]\nsecret: {env: S}\n", "kubernetes"),
            (
                "cluster-id: a\nregion: r\ncoordinators: [\"h:1\"]\nsecret: {env: S}\nkubernetes: {in-cluster: true}\n"
                    + "prometheus: {url: localhost:9090}\n",
                "prometheus.url"
            ),
            (
                "cluster-id: a\nregion: r\ncoordinators: [\"h:1\"]\nsecret: {env: S}\nkubernetes: {in-cluster: true}\n"
                    + "prometheus: {url: \"http://p:9090\"}\nec2: {launch-template: lt-1, subnets: {}}\n",
                "ec2.subnets"
            ),
        ]
    )
    func refused(yaml: String, key: String) throws {
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader.decode(AgentConfiguration.self, yaml: yaml, file: "agent.yaml")
        }
        #expect(error?.key == key)
    }
}
