import Cost

/// The agent's port for seeing its cluster: nodes, pending pods, utilisation, notices. The real implementation
/// reads Prometheus, the Kubernetes API and EC2; the simulated one plays a traffic trace.
public protocol ClusterObserver: Sendable {
    /// A snapshot of the cluster as of `now`.
    func observe(at now: Timestamp) async throws -> ClusterReport
}
