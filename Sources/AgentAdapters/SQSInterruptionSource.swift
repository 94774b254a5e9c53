import AWSClients
import ClusterAgent
import Cost
import Foundation
import Logging

/// The agent's `InterruptionSource` over the SQS queue EventBridge feeds (deploy/cloudformation/events.yaml):
/// long-polls it, reads each body as an EventBridge event and returns the ones the agent acts on.
///
/// Promise: a message the agent acts on stays on the queue until `acknowledge`; a body it cannot read is
/// returned as `.unreadable`, logged with its message id and never deleted, so the queue's redrive policy moves
/// it to the dead-letter queue after its receive count. Well-formed events of a kind the agent does not act on
/// (a rule added to the queue later) are deleted here, since nothing would ever acknowledge them.
public struct SQSInterruptionSource: InterruptionSource {
    public struct Settings: Sendable, Hashable {
        public var queueURL: String
        /// How long one receive waits for a first message, 0…20 s. Default 20 s.
        public var waitTime: Duration
        /// Messages per receive, 1…10. Default 10.
        public var maxMessages: Int
        /// How long received messages stay hidden from other receivers before they come back; nil keeps the
        /// queue's own setting. Handling a message must take less.
        public var visibilityTimeout: Duration?

        public init(
            queueURL: String,
            waitTime: Duration = .seconds(20),
            maxMessages: Int = 10,
            visibilityTimeout: Duration? = nil
        ) {
            self.queueURL = queueURL
            self.waitTime = waitTime
            self.maxMessages = maxMessages
            self.visibilityTimeout = visibilityTimeout
        }
    }

    /// EC2 reclaims a spot instance two minutes after its warning.
    public static let spotNotice: Duration = .seconds(Int64(EC2InterruptionNotice.spotNotice))

    public let settings: Settings
    private let sqs: SQS
    private let logger: Logger

    public init(sqs: SQS, settings: Settings, logger: Logger) {
        self.sqs = sqs
        self.settings = settings
        self.logger = logger
    }

    public func receive() async throws -> [InterruptionMessage] {
        let messages = try await sqs.receiveMessages(
            .init(
                queueURL: settings.queueURL,
                maxNumberOfMessages: min(10, max(1, settings.maxMessages)),
                waitTime: settings.waitTime,
                visibilityTimeout: settings.visibilityTimeout
            )
        )
        var received: [InterruptionMessage] = []
        for message in messages {
            switch Self.event(of: message) {
            case .some(let event):
                if case .unreadable(let reason) = event {
                    logger.warning(
                        "unreadable interruption message left to the redrive policy",
                        metadata: [
                            "sqs.message-id": "\(message.messageID)",
                            "sqs.receive-count": "\(message.attributes["ApproximateReceiveCount"] ?? "-")",
                            "ballast.reason": "\(reason)",
                        ]
                    )
                }
                received.append(
                    InterruptionMessage(id: message.messageID, receipt: message.receiptHandle, event: event)
                )
            case .none:
                logger.debug(
                    "deleting an event the agent does not act on",
                    metadata: ["sqs.message-id": "\(message.messageID)"]
                )
                try await sqs.deleteMessage(queueURL: settings.queueURL, receiptHandle: message.receiptHandle)
            }
        }
        return received
    }

    public func acknowledge(_ message: InterruptionMessage) async throws {
        try await sqs.deleteMessage(queueURL: settings.queueURL, receiptHandle: message.receipt)
    }

    /// The event a message carries; nil for a well-formed event of a kind the agent does not act on. The reading is
    /// `EC2InterruptionNotice`'s, the one the coordinator's account-wide router uses too.
    static func event(of message: SQS.Message) -> InterruptionEvent? {
        switch EC2InterruptionNotice.read(message) {
        case nil: nil
        case .spotInterruption(let instanceID, let deadline)?:
            .spotInterruption(instanceID: instanceID, deadline: timestamp(deadline))
        case .rebalanceRecommendation(let instanceID)?: .rebalanceRecommendation(instanceID: instanceID)
        case .stateChange(let instanceID, let state)?: .stateChange(instanceID: instanceID, state: state)
        case .scheduledChange(let instanceIDs, let start)?:
            .scheduledChange(instanceIDs: instanceIDs, start: start.map(timestamp))
        case .unreadable(let reason)?: .unreadable(reason: reason)
        }
    }

    static func timestamp(_ date: Date) -> Timestamp {
        Timestamp(sinceEpoch: .milliseconds(Int64((date.timeIntervalSince1970 * 1000).rounded())))
    }
}
