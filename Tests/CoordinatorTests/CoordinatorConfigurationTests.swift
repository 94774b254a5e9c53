import BallastConfig
import Coordinator
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
        ]
    )
    func refused(yaml: String, key: String) throws {
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader.decode(CoordinatorConfiguration.self, yaml: yaml, file: "coordinator.yaml")
        }
        #expect(error?.key == key)
    }
}
