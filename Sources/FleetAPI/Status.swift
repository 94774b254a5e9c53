import Cost
import Distributed
import Wire

/// What an operator's `coordctl` may ask a coordinator replica.
@Resolvable
public protocol CoordinatorAdminEndpoint: DistributedActor where ActorSystem == WireActorSystem {
    /// The fleet as this replica sees it: every cluster's last report and last plan.
    distributed func status() async throws -> FleetStatus
    /// Who leads the fleet now, as the lease says.
    distributed func leader() async throws -> LeaderInfo
    /// The fleet's monthly budget as the leader plans with it (nil: unlimited).
    distributed func budget() async throws -> FleetBudget?
    /// Sets the monthly budget (leader only; written fenced by its epoch before it takes effect).
    distributed func setBudget(_ budget: FleetBudget?) async throws -> FleetBudget?
    /// One cluster's policy as the leader plans with it.
    distributed func policy(_ cluster: ClusterID) async throws -> ClusterPolicy
    /// Changes some of a cluster's policy (leader only, fenced); answers the policy now in force.
    distributed func updatePolicy(_ cluster: ClusterID, _ change: PolicyChange) async throws -> ClusterPolicy
    /// Asks the cluster's agent to drain one node now (leader only).
    distributed func drain(_ cluster: ClusterID, node: String) async throws -> DrainReceipt
    /// The decision journal, newest last: at most `limit` entries after `after` (a sequence number), of one
    /// cluster when `cluster` is set.
    distributed func events(after: UInt64, cluster: ClusterID?, limit: Int) async throws -> [JournalEntry]
    /// What the leader would do now, without doing it.
    distributed func previewPlan() async throws -> FleetStatus
    /// Marks a region or a cluster failed: its demand goes to the failover targets (`targets`, when given, become
    /// the failover targets of every cluster failed over). Leader only, fenced; answers what is failed now.
    distributed func failover(_ request: FailoverRequest) async throws -> FailoverState
    /// Ends a region's or a cluster's failover: it plans for itself again. Leader only, fenced.
    distributed func failback(_ request: FailoverRequest) async throws -> FailoverState
}

/// What to fail over or back: exactly one of a region or a cluster; `targets` only for a failover.
public struct FailoverRequest: Codable, Hashable, Sendable {
    public var region: String?
    public var cluster: ClusterID?
    public var targets: [ClusterID]

    public init(region: String? = nil, cluster: ClusterID? = nil, targets: [ClusterID] = []) {
        self.region = region
        self.cluster = cluster
        self.targets = targets
    }
}

/// What is failed over now.
public struct FailoverState: Codable, Hashable, Sendable {
    public var failedRegions: [String]
    public var failedClusters: [ClusterID]

    public init(failedRegions: [String], failedClusters: [ClusterID]) {
        self.failedRegions = failedRegions
        self.failedClusters = failedClusters
    }
}

/// Who leads a fleet, for `coordctl leader` and for a follower's redirect.
public struct LeaderInfo: Codable, Hashable, Sendable {
    /// The replica that answered, and whether it leads.
    public var coordinator: String
    public var isLeader: Bool
    /// The lease's current epoch and its holder (holder id and the address its agents and coordctl reach it at).
    public var epoch: FencingEpoch
    public var holder: String?
    public var address: String?

    public init(coordinator: String, isLeader: Bool, epoch: FencingEpoch, holder: String?, address: String?) {
        self.coordinator = coordinator
        self.isLeader = isLeader
        self.epoch = epoch
        self.holder = holder
        self.address = address
    }
}

/// A change to some fields of a cluster's policy; a nil field is left as it is.
public struct PolicyChange: Codable, Hashable, Sendable {
    public var failoverTargets: [ClusterID]?
    public var targetUtilisation: Double?
    public var disruptionBudget: Double?
    public var maxEvictionsPerHour: Int?
    /// Whole seconds (a plain JSON integer, like every duration of the fleet's messages but `Duration`'s own).
    public var scaleDownUnneededSeconds: Int?
    public var scaleDownDelayAfterAddSeconds: Int?
    public var minNodes: Int?
    public var maxNodes: Int?
    public var onDemandBase: Int?
    public var targetSpotShare: Double?
    public var priorityClass: PriorityClass?
    public var weight: Double?
    public var paused: Bool?

    public init(
        minNodes: Int? = nil,
        maxNodes: Int? = nil,
        onDemandBase: Int? = nil,
        targetSpotShare: Double? = nil,
        priorityClass: PriorityClass? = nil,
        weight: Double? = nil,
        paused: Bool? = nil,
        failoverTargets: [ClusterID]? = nil,
        targetUtilisation: Double? = nil,
        disruptionBudget: Double? = nil,
        maxEvictionsPerHour: Int? = nil,
        scaleDownUnneededSeconds: Int? = nil,
        scaleDownDelayAfterAddSeconds: Int? = nil
    ) {
        self.failoverTargets = failoverTargets
        self.targetUtilisation = targetUtilisation
        self.disruptionBudget = disruptionBudget
        self.maxEvictionsPerHour = maxEvictionsPerHour
        self.scaleDownUnneededSeconds = scaleDownUnneededSeconds
        self.scaleDownDelayAfterAddSeconds = scaleDownDelayAfterAddSeconds
        self.minNodes = minNodes
        self.maxNodes = maxNodes
        self.onDemandBase = onDemandBase
        self.targetSpotShare = targetSpotShare
        self.priorityClass = priorityClass
        self.weight = weight
        self.paused = paused
    }

    /// `policy` with this change applied.
    public func applied(to policy: ClusterPolicy) -> ClusterPolicy {
        var policy = policy
        if let minNodes { policy.minNodes = minNodes }
        if let maxNodes { policy.maxNodes = maxNodes }
        if let onDemandBase { policy.onDemandBase = onDemandBase }
        if let targetSpotShare { policy.targetSpotShare = targetSpotShare }
        if let priorityClass { policy.priorityClass = priorityClass }
        if let weight { policy.weight = weight }
        if let paused { policy.paused = paused }
        if let failoverTargets { policy.failoverTargets = failoverTargets }
        if let targetUtilisation { policy.targetUtilisation = targetUtilisation }
        if let disruptionBudget { policy.disruptionBudget = disruptionBudget }
        if let maxEvictionsPerHour { policy.maxEvictionsPerHour = maxEvictionsPerHour }
        if let scaleDownUnneededSeconds { policy.scaleDownUnneeded = .seconds(scaleDownUnneededSeconds) }
        if let scaleDownDelayAfterAddSeconds { policy.scaleDownDelayAfterAdd = .seconds(scaleDownDelayAfterAddSeconds) }
        return policy
    }

    /// This change followed by `later`: the later value of each field wins.
    public func merged(with later: PolicyChange) -> PolicyChange {
        PolicyChange(
            minNodes: later.minNodes ?? minNodes,
            maxNodes: later.maxNodes ?? maxNodes,
            onDemandBase: later.onDemandBase ?? onDemandBase,
            targetSpotShare: later.targetSpotShare ?? targetSpotShare,
            priorityClass: later.priorityClass ?? priorityClass,
            weight: later.weight ?? weight,
            paused: later.paused ?? paused,
            failoverTargets: later.failoverTargets ?? failoverTargets,
            targetUtilisation: later.targetUtilisation ?? targetUtilisation,
            disruptionBudget: later.disruptionBudget ?? disruptionBudget,
            maxEvictionsPerHour: later.maxEvictionsPerHour ?? maxEvictionsPerHour,
            scaleDownUnneededSeconds: later.scaleDownUnneededSeconds ?? scaleDownUnneededSeconds,
            scaleDownDelayAfterAddSeconds: later.scaleDownDelayAfterAddSeconds ?? scaleDownDelayAfterAddSeconds
        )
    }
}

/// One decision or event in the leader's journal, with its reason.
public struct JournalEntry: Codable, Hashable, Sendable {
    /// Increases by one per entry, across leaders (a new leader continues from the stored journal).
    public var sequence: UInt64
    /// Milliseconds since the Unix epoch.
    public var time: Timestamp
    public var cluster: ClusterID?
    /// What happened: `launch`, `drain`, `refused`, `leader`, `budget`, `policy`, `stuck-drain`, ...
    public var kind: String
    public var message: String
    public var epoch: FencingEpoch

    public init(
        sequence: UInt64,
        time: Timestamp,
        cluster: ClusterID?,
        kind: String,
        message: String,
        epoch: FencingEpoch
    ) {
        self.sequence = sequence
        self.time = time
        self.cluster = cluster
        self.kind = kind
        self.message = message
        self.epoch = epoch
    }
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
    /// Of the active workers, those whose Kubernetes node is Ready (the rest are booting or not Ready).
    public var readyNodes: Int
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
        readyNodes: Int,
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
        self.readyNodes = readyNodes
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
    public static let coordinatorAdmin = WireEndpoint(
        stub: $CoordinatorAdminEndpoint.self,
        callers: [.admin],
        isImplemented: { $0 is any CoordinatorAdminEndpoint },
        calls: [
            WireCall("fleet.admin.status", swift: "status()") { (admin: any CoordinatorAdminEndpoint, _) in
                try await admin.status()
            },
            WireCall("fleet.admin.leader", swift: "leader()") { (admin: any CoordinatorAdminEndpoint, _) in
                try await admin.leader()
            },
            WireCall("fleet.admin.budget", swift: "budget()") { (admin: any CoordinatorAdminEndpoint, _) in
                try await admin.budget()
            },
            WireCall("fleet.admin.set-budget", swift: "setBudget(_:)") {
                (admin: any CoordinatorAdminEndpoint, arguments) in
                try await admin.setBudget(arguments.next())
            },
            WireCall("fleet.admin.policy", swift: "policy(_:)") { (admin: any CoordinatorAdminEndpoint, arguments) in
                try await admin.policy(arguments.next())
            },
            WireCall("fleet.admin.update-policy", swift: "updatePolicy(_:_:)") {
                (admin: any CoordinatorAdminEndpoint, arguments) in
                try await admin.updatePolicy(arguments.next(), arguments.next())
            },
            WireCall("fleet.admin.drain", swift: "drain(_:node:)") {
                (admin: any CoordinatorAdminEndpoint, arguments) in
                try await admin.drain(arguments.next(), node: arguments.next())
            },
            WireCall("fleet.admin.events", swift: "events(after:cluster:limit:)") {
                (admin: any CoordinatorAdminEndpoint, arguments) in
                try await admin.events(after: arguments.next(), cluster: arguments.next(), limit: arguments.next())
            },
            WireCall("fleet.admin.preview-plan", swift: "previewPlan()") { (admin: any CoordinatorAdminEndpoint, _) in
                try await admin.previewPlan()
            },
            WireCall("fleet.admin.failover", swift: "failover(_:)") {
                (admin: any CoordinatorAdminEndpoint, arguments) in
                try await admin.failover(arguments.next())
            },
            WireCall("fleet.admin.failback", swift: "failback(_:)") {
                (admin: any CoordinatorAdminEndpoint, arguments) in
                try await admin.failback(arguments.next())
            },
        ]
    )
}
