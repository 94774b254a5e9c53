import AsyncHTTPClient
import FakeKubernetes
import Foundation
import KubernetesClient
import Logging
import MetricsTestKit
import Testing

@Suite("KubernetesClient against the fake API server")
struct KubernetesClientTests {
    @Test(
        "lists nodes over TLS with an embedded client certificate (EC and RSA keys) and with a token",
        arguments: [
            (FakeCluster.Auth.clientCertificate, FakeClusterPKI.KeyType.ec),
            (.clientCertificate, .rsa),
            (.token, .ec),
        ]
    )
    func listNodes(auth: FakeCluster.Auth, key: FakeClusterPKI.KeyType) async throws {
        try await FakeCluster.with(auth: auth, clientKey: key) { cluster in
            let readySince = Date(timeIntervalSince1970: 1_700_000_123)
            cluster.api.put(
                .nodes,
                FakeObjects.node(
                    "agent-1",
                    labels: ["node.kubernetes.io/instance-type": "m6i.large"],
                    providerID: "aws:///us-east-1a/i-0123456789abcdef0",
                    cpu: "2",
                    memory: "8Gi",
                    readySince: readySince
                )
            )
            cluster.api.put(.nodes, FakeObjects.node("agent-2", ready: false, unschedulable: true))
            let nodes = try await cluster.client.nodes()
            #expect(nodes.map(\.name) == ["agent-1", "agent-2"])
            let first = try #require(nodes.first)
            #expect(first.isReady)
            #expect(first.readySince == readySince)
            #expect(first.providerID == "aws:///us-east-1a/i-0123456789abcdef0")
            #expect(first.allocatable["cpu"]?.milliValue == 2000)
            #expect(first.allocatable["memory"]?.value == 8 << 30)
            #expect(first.metadata.labels["node.kubernetes.io/instance-type"] == "m6i.large")
            #expect(first.metadata.creationTimestamp != nil)
            #expect(!nodes[1].isReady && nodes[1].readySince == nil && nodes[1].isUnschedulable)
            let user = try #require(cluster.api.requests.last?.user)
            #expect(auth == .token ? user == "token" : user.hasPrefix("certificate:"))
        }
    }

    @Test("a client certificate from another CA, or no credentials, is refused")
    func refusedCredentials() async throws {
        try await FakeCluster.with { cluster in
            let httpClient = HTTPClient(eventLoopGroup: .singletonMultiThreadedEventLoopGroup)
            defer { Task { try? await httpClient.shutdown() } }
            for kubeconfig in [
                try cluster.pki.kubeconfig(server: cluster.server.url, client: "intruder"),
                try cluster.pki.kubeconfig(server: cluster.server.url, token: "wrong"),
            ] {
                let client = try KubernetesClient(
                    httpClient: httpClient,
                    kubeConfig: try KubeConfig.parse(yaml: kubeconfig, file: "k3s.yaml"),
                    logger: Logger(label: "test")
                )
                await #expect(throws: KubernetesError.self) { _ = try await client.nodes() }
            }
            let wrongToken = try KubernetesClient(
                httpClient: httpClient,
                kubeConfig: try KubeConfig.parse(
                    yaml: try cluster.pki.kubeconfig(server: cluster.server.url, token: "wrong"),
                    file: "k3s.yaml"
                ),
                logger: Logger(label: "test")
            )
            do {
                _ = try await wrongToken.nodes()
            } catch let error as KubernetesError {
                #expect(error.httpStatus == 401)
                #expect(error.reason == "Unauthorized")
            }
        }
    }

    @Test("lists pods by label and field selector, across pages")
    func listPodsWithSelectorsAndPages() async throws {
        var configuration = FakeCluster.fastClientConfiguration()
        configuration.pageSize = 2
        try await FakeCluster.with(clientConfiguration: configuration) { cluster in
            for index in 0..<5 {
                cluster.api.put(
                    .pods,
                    FakeObjects.pod("web-\(index)", node: index < 3 ? "agent-1" : "agent-2", labels: ["app": "web"])
                )
            }
            cluster.api.put(.pods, FakeObjects.pod("db-0", namespace: "data", node: "agent-1", labels: ["app": "db"]))
            let onAgent1 = try await cluster.client.pods(onNode: "agent-1")
            #expect(Set(onAgent1.map(\.key)) == ["default/web-0", "default/web-1", "default/web-2", "data/db-0"])
            let web = try await cluster.client.list(Pod.self, labelSelector: "app=web,app notin (db)")
            #expect(web.items.count == 5)
            #expect(!web.resourceVersion.isEmpty)
            let inData = try await cluster.client.list(Pod.self, namespace: "data")
            #expect(inData.items.map(\.name) == ["db-0"])
            let pages = cluster.api.requests.filter { $0.path == "/api/v1/pods" && $0.query.contains("app%3Dweb") }
            #expect(pages.count == 3)
            #expect(pages.dropFirst().allSatisfy { $0.query.contains("continue=") })
            await #expect(throws: KubernetesError.self) {
                _ = try await cluster.client.list(Pod.self, fieldSelector: "spec.color=blue")
            }

            // Kept as they arrive, page by page: every pod once, in the list's order, across three pages.
            let requestsBefore = cluster.api.requests.count
            let names = try await cluster.client.list(Pod.self, labelSelector: "app=web") {
                "\($0.name)@\($0.nodeName ?? "")"
            }
            #expect(names == web.items.map { "\($0.name)@\($0.nodeName ?? "")" })
            #expect(names.count == 5)
            #expect(cluster.api.requests.count - requestsBefore == 3)
        }
    }

    @Test("finds pods the scheduler could not place, and reads their requests")
    func pendingPods() async throws {
        try await FakeCluster.with { cluster in
            cluster.api.put(.pods, FakeObjects.pod("running", node: "agent-1"))
            cluster.api.put(.pods, FakeObjects.pod("waiting-for-image", phase: "Pending"))
            cluster.api.put(
                .pods,
                FakeObjects.pod(
                    "too-big",
                    phase: "Pending",
                    unschedulable: true,
                    requests: ["cpu": "1500m", "memory": "2Gi"]
                )
            )
            let pending = try await cluster.client.unschedulablePods()
            #expect(pending.map(\.name) == ["too-big"])
            #expect(pending.first?.cpuRequestMillis == 1500)
            #expect(pending.first?.memoryRequestBytes == 2 << 30)
            #expect(cluster.api.requests.last?.query.contains("fieldSelector=status.phase%3DPending") == true)
        }
    }

    @Test("reads DaemonSet ownership, mirror pods and deletion from pod metadata")
    func podMetadata() async throws {
        try await FakeCluster.with { cluster in
            cluster.api.put(.pods, FakeObjects.pod("svclb", namespace: "kube-system", owner: .daemonSet("svclb")))
            var mirror = FakeObjects.pod("kube-vip", namespace: "kube-system", owner: .none)
            mirror[path: ["metadata", "annotations"]] = ["kubernetes.io/config.mirror": "abc"]
            mirror[path: ["metadata", "deletionTimestamp"]] = "2026-01-01T00:00:00Z"
            cluster.api.put(.pods, mirror)
            let pods = try await cluster.client.list(Pod.self, namespace: "kube-system").items
            let svclb = try #require(pods.first { $0.name == "svclb" })
            let vip = try #require(pods.first { $0.name == "kube-vip" })
            #expect(svclb.isDaemonSetPod && !svclb.isMirrorPod)
            #expect(vip.isMirrorPod && !vip.isDaemonSetPod && vip.isTerminating)
        }
    }

    @Test("cordon and uncordon patch spec.unschedulable with a merge patch")
    func cordon() async throws {
        try await FakeCluster.with { cluster in
            cluster.api.put(.nodes, FakeObjects.node("agent-1"))
            let cordoned = try await cluster.client.cordon(node: "agent-1")
            #expect(cordoned.isUnschedulable)
            #expect(cluster.api.object(.nodes, name: "agent-1")?[path: ["spec", "unschedulable"]] == true)
            #expect(cluster.api.requests.last?.contentType == "application/merge-patch+json")
            let uncordoned = try await cluster.client.uncordon(node: "agent-1")
            #expect(!uncordoned.isUnschedulable)
            #expect(cluster.api.object(.nodes, name: "agent-1")?[path: ["spec", "unschedulable"]] == nil)
            do {
                try await cluster.client.cordon(node: "ghost")
                Issue.record("cordoned a node that does not exist")
            } catch let error as KubernetesError {
                #expect(error.isNotFound && error.reason == "NotFound")
            }
        }
    }

    @Test("an eviction is refused with 429 while a budget forbids it and goes through once the budget allows")
    func evictionUnderBudget() async throws {
        try await FakeCluster.with { cluster in
            for name in ["web-0", "web-1"] {
                cluster.api.put(.pods, FakeObjects.pod(name, node: "agent-1", labels: ["app": "web"]))
            }
            cluster.api.put(
                .poddisruptionbudgets,
                FakeObjects.podDisruptionBudget("web", matchLabels: ["app": "web"], minAvailable: 2)
            )
            let blocked = try await cluster.client.evict(namespace: "default", pod: "web-0")
            guard case .blockedByDisruptionBudget(let message) = blocked else {
                Issue.record("expected a budget refusal, got \(blocked)")
                return
            }
            #expect(message.contains("web"))
            #expect(cluster.api.object(.pods, namespace: "default", name: "web-0") != nil)
            // A third replica comes up: one disruption is allowed now.
            cluster.api.put(.pods, FakeObjects.pod("web-2", node: "agent-2", labels: ["app": "web"]))
            #expect(try await cluster.client.evict(namespace: "default", pod: "web-0") == .evicted)
            #expect(cluster.api.object(.pods, namespace: "default", name: "web-0") == nil)
            // Two healthy left with minAvailable 2: the next one is refused again.
            guard case .blockedByDisruptionBudget = try await cluster.client.evict(namespace: "default", pod: "web-1")
            else {
                Issue.record("the budget should hold at two healthy pods")
                return
            }
            #expect(try await cluster.client.evict(namespace: "default", pod: "gone") == .notFound)
            #expect(cluster.api.evictions.map(\.status) == [429, 201, 429, 404])
        }
    }

    @Test("a maxUnavailable percentage budget allows that share of pods to go")
    func percentageBudget() async throws {
        try await FakeCluster.with { cluster in
            for index in 0..<4 {
                cluster.api.put(.pods, FakeObjects.pod("api-\(index)", labels: ["app": "api"]))
            }
            cluster.api.put(
                .poddisruptionbudgets,
                FakeObjects.podDisruptionBudget("api", matchLabels: ["app": "api"], maxUnavailable: "50%", replicas: 4)
            )
            var outcomes: [KubernetesClient.EvictionOutcome] = []
            for index in 0..<3 {
                outcomes.append(try await cluster.client.evict(namespace: "default", pod: "api-\(index)"))
            }
            // Four replicas, two may be unavailable: after two are gone, two healthy of desired two remain.
            #expect(outcomes[0] == .evicted)
            #expect(outcomes[1] == .evicted)
            guard case .blockedByDisruptionBudget = outcomes[2] else {
                Issue.record("the third eviction should be refused, got \(outcomes[2])")
                return
            }
        }
    }

    @Test("deletes a node; deleting it again is NotFound")
    func deleteNode() async throws {
        try await FakeCluster.with { cluster in
            cluster.api.put(.nodes, FakeObjects.node("agent-1"))
            try await cluster.client.delete(node: "agent-1")
            #expect(cluster.api.names(.nodes).isEmpty)
            do {
                try await cluster.client.delete(node: "agent-1")
                Issue.record("deleted a node twice")
            } catch let error as KubernetesError {
                #expect(error.isNotFound)
            }
        }
    }

    @Test("counts requests by operation and outcome")
    func metrics() async throws {
        let metrics = TestMetrics()
        var configuration = FakeCluster.fastClientConfiguration()
        configuration.metricsFactory = metrics
        try await FakeCluster.with(clientConfiguration: configuration) { cluster in
            cluster.api.put(.nodes, FakeObjects.node("agent-1"))
            _ = try await cluster.client.cordon(node: "agent-1")
            _ = try? await cluster.client.cordon(node: "ghost")
            let counters = metrics.counters.filter { $0.label == "kubernetes_requests_total" }
            let outcomes = counters.map { counter in
                Dictionary(uniqueKeysWithValues: counter.dimensions)["outcome"] ?? ""
            }
            #expect(Set(outcomes) == ["success", "not_found"])
            #expect(
                counters.allSatisfy { Dictionary(uniqueKeysWithValues: $0.dimensions)["operation"] == "cordon node" }
            )
        }
    }
}
