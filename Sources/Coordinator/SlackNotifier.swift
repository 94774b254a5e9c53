import AsyncHTTPClient
import Clocks
import Foundation
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// Something people want to hear about, in one line.
public struct FleetNotification: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case scaleUp = "scale-up"
        case scaleDown = "scale-down"
        case interruption
        case failure
        case budget
        case leader
        case clusterLost = "cluster-lost"
        case failover
    }

    public var kind: Kind
    public var text: String

    public init(_ kind: Kind, _ text: String) {
        self.kind = kind
        self.text = text
    }
}

/// The coordinator's port for telling people what happened. `notify` never waits on the network: planning must
/// never block on a webhook.
public protocol Notifier: Sendable {
    func notify(_ notification: FleetNotification)
}

/// Tells nobody.
public struct NoNotifier: Notifier {
    public init() {}
    public func notify(_ notification: FleetNotification) {}
}

/// Posts notifications to a Slack incoming webhook: queued without waiting, sent in batches (one message per
/// `batchInterval`, at most `maxPerBatch` lines, the rest summarised), at most one post per `minInterval`; a
/// failed post is retried with backoff `attempts` times, then dropped and counted. The webhook URL is a secret: it
/// is never logged (only its host).
public final class SlackNotifier: Notifier, Service {
    public struct Configuration: Sendable {
        public var webhookURL: String
        public var batchInterval: Duration = .seconds(10)
        public var minInterval: Duration = .seconds(1)
        public var maxPerBatch: Int = 20
        /// Notifications waiting beyond this are dropped (and counted) rather than growing the queue.
        public var maxQueued: Int = 500
        public var attempts: Int = 3
        public var backoff: Duration = .seconds(1)
        public var requestTimeout: Duration = .seconds(10)

        public init(webhookURL: String) { self.webhookURL = webhookURL }
    }

    private let configuration: Configuration
    private let httpClient: HTTPClient
    private let clock: any FleetClock
    private let logger: Logger
    private let queue = Mutex<[FleetNotification]>([])
    private let wake: AsyncStream<Void>.Continuation
    private let wakeUps: AsyncStream<Void>
    private let sent: Counter
    private let dropped: Counter

    public init(
        configuration: Configuration,
        httpClient: HTTPClient,
        clock: any FleetClock,
        logger: Logger,
        metricsFactory: (any MetricsFactory)? = nil
    ) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.clock = clock
        var logger = logger
        logger[metadataKey: "ballast.webhook-host"] = "\(URL(string: configuration.webhookURL)?.host ?? "?")"
        self.logger = logger
        (wakeUps, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let factory = metricsFactory ?? MetricsSystem.factory
        sent = Counter(label: "ballast_notifications_total", dimensions: [("outcome", "sent")], factory: factory)
        dropped = Counter(label: "ballast_notifications_total", dimensions: [("outcome", "dropped")], factory: factory)
    }

    public func notify(_ notification: FleetNotification) {
        let accepted = queue.withLock { queue in
            guard queue.count < configuration.maxQueued else { return false }
            queue.append(notification)
            return true
        }
        if accepted { wake.yield() } else { dropped.increment() }
    }

    /// How many notifications wait to be sent.
    public var queued: Int { queue.withLock { $0.count } }

    public func run() async throws {
        var lastPost: FleetInstant?
        wakes: for await _ in wakeUps.cancelOnGracefulShutdown() {
            while queued > 0 {
                // A batch: wait the batch interval from its first line, and the post interval since the last post.
                var ready = clock.now.advanced(by: configuration.batchInterval)
                if let lastPost { ready = max(ready, lastPost.advanced(by: configuration.minInterval)) }
                let deadline = ready
                let clock = self.clock
                do {
                    try await cancelWhenGracefulShutdown { try await clock.sleep(until: deadline, tolerance: nil) }
                } catch {
                    break wakes
                }
                await postBatch()
                lastPost = clock.now
            }
        }
        await postBatch()  // What is queued at shutdown goes out once, best effort.
    }

    private func postBatch() async {
        let batch = queue.withLock { queue -> [FleetNotification] in
            let batch = Array(queue.prefix(configuration.maxPerBatch))
            queue.removeFirst(batch.count)
            return batch
        }
        guard !batch.isEmpty else { return }
        let waiting = queued
        var lines = batch.map { "• [\($0.kind.rawValue)] \($0.text)" }
        if waiting > 0 { lines.append("… and \(waiting) more") }
        let body = (try? JSONSerialization.data(withJSONObject: ["text": lines.joined(separator: "\n")])) ?? Data()
        var delay = configuration.backoff
        for attempt in 1...max(1, configuration.attempts) {
            do {
                var request = HTTPClientRequest(url: configuration.webhookURL)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body))
                let response = try await httpClient.execute(request, timeout: .init(configuration.requestTimeout))
                if (200..<300).contains(Int(response.status.code)) {
                    sent.increment(by: batch.count)
                    return
                }
                logger.warning(
                    "notification post refused",
                    metadata: ["status": "\(response.status.code)", "attempt": "\(attempt)"]
                )
            } catch {
                logger.warning(
                    "notification post failed",
                    metadata: ["error": "\(type(of: error))", "attempt": "\(attempt)"]
                )
            }
            if attempt < configuration.attempts {
                do {
                    try await clock.sleep(until: clock.now.advanced(by: delay), tolerance: nil)
                } catch {
                    break
                }
                delay = delay * 2
            }
        }
        dropped.increment(by: batch.count)
        logger.error("notifications dropped after retries", metadata: ["count": "\(batch.count)"])
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
