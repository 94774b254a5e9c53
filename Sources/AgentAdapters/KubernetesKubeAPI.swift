import ClusterAgent
import Cost
import Foundation
import KubernetesClient

/// The agent's `KubeAPI` on a real API server (K3s's, through its kubeconfig or the in-cluster service account):
/// nodes and pods listed, cordon and the drain mark in one merge patch, evictions through `policy/v1` Eviction (so
/// PodDisruptionBudgets are honoured), node deletion. Nodes map to their instances by provider id, else by the
/// `ballast.io/instance-id` label the launch template's user-data sets, else (by the agent) by internal IP.
///
/// Promise: no pod is ever deleted directly; an eviction the server refuses with any status but 429 and 404 is an
/// error carrying that status (500: several budgets match the pod), never reported as done.
public struct KubernetesKubeAPI: KubeAPI {
    /// The labels the workers are given at join (deploy/cloudformation/cluster.yaml's user-data).
    public static let instanceTypeLabel = "node.kubernetes.io/instance-type"
    public static let zoneLabel = "topology.kubernetes.io/zone"
    public static let marketLabel = "ballast.io/market"

    private let client: KubernetesClient

    public init(client: KubernetesClient) {
        self.client = client
    }

    public func nodes() async throws(KubeAPIError) -> [KubeNode] {
        try await call { try await client.nodes() }.map(Self.node)
    }

    public func pods() async throws(KubeAPIError) -> [KubePod] {
        // Mapped page by page: the agent lists every pod each report, and keeps only what it needs of each.
        try await call { try await client.list(Pod.self, transform: Self.pod) }
    }

    public func pods(onNode node: String) async throws(KubeAPIError) -> [KubePod] {
        try await call { try await client.pods(onNode: node) }.map(Self.pod)
    }

    public func cordon(node: String) async throws(KubeAPIError) {
        _ = try await call { try await client.cordon(node: node) }
    }

    public func markDraining(node: String, until: Timestamp) async throws(KubeAPIError) {
        let deadline = Self.rfc3339(until)
        _ = try await call { try await client.cordon(node: node, annotations: [drainingAnnotation: deadline]) }
    }

    public func evict(_ pod: KubePod.Reference) async throws(KubeAPIError) -> EvictionOutcome {
        let outcome = try await call { try await client.evict(namespace: pod.namespace, pod: pod.name) }
        switch outcome {
        case .evicted: return .evicted
        case .blockedByDisruptionBudget(let message): return .blockedByDisruptionBudget(message: message)
        case .notFound: return .gone
        case .refused(let status, let reason, let message):
            throw KubeAPIError(
                status == 401 || status == 403 ? .unauthorized : .failed,
                status: status,
                "eviction of \(pod) refused\(reason.map { " (\($0))" } ?? ""): \(message)"
            )
        }
    }

    public func deleteNode(_ name: String) async throws(KubeAPIError) {
        do {
            try await client.delete(node: name)
        } catch let error as KubernetesError where error.isNotFound {
            return  // Already gone: what a deletion wants.
        } catch {
            throw Self.map(error)
        }
    }

    // MARK: Mapping

    static func node(_ node: Node) -> KubeNode {
        let labels = node.metadata.labels
        let instanceID = node.providerID.flatMap(KubeNode.instanceID(fromProviderID:)) ?? labels[instanceIDLabel]
        return KubeNode(
            name: node.name,
            instanceID: instanceID,
            instanceType: labels[instanceTypeLabel],
            availabilityZone: labels[zoneLabel],
            market: labels[marketLabel].flatMap(Market.init(rawValue:)),
            unschedulable: node.isUnschedulable,
            ready: node.isReady,
            readySince: node.readySince.map(Self.timestamp),
            createdAt: node.metadata.creationTimestamp.map(Self.timestamp) ?? Timestamp(sinceEpoch: .zero),
            allocatable: Resources(
                cpuMillicores: Int(node.allocatable["cpu"]?.milliValue ?? 0),
                memoryBytes: Int(node.allocatable["memory"]?.value ?? 0)
            ),
            labels: labels,
            internalIP: node.internalIP,
            drainingUntil: node.metadata.annotations[drainingAnnotation].flatMap(Self.parseRFC3339)
        )
    }

    static func pod(_ pod: Pod) -> KubePod {
        KubePod(
            reference: KubePod.Reference(namespace: pod.namespace, name: pod.name),
            nodeName: pod.nodeName,
            phase: pod.phase.flatMap(KubePod.Phase.init(rawValue:)) ?? .unknown,
            unschedulable: pod.isUnschedulable,
            requests: Resources(cpuMillicores: Int(pod.cpuRequestMillis), memoryBytes: Int(pod.memoryRequestBytes)),
            isDaemonSetPod: pod.isDaemonSetPod,
            isMirrorPod: pod.isMirrorPod,
            isTerminating: pod.isTerminating
        )
    }

    private func call<T>(_ body: () async throws -> T) async throws(KubeAPIError) -> T {
        do {
            return try await body()
        } catch {
            throw Self.map(error)
        }
    }

    static func map(_ error: any Error) -> KubeAPIError {
        guard let error = error as? KubernetesError else { return KubeAPIError(.unreachable, "\(error)") }
        switch error.httpStatus {
        case nil: return KubeAPIError(.unreachable, error.message)
        case 401, 403: return KubeAPIError(.unauthorized, status: error.httpStatus, error.message)
        default: return KubeAPIError(.failed, status: error.httpStatus, error.message)
        }
    }

    static func timestamp(_ date: Date) -> Timestamp {
        Timestamp(sinceEpoch: .milliseconds(Int64((date.timeIntervalSince1970 * 1000).rounded())))
    }

    static func rfc3339(_ time: Timestamp) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(time.millisecondsSinceEpoch) / 1000))
    }

    static func parseRFC3339(_ text: String) -> Timestamp? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text).map(timestamp)
    }
}
