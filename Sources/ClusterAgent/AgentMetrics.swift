import Cost
import Metrics

/// The agent's series (docs/operations.md lists them with the alerts built on them), all labelled with the
/// cluster. Gauges of a pool or source that went away are set to zero, not left at their last value.
public struct AgentMetrics: Sendable {
    public let cluster: ClusterID
    private let factory: any MetricsFactory

    public init(cluster: ClusterID, factory: (any MetricsFactory)? = nil) {
        self.cluster = cluster
        self.factory = factory ?? MetricsSystem.factory
    }

    /// Nodes by market and zone, and the pods nothing fits, from a report.
    func record(nodes: [NodeReport], pendingPods: Int, previous: inout Set<[String]>) {
        var counts: [[String]: Int] = [:]
        for node in nodes { counts[[node.market.rawValue, node.availabilityZone], default: 0] += 1 }
        for gone in previous.subtracting(counts.keys) { counts[gone] = 0 }
        for (series, count) in counts {
            Gauge(
                label: "ballast_nodes",
                dimensions: [("cluster", cluster.rawValue), ("market", series[0]), ("zone", series[1])],
                factory: factory
            ).record(count)
        }
        previous = Set(counts.filter { $0.value > 0 }.keys)
        Gauge(label: "ballast_pending_pods", dimensions: [("cluster", cluster.rawValue)], factory: factory)
            .record(pendingPods)
    }

    /// Whether one of the agent's sources (`prometheus`, `kubernetes`, `ec2`, `sqs`) answered last time.
    public func record(source: String, healthy: Bool) {
        Gauge(
            label: "ballast_source_healthy",
            dimensions: [("cluster", cluster.rawValue), ("source", source)],
            factory: factory
        ).record(healthy ? 1 : 0)
    }

    func record(drainsInProgress: Int, oldest: Duration?) {
        Gauge(label: "ballast_drains_in_progress", dimensions: [("cluster", cluster.rawValue)], factory: factory)
            .record(drainsInProgress)
        let seconds = oldest.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 } ?? 0
        Gauge(label: "ballast_drain_oldest_seconds", dimensions: [("cluster", cluster.rawValue)], factory: factory)
            .record(seconds)
    }

    func record(autonomous: Bool) {
        Gauge(label: "ballast_agent_autonomous", dimensions: [("cluster", cluster.rawValue)], factory: factory)
            .record(autonomous ? 1 : 0)
    }

    func record(connectedCoordinators: Int) {
        Gauge(
            label: "ballast_agent_connected_coordinators",
            dimensions: [("cluster", cluster.rawValue)],
            factory: factory
        ).record(connectedCoordinators)
    }

    /// A launch the cloud refused, by pool and the contract's reason words.
    func launchFailed(instanceType: String, zone: String, market: Market, reason: String) {
        Counter(
            label: "ballast_launch_failures_total",
            dimensions: [
                ("cluster", cluster.rawValue), ("instance_type", instanceType), ("zone", zone),
                ("market", market.rawValue), ("reason", reason),
            ],
            factory: factory
        ).increment()
    }

    /// An interruption notice for one of the cluster's instances: `spot_interruption`, `rebalance`,
    /// `scheduled_change`.
    func interruption(kind: String) {
        Counter(
            label: "ballast_interruptions_total",
            dimensions: [("cluster", cluster.rawValue), ("kind", kind)],
            factory: factory
        ).increment()
    }

    /// An orphan instance (no Ready node within the provision time) terminated on the leader's confirmation.
    func orphanTerminated() {
        Counter(
            label: "ballast_orphans_terminated_total",
            dimensions: [("cluster", cluster.rawValue)],
            factory: factory
        ).increment()
    }

    /// The contract's reason word for a cloud error.
    static func reason(_ error: CloudError) -> String {
        switch error.code {
        case .insufficientCapacity:
            error.cloudCode?.contains("Price") == true ? "spot_price" : "insufficient_capacity"
        case .quotaExceeded: "limit"
        case .invalidRequest: "invalid"
        case .unavailable: "other"
        }
    }
}
