// What a cluster agent reports to the coordinator (SYSTEM.md §2, Report flow). Plain values shared by the agent,
// the coordinator and the simulator.

/// A cluster's stable name across the fleet, e.g. `prod-eu-1`.
public struct ClusterID: Codable, Sendable, Hashable, Comparable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public static func < (a: ClusterID, b: ClusterID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { rawValue }

    /// Encoded as a plain string, so files and peers in other languages see `"prod-eu-1"`.
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// A node's lifecycle as the agent sees it.
public enum NodeState: String, Codable, Sendable, Hashable {
    /// Launched, not yet Ready in Kubernetes.
    case launching
    case ready
    /// Registered but NotReady (kubelet or network trouble).
    case notReady
    /// Cordoned and being drained.
    case draining
    /// Instance termination requested.
    case terminating

    /// A node in this state counts toward capacity (see `NodeReport.isActive`).
    var isActive: Bool { self == .launching || self == .ready || self == .notReady }
}

/// One node as the agent reported it.
public struct NodeReport: Codable, Sendable, Hashable {
    /// Kubernetes node name.
    public var name: String
    /// EC2 instance id (`i-…`).
    public var instanceID: String
    /// EC2 instance type, e.g. `m6i.large`.
    public var instanceType: String
    public var market: Market
    public var availabilityZone: String
    public var state: NodeState
    /// When the instance was launched (EC2 LaunchTime); its age is `now - launchedAt`.
    public var launchedAt: Timestamp
    /// Allocatable resources of the node (Kubernetes `status.allocatable`).
    public var allocatable: Resources
    /// Sum of the requests of the pods running on it.
    public var requested: Resources
    public var podCount: Int
    /// The node runs a pod that must not be evicted (no controller, local storage, a PDB at zero, or the
    /// `safe-to-evict: false` annotation); such a node is never chosen for a drain.
    public var hasDrainBlockingPods: Bool

    public init(
        name: String,
        instanceID: String,
        instanceType: String,
        market: Market,
        availabilityZone: String,
        state: NodeState,
        launchedAt: Timestamp,
        allocatable: Resources,
        requested: Resources,
        podCount: Int,
        hasDrainBlockingPods: Bool = false
    ) {
        self.name = name
        self.instanceID = instanceID
        self.instanceType = instanceType
        self.market = market
        self.availabilityZone = availabilityZone
        self.state = state
        self.launchedAt = launchedAt
        self.allocatable = allocatable
        self.requested = requested
        self.podCount = podCount
        self.hasDrainBlockingPods = hasDrainBlockingPods
    }

    /// The node counts toward capacity: it runs or will soon run pods, and is not leaving.
    public var isActive: Bool { state.isActive }
    /// The node is being removed (drain or termination in progress).
    public var isLeaving: Bool { state == .draining || state == .terminating }
    /// Its age at `now`.
    public func age(at now: Timestamp) -> Duration { now - launchedAt }
}

/// Pods the scheduler could not place.
public struct PendingPods: Codable, Sendable, Hashable {
    public var count: Int
    /// Sum of their requests.
    public var totalRequests: Resources
    /// The largest single pod's request (per dimension), which a new node must be able to hold.
    public var largestRequest: Resources

    public init(count: Int, totalRequests: Resources, largestRequest: Resources) {
        self.count = count
        self.totalRequests = totalRequests
        self.largestRequest = largestRequest
    }

    public static let none = PendingPods(count: 0, totalRequests: .zero, largestRequest: .zero)
}

/// Measured CPU and memory utilisation of the cluster (0…1 of allocatable).
public struct Utilisation: Codable, Sendable, Hashable {
    public var cpu: Double
    public var memory: Double
    public init(cpu: Double, memory: Double) {
        self.cpu = cpu
        self.memory = memory
    }

    /// The part of `allocatable` in use at these shares, rounded down; a share outside 0…1 (or not a number) is
    /// clamped to it, so a bad report cannot claim more than the nodes hold.
    public func share(of allocatable: Resources) -> Resources {
        func used(_ share: Double, _ total: Int) -> Int {
            let fraction = share.isNaN ? 0 : min(1, max(0, share))
            guard total > 0 else { return 0 }
            let product = (fraction * Double(total)).rounded(.down)
            // Past 2^62 the conversion could reach `Int.max` and trap; a report that large is absurd and counts as full.
            return product >= 0x1p62 ? total : min(total, Int(product))
        }
        return Resources(
            cpuMillicores: used(cpu, allocatable.cpuMillicores),
            memoryBytes: used(memory, allocatable.memoryBytes)
        )
    }
}

/// One custom metric the agent's configuration names (`prometheus.custom-metrics`), as the agent last read it: the
/// cluster-wide value and how much of it one worker handles, KEDA style (`queue_depth` at 100 messages per node).
///
/// The planner sizes the cluster to at least `nodesWanted` workers while the metric is fresh; a stale one (its
/// source failed or its data is older than the agent's `max-age`) carries the last value read and never lets the
/// cluster scale down.
public struct CustomMetricReport: Codable, Sendable, Hashable {
    /// The configured name, e.g. `queue_depth`.
    public var name: String
    /// The query's value for the whole cluster.
    public var value: Double
    /// How much of the metric one worker handles; the agent's configuration keeps it above 0.
    public var targetPerNode: Double
    /// The value is the last one read, not a current one.
    public var stale: Bool

    public init(name: String, value: Double, targetPerNode: Double, stale: Bool = false) {
        self.name = name
        self.value = value
        self.targetPerNode = targetPerNode
        self.stale = stale
    }

    /// Workers the metric asks for: `ceil(value / targetPerNode)`, at least 0; nil when the numbers give no count
    /// (a target of 0 or less, a value or quotient that is not finite, or a count too large for an `Int`).
    public var nodesWanted: Int? {
        guard targetPerNode > 0, value.isFinite, targetPerNode.isFinite else { return nil }
        let nodes = (value / targetPerNode).rounded(.up)
        guard nodes.isFinite, nodes < Double(Int32.max) else { return nil }
        return max(0, Int(nodes))
    }
}

extension CustomMetricReport {
    /// `'queue_depth' = 250 at 100 per node`, for the planner's reasons.
    var describedForReason: String {
        "'\(name)' = \(Self.plain(value)) at \(Self.plain(targetPerNode)) per node"
    }

    /// A whole number without the `.0` Swift prints, any other as Swift prints it.
    static func plain(_ value: Double) -> String {
        value.isFinite && value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

/// A spot interruption (two-minute warning) or rebalance recommendation for one node.
public struct InterruptionNotice: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, Hashable {
        case interruption
        case rebalanceRecommendation = "rebalance-recommendation"
    }
    public var kind: Kind
    public var nodeName: String
    public var instanceType: String
    public var availabilityZone: String
    public var receivedAt: Timestamp

    public init(kind: Kind, nodeName: String, instanceType: String, availabilityZone: String, receivedAt: Timestamp) {
        self.kind = kind
        self.nodeName = nodeName
        self.instanceType = instanceType
        self.availabilityZone = availabilityZone
        self.receivedAt = receivedAt
    }
}

/// A launch EC2 refused (InsufficientInstanceCapacity, spot price or quota): the planner avoids the pool a while.
public struct LaunchFailure: Codable, Sendable, Hashable {
    public var instanceType: String
    public var market: Market
    public var availabilityZone: String
    public var failedAt: Timestamp
    /// EC2's error code, e.g. `InsufficientInstanceCapacity`.
    public var reason: String

    public init(instanceType: String, market: Market, availabilityZone: String, failedAt: Timestamp, reason: String) {
        self.instanceType = instanceType
        self.market = market
        self.availabilityZone = availabilityZone
        self.failedAt = failedAt
        self.reason = reason
    }
}

/// Everything one agent tells the coordinators about its cluster at one instant.
///
/// The planner treats a report as the truth about the cluster at `observedAt`; a report older than
/// `clusterLostAfter` marks the cluster as lost.
public struct ClusterReport: Codable, Sendable, Hashable {
    public var clusterID: ClusterID
    public var region: String
    /// The zones the cluster has subnets in.
    public var availabilityZones: [String]
    public var nodes: [NodeReport]
    public var pending: PendingPods
    public var utilisation: Utilisation
    public var notices: [InterruptionNotice]
    /// Launches that failed since the last report.
    public var launchFailures: [LaunchFailure]
    /// When the agent took this snapshot.
    public var observedAt: Timestamp
    /// The measured p90 time from launch to node Ready; the forecast looks this far ahead. Nil until measured.
    public var launchToReadyP90: Duration?
    /// The agent's metrics source is stale (Prometheus down): the planner never scales down on stale data.
    public var metricsStale: Bool
    /// Instances of the cluster (ids, `i-…`, sorted) that have not become a Ready node within the agent's
    /// `maxNodeProvisionTime`: the leader asks the agent to terminate one once two reports in a row name it. On the
    /// wire the member is left out when empty, and a report without it (an older peer's) has none.
    public var orphans: [String]
    /// The custom metrics the agent's configuration names, in its order; empty when it names none (and from
    /// agents older than the field).
    public var customMetrics: [CustomMetricReport]

    public init(
        clusterID: ClusterID,
        region: String,
        availabilityZones: [String],
        nodes: [NodeReport],
        pending: PendingPods = .none,
        utilisation: Utilisation = Utilisation(cpu: 0, memory: 0),
        notices: [InterruptionNotice] = [],
        launchFailures: [LaunchFailure] = [],
        observedAt: Timestamp,
        launchToReadyP90: Duration? = nil,
        metricsStale: Bool = false,
        orphans: [String] = [],
        customMetrics: [CustomMetricReport] = []
    ) {
        self.clusterID = clusterID
        self.region = region
        self.availabilityZones = availabilityZones
        self.nodes = nodes
        self.pending = pending
        self.utilisation = utilisation
        self.notices = notices
        self.launchFailures = launchFailures
        self.observedAt = observedAt
        self.launchToReadyP90 = launchToReadyP90
        self.metricsStale = metricsStale
        self.orphans = orphans
        self.customMetrics = customMetrics
    }
}
