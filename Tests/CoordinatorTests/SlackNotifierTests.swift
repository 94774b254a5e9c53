import AsyncHTTPClient
import BallastTestSupport
import Clocks
import Coordinator
import Foundation
import Logging
import MetricsTestKit
import ServiceLifecycle
import Testing

@Suite("Slack notifier")
struct SlackNotifierTests {
    /// Runs `notifier` as a service for the length of `body`, then shuts it down gracefully.
    static func running(_ notifier: SlackNotifier, _ body: () async throws -> Void) async throws {
        let services = ServiceGroup(services: [notifier], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            try await body()
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }

    static func logs(_ capture: LogCapture) -> String {
        capture.lines.withLock { $0.map(\.description) }.joined(separator: "\n")
    }

    @Test("lines are batched into one post, and the webhook's secret path is never logged")
    func batches() async throws {
        try await ScriptedHTTPServer.with(routes: ["POST /services/T000/SECRETPATH": [.init(status: 200, body: "ok")]])
        {
            server in
            let capture = LogCapture()
            var configuration = SlackNotifier.Configuration(webhookURL: server.endpoint + "/services/T000/SECRETPATH")
            configuration.batchInterval = .milliseconds(200)
            let notifier = SlackNotifier(
                configuration: configuration,
                httpClient: HTTPClient.shared,
                clock: SystemClock(),
                logger: capture.logger(level: .trace)
            )
            try await Self.running(notifier) {
                notifier.notify(FleetNotification(.scaleUp, "eu-web: 2 × m6i.large/spot/eu-west-1a"))
                notifier.notify(FleetNotification(.leader, "coord-2 leads under epoch 4"))
                let posted = await eventually { (try? await Self.recorded(server).count) == 1 }
                #expect(posted)
            }
            let requests = try await Self.recorded(server)
            #expect(requests.count == 1)
            let text = try #require(
                (try JSONSerialization.jsonObject(with: Data(requests[0].body.utf8)) as? [String: String])?["text"]
            )
            #expect(
                text == "• [scale-up] eu-web: 2 × m6i.large/spot/eu-west-1a\n• [leader] coord-2 leads under epoch 4"
            )
            #expect(!Self.logs(capture).contains("SECRETPATH"))
        }
    }

    @Test("a webhook that fails is retried, then the batch is dropped and counted; notify never waits")
    func retriesThenDrops() async throws {
        try await ScriptedHTTPServer.with(routes: ["POST /hook": [.init(status: 500, body: "down")]]) { server in
            let metrics = TestMetrics()
            var configuration = SlackNotifier.Configuration(webhookURL: server.endpoint + "/hook")
            configuration.batchInterval = .milliseconds(50)
            configuration.backoff = .milliseconds(50)
            configuration.attempts = 3
            let notifier = SlackNotifier(
                configuration: configuration,
                httpClient: HTTPClient.shared,
                clock: SystemClock(),
                logger: Logger(label: "test"),
                metricsFactory: metrics
            )
            try await Self.running(notifier) {
                let started = ContinuousClock.now
                for index in 0..<5 { notifier.notify(FleetNotification(.failure, "launch \(index) failed")) }
                #expect(ContinuousClock.now - started < .milliseconds(100))  // Queued, not sent, by notify.
                let dropped = await eventually {
                    (try? metrics.expectCounter("ballast_notifications_total", [("outcome", "dropped")]).totalValue)
                        == 5
                }
                #expect(dropped)
            }
            #expect(try await Self.recorded(server).count == 3)
        }
    }

    static func recorded(_ server: ScriptedHTTPServer) async throws -> [ScriptedHTTPServer.Recorded] {
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: server.endpoint + "/__requests"),
            timeout: .seconds(5)
        )
        let body = try await response.body.collect(upTo: 1 << 20)
        return try ScriptedHTTPServer.decodeRecorded(Data(body.readableBytesView)).filter { $0.path != "/__requests" }
    }
}
