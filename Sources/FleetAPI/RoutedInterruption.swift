import Cost

/// An interruption notice the leader read from an account-wide queue and routes to the agent of the cluster that
/// owns its instances; the agent handles it exactly as one from its own queue (drain at once on a spot warning,
/// report a rebalance recommendation, report on a state change or a scheduled change).
public struct RoutedInterruption: Codable, Hashable, Sendable {
    /// What the notice says, as EC2's events name it.
    public enum Kind: String, Codable, Hashable, Sendable {
        case spotInterruption = "spot-interruption"
        case rebalanceRecommendation = "rebalance-recommendation"
        case stateChange = "state-change"
        case scheduledChange = "scheduled-change"
    }

    public var stamp: CommandStamp
    public var cluster: ClusterID
    /// The queue's id of the message, for the agent's log.
    public var messageID: String
    public var kind: Kind
    /// The cluster's instances the notice is about (`i-…`): one, or several for a scheduled change.
    public var instanceIDs: [String]
    /// A spot interruption's deadline (two minutes after the warning); a scheduled change's start, if known.
    public var time: Timestamp?
    /// A state change's new state (`stopping`, `shutting-down`, `terminated`…).
    public var state: String?

    public init(
        stamp: CommandStamp,
        cluster: ClusterID,
        messageID: String,
        kind: Kind,
        instanceIDs: [String],
        time: Timestamp? = nil,
        state: String? = nil
    ) {
        self.stamp = stamp
        self.cluster = cluster
        self.messageID = messageID
        self.kind = kind
        self.instanceIDs = instanceIDs
        self.time = time
        self.state = state
    }
}

/// What an agent answers to a routed notice it handled: the leader deletes the message from its queue only then.
public struct RoutedInterruptionReceipt: Codable, Hashable, Sendable {
    public var messageID: String
    /// Instances of the notice the agent found among its cluster's (the rest it ignored, as for its own queue).
    public var handled: [String]

    public init(messageID: String, handled: [String]) {
        self.messageID = messageID
        self.handled = handled
    }
}
