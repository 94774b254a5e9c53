import AWSClients
import Clocks
import Cost
import Distributed
import Logging
import ServiceLifecycle

/// The leader's consumer of the account-wide interruption queues, one per region (EventBridge → SQS, as each
/// agent's own queue): every notice goes to the agent of the cluster that owns its instances
/// (`CoordinatorActor.route`), which handles it as one from its own queue. Multi-cluster accounts see every
/// cluster's events in every per-cluster queue; routing by instance id gives each notice to its one owner.
///
/// Promises: only a leading replica receives (a follower leaves the queues alone, and a replica that stops leading
/// stops receiving before its next long poll); a message is deleted only once every owning agent acknowledged it,
/// or when no cluster of the fleet owns its instances, or when it is a well-formed event of a kind Ballast does not
/// act on; a message that cannot be read is logged with its id and left to the queue's redrive policy.
public struct InterruptionRouter: Service {
    public struct Settings: Sendable, Hashable {
        /// The queue of each region, by region (`eu-west-1` → its queue URL).
        public var queues: [String: String]
        /// How long one receive waits for a first message, 0…20 s. Default 20 s.
        public var waitTime: Duration
        /// Messages per receive, 1…10. Default 10.
        public var maxMessages: Int
        /// How long received messages stay hidden before they come back; nil keeps the queue's own setting.
        /// Routing a message (a call to each owner, retried) must take less.
        public var visibilityTimeout: Duration?
        /// How often a replica that does not lead looks whether it does now. Default 1 s.
        public var idlePoll: Duration
        /// Wait after a queue fails before asking it again. Default 5 s.
        public var retryDelay: Duration

        public init(
            queues: [String: String],
            waitTime: Duration = .seconds(20),
            maxMessages: Int = 10,
            visibilityTimeout: Duration? = nil,
            idlePoll: Duration = .seconds(1),
            retryDelay: Duration = .seconds(5)
        ) {
            self.queues = queues
            self.waitTime = waitTime
            self.maxMessages = maxMessages
            self.visibilityTimeout = visibilityTimeout
            self.idlePoll = idlePoll
            self.retryDelay = retryDelay
        }
    }

    /// What one message came to.
    public enum Outcome: Sendable, Hashable {
        case routed([ClusterID])
        /// Deleted without routing: no cluster owns its instances, or it is an event Ballast does not act on.
        case deleted
        /// Left on the queue: unreadable, not acknowledged by an owner, or this replica does not lead.
        case left
    }

    public let settings: Settings
    /// One client per region, made once.
    private let sqsByRegion: [String: SQS]
    private let coordinator: CoordinatorActor
    private let leadership: any Leadership
    private let clock: any FleetClock
    private let logger: Logger

    /// - Parameter sqsForRegion: the SQS client of a region's queue.
    public init(
        settings: Settings,
        sqsForRegion: (String) -> SQS,
        coordinator: CoordinatorActor,
        leadership: any Leadership,
        clock: any FleetClock,
        logger: Logger
    ) {
        self.settings = settings
        self.sqsByRegion = Dictionary(uniqueKeysWithValues: settings.queues.keys.map { ($0, sqsForRegion($0)) })
        self.coordinator = coordinator
        self.leadership = leadership
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for region in settings.queues.keys.sorted() {
                    group.addTask { await consume(region: region) }
                }
            }
        }
    }

    /// Receives and routes, while leading, until cancelled.
    private func consume(region: String) async {
        while !Task.isCancelled {
            guard leadership.actingEpoch() != nil else {
                guard (try? await clock.sleep(until: clock.now.advanced(by: settings.idlePoll), tolerance: nil)) != nil
                else { return }
                continue
            }
            do {
                _ = try await poll(region: region)
            } catch {
                if Task.isCancelled { return }
                logger.warning(
                    "interruption queue unreadable; retrying",
                    metadata: ["region": "\(region)", "error": "\(error)"]
                )
                guard
                    (try? await clock.sleep(until: clock.now.advanced(by: settings.retryDelay), tolerance: nil)) != nil
                else { return }
            }
        }
    }

    /// One receive from `region`'s queue, each message routed; returns what each came to, by message id. Receives
    /// nothing when this replica does not lead.
    public func poll(region: String) async throws -> [String: Outcome] {
        guard leadership.actingEpoch() != nil, let queueURL = settings.queues[region], let sqs = sqsByRegion[region]
        else { return [:] }
        let messages = try await sqs.receiveMessages(
            .init(
                queueURL: queueURL,
                maxNumberOfMessages: min(10, max(1, settings.maxMessages)),
                waitTime: settings.waitTime,
                visibilityTimeout: settings.visibilityTimeout
            )
        )
        var outcomes: [String: Outcome] = [:]
        for message in messages {
            outcomes[message.messageID] = await handle(message, region: region, queueURL: queueURL, sqs: sqs)
        }
        return outcomes
    }

    private func handle(_ message: SQS.Message, region: String, queueURL: String, sqs: SQS) async -> Outcome {
        var metadata: Logger.Metadata = ["region": "\(region)", "sqs.message-id": "\(message.messageID)"]
        guard let notice = EC2InterruptionNotice.read(message) else {
            logger.debug("deleting an event Ballast does not act on", metadata: metadata)
            return await delete(message, queueURL: queueURL, sqs: sqs, metadata: metadata) ? .deleted : .left
        }
        if case .unreadable(let reason) = notice {
            metadata["sqs.receive-count"] = "\(message.attributes["ApproximateReceiveCount"] ?? "-")"
            metadata["ballast.reason"] = "\(reason)"
            logger.error("unreadable interruption message left to the redrive policy", metadata: metadata)
            return .left
        }
        let routing = await coordinator.whenLocal { await $0.route(notice, messageID: message.messageID) }
        switch routing {
        case .delivered(let clusters):
            metadata["ballast.clusters"] = "\(clusters.map(\.rawValue).joined(separator: ","))"
            logger.info("interruption notice routed", metadata: metadata)
            return await delete(message, queueURL: queueURL, sqs: sqs, metadata: metadata) ? .routed(clusters) : .left
        case .unknownInstances:
            metadata["instances"] = "\(notice.instanceIDs.joined(separator: ","))"
            logger.notice("interruption notice for no cluster of the fleet; deleted", metadata: metadata)
            return await delete(message, queueURL: queueURL, sqs: sqs, metadata: metadata) ? .deleted : .left
        case .notDelivered(let problem):
            metadata["error"] = "\(problem)"
            logger.warning("interruption notice not acknowledged; left on the queue", metadata: metadata)
            return .left
        case .notLeading, nil:
            return .left
        }
    }

    private func delete(_ message: SQS.Message, queueURL: String, sqs: SQS, metadata: Logger.Metadata) async -> Bool {
        do {
            try await sqs.deleteMessage(queueURL: queueURL, receiptHandle: message.receiptHandle)
            return true
        } catch {
            var metadata = metadata
            metadata["error"] = "\(error)"
            logger.warning("interruption message not deleted; it will come again", metadata: metadata)
            return false
        }
    }
}
