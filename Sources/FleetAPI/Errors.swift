import Wire

/// A command carried an epoch lower than the highest the agent has seen: it came from a deposed leader and was
/// not executed. The sender must stop acting as leader.
public struct StaleEpochError: WireRemoteError, Hashable, CustomStringConvertible {
    public static let wireErrorCode = "ballast.stale-epoch"

    /// The epoch the command carried.
    public var presented: FencingEpoch
    /// The highest epoch the agent has seen (and persisted).
    public var highestSeen: FencingEpoch

    public init(presented: FencingEpoch, highestSeen: FencingEpoch) {
        self.presented = presented
        self.highestSeen = highestSeen
    }

    public var description: String {
        "command refused: its epoch \(presented) is lower than epoch \(highestSeen) already seen; the sender is no longer leader"
    }
}

/// A command was refused for a reason other than its epoch; nothing was executed.
public struct CommandRejectedError: WireRemoteError, Hashable, CustomStringConvertible {
    public static let wireErrorCode = "ballast.command-rejected"

    public enum Reason: String, Codable, Hashable, Sendable {
        /// The command names another cluster than the agent's.
        case wrongCluster = "wrong-cluster"
        /// The node to drain is not one of this cluster's workers.
        case unknownNode = "unknown-node"
        /// A value is out of range (a count of zero, an unknown zone, ...).
        case invalid
        /// The cluster is paused by the operator.
        case paused
        /// The agent cannot act safely now (its epoch file cannot be written, its Kubernetes API or cloud does not
        /// answer); the sender may retry later.
        case unavailable = "agent-unavailable"
        /// The caller authenticated as one node and asked for another's (an agent reporting for a cluster not its
        /// own).
        case identityMismatch = "identity-mismatch"
    }

    public var reason: Reason
    public var message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "command rejected (\(reason.rawValue)): \(message)" }
}

/// An operator request that only the leader may serve reached a follower; `leader` says where to go.
public struct NotLeaderError: WireRemoteError, Hashable, CustomStringConvertible {
    public static let wireErrorCode = "ballast.not-leader"

    /// The node id of the leader as far as this replica knows, if any.
    public var leader: String?

    public init(leader: String?) {
        self.leader = leader
    }

    public var description: String {
        leader.map { "this coordinator is not the leader; ask \($0)" }
            ?? "this coordinator is not the leader; no leader is known"
    }
}

/// The agent accepted a launch but the cloud refused it (no capacity in the pool, a quota, a bad request); nothing
/// was launched. The agent also reports the failure as a `LaunchFailure`, so the planner moves to the next pool.
public struct LaunchFailedError: WireRemoteError, Hashable, CustomStringConvertible {
    public static let wireErrorCode = "ballast.launch-failed"
    /// The failure's class, as the agent's cloud port sorts it: `insufficient-capacity`, `quota-exceeded`,
    /// `invalid-request` or `unavailable`.
    public var code: String
    /// The cloud's own error code (e.g. `InsufficientInstanceCapacity`), when it gave one.
    public var cloudCode: String?
    public var message: String

    public init(code: String, cloudCode: String?, message: String) {
        self.code = code
        self.cloudCode = cloudCode
        self.message = message
    }

    public var description: String {
        "launch failed (\(code)\(cloudCode.map { ", \($0)" } ?? "")): \(message)"
    }
}
