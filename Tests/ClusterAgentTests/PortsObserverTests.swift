import ClusterAgent
import Cost
import Logging
import Synchronization
import Testing

/// The report `PortsObserver` builds from its ports: here, the custom metrics a `MetricsSource` reads.
@Suite("PortsObserver")
struct PortsObserverTests {
    static let now = Timestamp(secondsSinceEpoch: 1_790_000_000)

    /// One Ready node backed by one running instance.
    struct OneNodeCluster: KubeAPI, CloudProvider {
        func nodes() async throws(KubeAPIError) -> [KubeNode] {
            [
                KubeNode(
                    name: "ip-10-0-0-5",
                    instanceID: "i-0abc",
                    instanceType: "m6i.large",
                    availabilityZone: "eu-west-1a",
                    market: .onDemand,
                    ready: true,
                    readySince: PortsObserverTests.now - .seconds(3_000),
                    createdAt: PortsObserverTests.now - .seconds(3_600),
                    allocatable: .vcpu(1.93, gib: 7.5)
                )
            ]
        }
        func pods() async throws(KubeAPIError) -> [KubePod] {
            [
                KubePod(
                    reference: .init(namespace: "default", name: "worker-1"),
                    nodeName: "ip-10-0-0-5",
                    phase: .running,
                    requests: .vcpu(0.5, gib: 1)
                )
            ]
        }
        func cordon(node: String) async throws(KubeAPIError) {}
        func evict(_ pod: KubePod.Reference) async throws(KubeAPIError) -> EvictionOutcome { .evicted }
        func deleteNode(_ name: String) async throws(KubeAPIError) {}

        func launch(_ request: InstanceLaunchRequest) async throws(CloudError) -> [CloudInstance] { [] }
        func terminate(_ instanceIDs: [String]) async throws(CloudError) {}
        func instances() async throws(CloudError) -> [CloudInstance] {
            [
                CloudInstance(
                    instanceID: "i-0abc",
                    instanceType: "m6i.large",
                    market: .onDemand,
                    availabilityZone: "eu-west-1a",
                    state: .running,
                    launchedAt: PortsObserverTests.now - .seconds(3_600)
                )
            ]
        }
    }

    /// Answers with the sample it is given, or fails when it has none.
    final class ScriptedMetrics: MetricsSource {
        let next = Mutex<MetricsSample?>(nil)

        func sample(at now: Timestamp) async throws(MetricsSourceError) -> MetricsSample {
            guard let sample = next.withLock({ $0 }) else {
                throw MetricsSourceError(.unreachable, "connection refused")
            }
            return sample
        }
    }

    func observer(_ metrics: ScriptedMetrics) -> PortsObserver {
        let cluster = OneNodeCluster()
        return PortsObserver(
            settings: .init(clusterID: "eu-web", region: "eu-west-1", availabilityZones: ["eu-west-1a"]),
            kube: cluster,
            cloud: cluster,
            metrics: metrics,
            ledger: AgentLedger(),
            drains: nil,
            logger: Logger(label: "test.observer")
        )
    }

    @Test("a custom metric the source reads is in the report with its target; too old, it is stale on its own")
    func customMetricInReport() async throws {
        let metrics = ScriptedMetrics()
        metrics.next.withLock {
            $0 = MetricsSample(
                utilisation: Utilisation(cpu: 0.4, memory: 0.3),
                custom: [
                    CustomMetricReading(
                        name: "queue_depth",
                        value: 250,
                        targetPerNode: 100,
                        observedAt: Self.now - .seconds(5)
                    ),
                    CustomMetricReading(
                        name: "jobs",
                        value: 3,
                        targetPerNode: 1,
                        observedAt: Self.now - .seconds(600)
                    ),
                ],
                observedAt: Self.now - .seconds(5)
            )
        }
        let observer = observer(metrics)
        let report = try await observer.observe(at: Self.now)
        #expect(!report.metricsStale)
        #expect(
            report.customMetrics == [
                CustomMetricReport(name: "queue_depth", value: 250, targetPerNode: 100, stale: false),
                CustomMetricReport(name: "jobs", value: 3, targetPerNode: 1, stale: true),
            ]
        )
        #expect(report.customMetrics.first?.nodesWanted == 3)
        #expect(report.nodes.map(\.name) == ["ip-10-0-0-5"])

        // The source fails: the last values are reported, all stale, never dropped or zeroed.
        metrics.next.withLock { $0 = nil }
        let failed = try await observer.observe(at: Self.now + .seconds(5))
        #expect(failed.metricsStale)
        #expect(
            failed.customMetrics == [
                CustomMetricReport(name: "queue_depth", value: 250, targetPerNode: 100, stale: true),
                CustomMetricReport(name: "jobs", value: 3, targetPerNode: 1, stale: true),
            ]
        )
    }

    @Test("a source with no custom metrics reports none")
    func noCustomMetrics() async throws {
        let metrics = ScriptedMetrics()
        metrics.next.withLock {
            $0 = MetricsSample(utilisation: Utilisation(cpu: 0.4, memory: 0.3), observedAt: Self.now)
        }
        let report = try await observer(metrics).observe(at: Self.now)
        #expect(report.customMetrics.isEmpty)
        #expect(report.utilisation == Utilisation(cpu: 0.4, memory: 0.3))
    }
}
