import AgentAdapters
import Clocks
import ClusterAgent
import Cost
import FakeKubernetes
import Foundation
import Logging
import ServiceLifecycle
import Simulation
import Testing

@Suite("the agent's KubeAPI on a Kubernetes API server (the kubectl-proven fake)")
struct KubernetesKubeAPITests {
    @Test("nodes map to their instances by provider id or join label; pending, DaemonSet and requests are read")
    func readsNodesAndPods() async throws {
        try await FakeCluster.with { cluster in
            cluster.api.put(
                .nodes,
                FakeObjects.node(
                    "ip-10-0-1-10",
                    labels: [
                        "ballast.io/market": "spot", "node.kubernetes.io/instance-type": "m6i.large",
                        "topology.kubernetes.io/zone": "eu-west-1a",
                    ],
                    providerID: "aws:///eu-west-1a/i-0aaa",
                    cpu: "1930m",
                    memory: "7Gi"
                )
            )
            cluster.api.put(.nodes, FakeObjects.node("ip-10-0-1-11", labels: ["ballast.io/instance-id": "i-0bbb"]))
            cluster.api.put(
                .pods,
                FakeObjects.pod("web-1", node: "ip-10-0-1-10", requests: ["cpu": "500m", "memory": "1Gi"])
            )
            cluster.api.put(
                .pods,
                FakeObjects.pod("agent-x", namespace: "kube-system", node: "ip-10-0-1-10", owner: .daemonSet("agent"))
            )
            cluster.api.put(.pods, FakeObjects.pod("web-2", phase: "Pending", unschedulable: true))
            let kube = KubernetesKubeAPI(client: cluster.client)

            let nodes = try await kube.nodes().sorted { $0.name < $1.name }
            #expect(nodes.map(\.instanceID) == ["i-0aaa", "i-0bbb"])
            #expect(nodes[0].market == .spot && nodes[0].instanceType == "m6i.large")
            #expect(nodes[0].availabilityZone == "eu-west-1a")
            #expect(nodes[0].allocatable == Resources(cpuMillicores: 1_930, memoryBytes: 7 << 30))
            #expect(nodes[0].ready && nodes[0].internalIP == "10.0.1.10")

            let pods = try await kube.pods()
            let web1 = try #require(pods.first { $0.reference.name == "web-1" })
            #expect(web1.requests == Resources(cpuMillicores: 500, memoryBytes: 1 << 30))
            #expect(web1.mustBeEvictedByDrain)
            #expect(pods.first { $0.reference.name == "agent-x" }?.isDaemonSetPod == true)
            #expect(pods.first { $0.reference.name == "web-2" }?.isPendingUnschedulable == true)
            #expect(try await kube.pods(onNode: "ip-10-0-1-10").count == 2)

            // The drain's mark is read back, so a restarted agent resumes its own drain.
            let until = Timestamp(sinceEpoch: .seconds(1_790_000_600))
            try await kube.markDraining(node: "ip-10-0-1-11", until: until)
            let marked = try #require(try await kube.nodes().first { $0.name == "ip-10-0-1-11" })
            #expect(marked.unschedulable && marked.drainingUntil == until)

            try await kube.deleteNode("ip-10-0-1-11")
            try await kube.deleteNode("ip-10-0-1-11")  // Already gone: not an error.
            #expect(try await kube.nodes().map(\.name) == ["ip-10-0-1-10"])
        }
    }

    @Test(
        "the agent's drain through the Eviction API: never more than the budget allows, DaemonSets left, then terminated"
    )
    func drainHonoursTheBudget() async throws {
        try await FakeCluster.with { cluster in
            cluster.api.put(.nodes, FakeObjects.node("ip-10-0-1-10", providerID: "aws:///eu-west-1a/i-0aaa"))
            cluster.api.put(.nodes, FakeObjects.node("ip-10-0-1-11"))
            for index in 0..<2 {
                cluster.api.put(.pods, FakeObjects.pod("web-\(index)", node: "ip-10-0-1-10", labels: ["app": "web"]))
            }
            cluster.api.put(.pods, FakeObjects.pod("web-2", node: "ip-10-0-1-11", labels: ["app": "web"]))
            cluster.api.put(
                .pods,
                FakeObjects.pod("agent-x", namespace: "kube-system", node: "ip-10-0-1-10", owner: .daemonSet("agent"))
            )
            cluster.api.put(.daemonsets, FakeObjects.daemonSet("agent"))
            cluster.api.put(
                .poddisruptionbudgets,
                FakeObjects.podDisruptionBudget("web", matchLabels: ["app": "web"], maxUnavailable: 1, replicas: 3)
            )
            let kube = KubernetesKubeAPI(client: cluster.client)
            let clock = SystemClock()
            let cloud = SimulatedCloud(clusterID: "eu-web", clock: clock)
            let ledger = AgentLedger()
            let drains = DrainService(
                kube: kube,
                cloud: cloud,
                clock: clock,
                fence: try EpochFence(store: InMemoryEpochStore()),
                ledger: ledger,
                trigger: nil,
                machineSettings: DrainMachine.Settings(
                    initialRetryDelay: .milliseconds(200),
                    maximumRetryDelay: .milliseconds(400),
                    podPollInterval: .milliseconds(100)
                ),
                logger: Logger(label: "test.drain")
            )
            let services = ServiceGroup(services: [drains], logger: Logger(label: "test"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await services.run() }
                _ = await drains.submit(
                    DrainService.Request(
                        nodeName: "ip-10-0-1-10",
                        instanceID: "i-0aaa",
                        epoch: nil,
                        deadline: .seconds(30),
                        reason: "test"
                    )
                )
                // The fake has no controller: once the first eviction is done, a replacement becomes Ready on the
                // other node, which lets the budget allow the second.
                var replaced = false
                let deadline = ContinuousClock.now + .seconds(30)
                while await drains.outcome(of: "ip-10-0-1-10") == nil, ContinuousClock.now < deadline {
                    let evicted = cluster.api.evictions.filter { $0.status == 201 }.count
                    if evicted == 1, !replaced {
                        try await Task.sleep(for: .milliseconds(300))
                        cluster.api.put(.pods, FakeObjects.pod("web-3", node: "ip-10-0-1-11", labels: ["app": "web"]))
                        replaced = true
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                await services.triggerGracefulShutdown()
                try await group.waitForAll()
            }
            let outcome = await drains.outcome(of: "ip-10-0-1-10")
            #expect(outcome?.terminated == true, "\(String(describing: outcome))")
            let evictions = cluster.api.evictions
            #expect(evictions.filter { $0.status == 201 }.map(\.name).sorted() == ["web-0", "web-1"])
            #expect(evictions.contains { $0.status == 429 })  // The budget held the second until the replacement.
            #expect(!evictions.contains { $0.name == "agent-x" })  // DaemonSet pods go with the node.
            #expect(cloud.terminateCalls == [["i-0aaa"]])
            #expect(cluster.api.object(.nodes, name: "ip-10-0-1-10") == nil)
            // No pod was ever deleted directly: every pod that left went through the Eviction API.
            #expect(!cluster.api.requests.contains { $0.method == "DELETE" && $0.path.contains("/pods/") })
        }
    }
}
