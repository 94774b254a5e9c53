import Cost

/// The agent's port for interruption notices: the SQS queue EventBridge feeds with EC2's spot interruption warnings,
/// rebalance recommendations, state changes and scheduled changes. The real implementation long-polls SQS through
/// `AWSClients`; the simulated one is the simulated cloud's interruptions.
///
/// Promise: a message stays on the queue until `acknowledge` is called for it, so a crash between receiving and
/// handling loses nothing; a message the source cannot read is returned as `.unreadable` (and left to the queue's
/// redrive policy), never dropped silently.
public protocol InterruptionSource: Sendable {
    /// Waits up to the source's long-poll time for messages; returns those that arrived (possibly none).
    func receive() async throws -> [InterruptionMessage]
    /// Removes a handled message from the queue.
    func acknowledge(_ message: InterruptionMessage) async throws
}

/// One message from the interruption queue.
public struct InterruptionMessage: Sendable, Hashable {
    /// The queue's id of the message, for logs.
    public var id: String
    /// What `acknowledge` needs to delete it.
    public var receipt: String
    public var event: InterruptionEvent

    public init(id: String, receipt: String, event: InterruptionEvent) {
        self.id = id
        self.receipt = receipt
        self.event = event
    }
}

/// What an interruption message says.
public enum InterruptionEvent: Sendable, Hashable {
    /// The instance will be reclaimed at `deadline` (two minutes after the warning): drain now, replace now.
    case spotInterruption(instanceID: String, deadline: Timestamp)
    /// The instance is at elevated risk of interruption: replace it before it is reclaimed.
    case rebalanceRecommendation(instanceID: String)
    /// The instance changed state (e.g. `stopping`, `terminated`).
    case stateChange(instanceID: String, state: String)
    /// AWS scheduled maintenance or retirement for these instances, starting at `start`.
    case scheduledChange(instanceIDs: [String], start: Timestamp?)
    /// The body could not be read; `reason` says why. Logged with the message id, left to the redrive policy.
    case unreadable(reason: String)
}
