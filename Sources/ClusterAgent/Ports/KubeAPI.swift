import Cost

/// The agent's port for its cluster's Kubernetes API: what it reads (nodes, pods) and the three things it does
/// (cordon, evict, delete a node). The real implementation talks to the API server (the `KubernetesClient` module:
/// kubeconfig or service account, list and watch); the simulated one keeps a simulated cluster's scheduler state.
///
/// Promise: `evict` goes through the Eviction API, so PodDisruptionBudgets are honoured; a blocked eviction is an
/// outcome, not an error, and nothing here deletes a pod directly.
public protocol KubeAPI: Sendable {
    /// Every node of the cluster as of now.
    func nodes() async throws(KubeAPIError) -> [KubeNode]
    /// Every pod of the cluster as of now: running, pending and terminating.
    func pods() async throws(KubeAPIError) -> [KubePod]
    /// Marks a node unschedulable (`spec.unschedulable: true`); cordoning a cordoned node is not an error.
    func cordon(node: String) async throws(KubeAPIError)
    /// Asks the API server to evict one pod, as `policy/v1` Eviction.
    func evict(_ pod: KubePod.Reference) async throws(KubeAPIError) -> EvictionOutcome
    /// Deletes a node object (after its instance is terminated); a node already gone is not an error.
    func deleteNode(_ name: String) async throws(KubeAPIError)
    /// The pods bound to one node (a drain lists them every few seconds). Default: `pods()` filtered; a real
    /// client serves it from a field selector on `spec.nodeName` or its watch cache.
    func pods(onNode node: String) async throws(KubeAPIError) -> [KubePod]
    /// Cordons a node for a drain and marks it as being drained until `until` (the annotation
    /// `ballast.io/draining-until`, read back as `KubeNode.drainingUntil`), so an agent that restarts mid-drain
    /// resumes it and never mistakes an operator's cordon for its own. Default: only cordons (no resume).
    func markDraining(node: String, until: Timestamp) async throws(KubeAPIError)
}

extension KubeAPI {
    public func pods(onNode node: String) async throws(KubeAPIError) -> [KubePod] {
        try await pods().filter { $0.nodeName == node }
    }

    public func markDraining(node: String, until: Timestamp) async throws(KubeAPIError) {
        try await cordon(node: node)
    }
}

/// The annotation a drain leaves on its node (`markDraining`): the drain's deadline, as RFC 3339 UTC.
public let drainingAnnotation = "ballast.io/draining-until"

/// The label the launch template's user-data sets at join: the node's EC2 instance id (K3s without the AWS cloud
/// provider gives nodes no `aws:///zone/i-…` provider id).
public let instanceIDLabel = "ballast.io/instance-id"

/// One node as the agent needs it: identity, what it maps to in EC2, and whether it can take pods.
public struct KubeNode: Sendable, Hashable {
    public var name: String
    /// The EC2 instance behind it, from its provider id or the label set at join.
    public var instanceID: String?
    public var instanceType: String?
    public var availabilityZone: String?
    public var market: Market?
    /// `spec.unschedulable`: cordoned.
    public var unschedulable: Bool
    /// The Ready condition is True.
    public var ready: Bool
    /// When the Ready condition last changed; with `createdAt`, the node's launch-to-Ready time.
    public var readySince: Timestamp?
    public var createdAt: Timestamp
    public var allocatable: Resources
    /// Labels, for what the agent maps by (zone, type, market, instance id).
    public var labels: [String: String]
    /// The node's `InternalIP` address, the last way to find its instance.
    public var internalIP: String?
    /// The deadline of a drain the agent started on it (`markDraining`); nil when no drain of ours marked it.
    public var drainingUntil: Timestamp?

    public init(
        name: String,
        instanceID: String? = nil,
        instanceType: String? = nil,
        availabilityZone: String? = nil,
        market: Market? = nil,
        unschedulable: Bool = false,
        ready: Bool,
        readySince: Timestamp? = nil,
        createdAt: Timestamp,
        allocatable: Resources,
        labels: [String: String] = [:],
        internalIP: String? = nil,
        drainingUntil: Timestamp? = nil
    ) {
        self.name = name
        self.instanceID = instanceID
        self.instanceType = instanceType
        self.availabilityZone = availabilityZone
        self.market = market
        self.unschedulable = unschedulable
        self.ready = ready
        self.readySince = readySince
        self.createdAt = createdAt
        self.allocatable = allocatable
        self.labels = labels
        self.internalIP = internalIP
        self.drainingUntil = drainingUntil
    }

    /// The instance id in an AWS provider id (`aws:///eu-west-1a/i-0abc…`), nil for any other form.
    public static func instanceID(fromProviderID providerID: String) -> String? {
        guard providerID.hasPrefix("aws://"), let last = providerID.split(separator: "/").last,
            last.hasPrefix("i-")
        else { return nil }
        return String(last)
    }
}

/// One pod as the agent needs it: where it runs, what it asks for, and whether a drain must evict it.
public struct KubePod: Sendable, Hashable {
    /// What names a pod for an eviction.
    public struct Reference: Sendable, Hashable, CustomStringConvertible {
        public var namespace: String
        public var name: String

        public init(namespace: String, name: String) {
            self.namespace = namespace
            self.name = name
        }

        public var description: String { "\(namespace)/\(name)" }
    }

    public enum Phase: String, Sendable, Hashable {
        case pending = "Pending"
        case running = "Running"
        case succeeded = "Succeeded"
        case failed = "Failed"
        case unknown = "Unknown"
    }

    public var reference: Reference
    /// The node it is bound to; nil while unscheduled.
    public var nodeName: String?
    public var phase: Phase
    /// The scheduler found no node for it (condition PodScheduled=False, reason Unschedulable).
    public var unschedulable: Bool
    /// The sum of its containers' requests (init containers by their maximum, as the scheduler counts them).
    public var requests: Resources
    /// Owned by a DaemonSet: a drain leaves it, it goes with the node.
    public var isDaemonSetPod: Bool
    /// A static (mirror) pod: the API cannot evict it.
    public var isMirrorPod: Bool
    /// Already being deleted (`metadata.deletionTimestamp` set).
    public var isTerminating: Bool

    public init(
        reference: Reference,
        nodeName: String?,
        phase: Phase,
        unschedulable: Bool = false,
        requests: Resources,
        isDaemonSetPod: Bool = false,
        isMirrorPod: Bool = false,
        isTerminating: Bool = false
    ) {
        self.reference = reference
        self.nodeName = nodeName
        self.phase = phase
        self.unschedulable = unschedulable
        self.requests = requests
        self.isDaemonSetPod = isDaemonSetPod
        self.isMirrorPod = isMirrorPod
        self.isTerminating = isTerminating
    }

    /// Pending because nothing fits: what makes the planner add capacity.
    public var isPendingUnschedulable: Bool { phase == .pending && nodeName == nil && unschedulable }

    /// A drain must evict it before the node may go: not a DaemonSet or mirror pod, not finished, not already
    /// leaving.
    public var mustBeEvictedByDrain: Bool {
        !isDaemonSetPod && !isMirrorPod && !isTerminating && phase != .succeeded && phase != .failed
    }
}

/// What an eviction request came to.
public enum EvictionOutcome: Sendable, Hashable {
    /// The API server accepted it; the pod is terminating.
    case evicted
    /// A PodDisruptionBudget does not allow it now (HTTP 429); retry later.
    case blockedByDisruptionBudget(message: String)
    /// The pod no longer exists.
    case gone
}

/// A Kubernetes API call that failed: a stable code, the API's own reason and message.
public struct KubeAPIError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The API server did not answer.
        case unreachable
        /// Credentials were refused (401) or the action is forbidden (403).
        case unauthorized
        /// Another status the agent does not expect.
        case failed
    }

    public var code: Code
    /// The HTTP status, when there was one.
    public var status: Int?
    public var message: String

    public init(_ code: Code, status: Int? = nil, _ message: String) {
        self.code = code
        self.status = status
        self.message = message
    }

    public var description: String {
        "kubernetes \(code.rawValue)\(status.map { " (HTTP \($0))" } ?? ""): \(message)"
    }
}
