import Cost
import FleetAPI

/// The agent's port for its cluster's instances: launch, terminate, list. The real implementation calls EC2
/// through `AWSClients` (RunInstances from the cluster's launch template with the command's token as the
/// ClientToken, instances tagged with the cluster); the simulated one is a simulated cloud with boot delays,
/// capacity errors and interruptions.
///
/// Promise: a launch with a token already used launches nothing new and returns the instances of the first call
/// (EC2's ClientToken semantics), so a retried or resent command never launches twice.
public protocol CloudProvider: Sendable {
    /// Launches `request.count` instances in one pool, idempotently by `request.token`.
    func launch(_ request: InstanceLaunchRequest) async throws(CloudError) -> [CloudInstance]
    /// Terminates instances; terminating one already gone is not an error.
    func terminate(_ instanceIDs: [String]) async throws(CloudError)
    /// This cluster's instances that are not terminated (found by the cluster tag).
    func instances() async throws(CloudError) -> [CloudInstance]
}

/// One launch in one pool (instance type × market × zone).
public struct InstanceLaunchRequest: Sendable, Hashable {
    public var instanceType: String
    public var market: Market
    public var availabilityZone: String
    public var count: Int
    /// Passed to the cloud as the idempotency token.
    public var token: LaunchToken
    /// The plan generation that asked for it, tagged on the instances.
    public var generation: UInt64

    public init(
        instanceType: String,
        market: Market,
        availabilityZone: String,
        count: Int,
        token: LaunchToken,
        generation: UInt64
    ) {
        self.instanceType = instanceType
        self.market = market
        self.availabilityZone = availabilityZone
        self.count = count
        self.token = token
        self.generation = generation
    }
}

/// An instance of the cluster as the cloud sees it.
public struct CloudInstance: Sendable, Hashable {
    public enum State: String, Sendable, Hashable {
        case pending, running, stopping, stopped
        case shuttingDown = "shutting-down"
        case terminated
    }

    public var instanceID: String
    public var instanceType: String
    public var market: Market
    public var availabilityZone: String
    public var state: State
    public var launchedAt: Timestamp
    /// The launch token it was made with, from its tag; lets a restarted agent find launches in flight.
    public var token: LaunchToken?
    /// Its private IPv4 address, to find its node when the node carries neither provider id nor label.
    public var privateIP: String?

    public init(
        instanceID: String,
        instanceType: String,
        market: Market,
        availabilityZone: String,
        state: State,
        launchedAt: Timestamp,
        token: LaunchToken? = nil,
        privateIP: String? = nil
    ) {
        self.instanceID = instanceID
        self.instanceType = instanceType
        self.market = market
        self.availabilityZone = availabilityZone
        self.state = state
        self.launchedAt = launchedAt
        self.token = token
        self.privateIP = privateIP
    }
}

/// A cloud call that failed, sorted by what the planner should do about it.
public struct CloudError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The pool has no capacity now (InsufficientInstanceCapacity, or a spot request that cannot be met):
        /// the planner moves to the next pool.
        case insufficientCapacity = "insufficient-capacity"
        /// An account limit (instance or vCPU quota) stops the launch.
        case quotaExceeded = "quota-exceeded"
        /// The request is wrong (unknown type or zone, bad template): retrying will not help.
        case invalidRequest = "invalid-request"
        /// The cloud did not answer in time or throttled us after its retries.
        case unavailable
    }

    public var code: Code
    /// The cloud's own error code (e.g. `InsufficientInstanceCapacity`).
    public var cloudCode: String?
    public var message: String

    public init(_ code: Code, cloudCode: String? = nil, _ message: String) {
        self.code = code
        self.cloudCode = cloudCode
        self.message = message
    }

    public var description: String { "cloud \(code.rawValue)\(cloudCode.map { " (\($0))" } ?? ""): \(message)" }
}
