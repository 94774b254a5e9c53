import Cost
import Distributed
import Wire

/// What an operator's `coordctl` may ask a coordinator replica.
@Resolvable
public protocol CoordinatorAdminEndpoint: DistributedActor where ActorSystem == WireActorSystem {
    /// The fleet as this replica sees it: every cluster's last report and last plan.
    distributed func status() async throws -> FleetStatus
}

/// A coordinator replica's view of the fleet, for `coordctl status`.
public struct FleetStatus: Codable, Hashable, Sendable {
    /// The replica that answered.
    public var coordinator: String
    /// Whether it is the leader, and the highest epoch it knows.
    public var isLeader: Bool
    public var epoch: FencingEpoch
    /// The generation of its last plan (0 before the first).
    public var planGeneration: UInt64
    public var clusters: [ClusterStatus]
    /// The last plan's fleet-wide reasons (budget squeeze, shortfall, failover), one line each.
    public var planReasons: [String]

    public init(
        coordinator: String,
        isLeader: Bool,
        epoch: FencingEpoch,
        planGeneration: UInt64,
        clusters: [ClusterStatus],
        planReasons: [String]
    ) {
        self.coordinator = coordinator
        self.isLeader = isLeader
        self.epoch = epoch
        self.planGeneration = planGeneration
        self.clusters = clusters
        self.planReasons = planReasons
    }
}

/// One cluster's line in `coordctl status`.
public struct ClusterStatus: Codable, Hashable, Sendable {
    public var cluster: ClusterID
    public var region: String
    /// Seconds since its agent's last report reached this replica.
    public var reportAgeSeconds: Double
    public var onDemandNodes: Int
    public var spotNodes: Int
    public var pendingPods: Int
    public var cpuUtilisation: Double
    /// What the last plan wants: nodes kept plus launched, and how many it drains.
    public var desiredNodes: Int
    public var plannedLaunches: Int
    public var plannedDrains: Int
    /// The planned hourly cost of the desired nodes, in USD.
    public var plannedUSDPerHour: Double
    /// The plan's status for the cluster (`planned`, `paused`, `lost`, `region-failed`), nil before a plan.
    public var planStatus: String?
    /// The reasons of the last plan's decisions for this cluster, one line each.
    public var reasons: [String]

    public init(
        cluster: ClusterID,
        region: String,
        reportAgeSeconds: Double,
        onDemandNodes: Int,
        spotNodes: Int,
        pendingPods: Int,
        cpuUtilisation: Double,
        desiredNodes: Int,
        plannedLaunches: Int,
        plannedDrains: Int,
        plannedUSDPerHour: Double,
        planStatus: String?,
        reasons: [String]
    ) {
        self.cluster = cluster
        self.region = region
        self.reportAgeSeconds = reportAgeSeconds
        self.onDemandNodes = onDemandNodes
        self.spotNodes = spotNodes
        self.pendingPods = pendingPods
        self.cpuUtilisation = cpuUtilisation
        self.desiredNodes = desiredNodes
        self.plannedLaunches = plannedLaunches
        self.plannedDrains = plannedDrains
        self.plannedUSDPerHour = plannedUSDPerHour
        self.planStatus = planStatus
        self.reasons = reasons
    }
}

extension WireEndpoint {
    /// Operators' requests: only `coordctl`, authenticated with the admin secret.
    public static let coordinatorAdmin = WireEndpoint(stub: $CoordinatorAdminEndpoint.self, callers: [.admin]) {
        $0 is any CoordinatorAdminEndpoint
    }
}
