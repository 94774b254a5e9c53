import Cost
import Crypto

/// An idempotency token for one launch: derived from (cluster, epoch, generation, slot), so the same planned
/// launch retried any number of times carries the same token, and EC2 (as `ClientToken`) launches it once.
public struct LaunchToken: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// EC2 accepts client tokens of up to 64 ASCII characters.
    public static let maximumLength = 64

    /// The token of launch slot `slot` planned for `cluster` in plan `generation` under `epoch`: `bl-` and the
    /// first 32 hex digits of SHA-256 over the four values, so it fits EC2's limit and never repeats across
    /// leaders (the epoch differs) or rounds (the generation differs).
    public static func derive(cluster: ClusterID, epoch: FencingEpoch, generation: UInt64, slot: Int) -> LaunchToken {
        var hasher = SHA256()
        hasher.update(
            data: Array("ballast-launch-v1\0\(cluster.rawValue)\0\(epoch.rawValue)\0\(generation)\0\(slot)".utf8)
        )
        let digest = hasher.finalize()
        let hex = digest.prefix(16).map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
        }.joined()
        return LaunchToken(rawValue: "bl-" + hex)
    }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let value = try container.decode(String.self)
        guard !value.isEmpty, value.utf8.count <= Self.maximumLength,
            value.allSatisfy({ $0.isASCII && !$0.isWhitespace })
        else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "a launch token is 1–64 printable ASCII characters"
            )
        }
        self.rawValue = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The leader asks a cluster's agent to launch `count` workers in one pool (instance type × market × zone).
public struct LaunchCommand: Codable, Hashable, Sendable {
    public var stamp: CommandStamp
    public var cluster: ClusterID
    public var instanceType: String
    public var market: Market
    public var availabilityZone: String
    public var count: Int
    /// Passed to EC2 as the ClientToken: a retried command launches nothing twice.
    public var token: LaunchToken
    /// Why the planner wants these nodes, for the agent's log.
    public var reason: String

    public init(
        stamp: CommandStamp,
        cluster: ClusterID,
        instanceType: String,
        market: Market,
        availabilityZone: String,
        count: Int,
        token: LaunchToken,
        reason: String
    ) {
        self.stamp = stamp
        self.cluster = cluster
        self.instanceType = instanceType
        self.market = market
        self.availabilityZone = availabilityZone
        self.count = count
        self.token = token
        self.reason = reason
    }
}

/// What an agent answers to a launch it accepted: the instances EC2 reported for the token (a retry returns
/// the same instances).
public struct LaunchReceipt: Codable, Hashable, Sendable {
    public var token: LaunchToken
    public var instanceIDs: [String]

    public init(token: LaunchToken, instanceIDs: [String]) {
        self.token = token
        self.instanceIDs = instanceIDs
    }
}

/// The leader asks a cluster's agent to drain one worker: cordon, evict through the Eviction API (honouring
/// PodDisruptionBudgets) until `deadlineSeconds`, then terminate the instance and delete the node.
public struct DrainCommand: Codable, Hashable, Sendable {
    public var stamp: CommandStamp
    public var cluster: ClusterID
    public var nodeName: String
    /// How long evictions may be retried before the drain gives up (and the node is kept).
    public var deadlineSeconds: Int
    public var reason: String

    public init(stamp: CommandStamp, cluster: ClusterID, nodeName: String, deadlineSeconds: Int, reason: String) {
        self.stamp = stamp
        self.cluster = cluster
        self.nodeName = nodeName
        self.deadlineSeconds = deadlineSeconds
        self.reason = reason
    }
}

/// What an agent answers to a drain it accepted; the drain itself runs on after the answer.
public struct DrainReceipt: Codable, Hashable, Sendable {
    public var nodeName: String
    /// True when the same drain was already under way (a retried command changes nothing).
    public var alreadyDraining: Bool

    public init(nodeName: String, alreadyDraining: Bool) {
        self.nodeName = nodeName
        self.alreadyDraining = alreadyDraining
    }
}

/// A coordinator's answer to a report: who it believes leads, so agents learn of a new epoch early.
public struct ReportAcknowledgement: Codable, Hashable, Sendable {
    /// The node id of the coordinator that received the report.
    public var coordinator: String
    /// Whether that coordinator is the leader now.
    public var isLeader: Bool
    /// The highest fencing epoch that coordinator knows of.
    public var epoch: FencingEpoch

    public init(coordinator: String, isLeader: Bool, epoch: FencingEpoch) {
        self.coordinator = coordinator
        self.isLeader = isLeader
        self.epoch = epoch
    }
}

/// The leader asks a cluster's agent to terminate instances that its last two reports named as orphans (no Ready
/// node within the agent's `maxNodeProvisionTime`). The agent checks each again before it acts: one whose node has
/// appeared meanwhile, or that is no longer past the provision time, is kept and said so in the receipt.
public struct TerminateOrphansCommand: Codable, Hashable, Sendable {
    public var stamp: CommandStamp
    public var cluster: ClusterID
    /// Instance ids (`i-…`).
    public var instanceIDs: [String]
    public var reason: String

    public init(stamp: CommandStamp, cluster: ClusterID, instanceIDs: [String], reason: String) {
        self.stamp = stamp
        self.cluster = cluster
        self.instanceIDs = instanceIDs
        self.reason = reason
    }
}

/// What an agent did with a `TerminateOrphansCommand`: every instance of the command is in exactly one of the lists.
public struct OrphanTerminationReceipt: Codable, Hashable, Sendable {
    /// An instance the agent kept, and why.
    public struct Kept: Codable, Hashable, Sendable {
        public var instanceID: String
        public var reason: String

        public init(instanceID: String, reason: String) {
            self.instanceID = instanceID
            self.reason = reason
        }
    }

    /// Instances whose termination the cloud accepted.
    public var terminated: [String]
    /// Instances the cloud does not list for the cluster (terminated already, or never its own): nothing to do.
    public var gone: [String]
    /// Instances that are no orphans any more (a node maps to them, or they are not yet past the provision time).
    public var kept: [Kept]

    public init(terminated: [String], gone: [String] = [], kept: [Kept] = []) {
        self.terminated = terminated
        self.gone = gone
        self.kept = kept
    }
}
