import AsyncHTTPClient
import Logging
import NIOCore
import Observability
import Prometheus
import ServiceLifecycle
import Synchronization
import Testing

@Suite("metrics endpoint")
struct MetricsEndpointTests {
    @Test("serves /metrics in Prometheus text, /healthz, 404 elsewhere, and stops on graceful shutdown")
    func servesAndStops() async throws {
        let registry = PrometheusCollectorRegistry()
        let counter = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "ballast",
                metricName: "test_calls",
                unitName: "total",
                helpText: "calls made in the test"
            ),
            labels: [("role", "agent")]
        )
        counter.increment(by: Int64(3))
        let (addresses, continuation) = AsyncStream<SocketAddress>.makeStream()
        let endpoint = MetricsEndpoint(
            configuration: .init(host: "127.0.0.1", port: 0),
            registry: registry,
            logger: Logger(label: "test"),
            boundAddresses: continuation
        )
        let group = ServiceGroup(services: [endpoint], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = addresses.makeAsyncIterator()
            let address = try #require(await iterator.next())
            let port = try #require(address.port)
            let client = HTTPClient(eventLoopGroupProvider: .singleton)

            let metrics = try await client.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"),
                timeout: .seconds(5)
            )
            #expect(metrics.status == .ok)
            #expect(metrics.headers.first(name: "content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = String(buffer: try await metrics.body.collect(upTo: 1 << 20))
            #expect(text.contains("# TYPE ballast_test_calls_total counter"))
            #expect(text.contains(#"ballast_test_calls_total{role="agent"} 3"#))

            let health = try await client.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz"),
                timeout: .seconds(5)
            )
            #expect(health.status == .ok)
            let missing = try await client.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/nope"),
                timeout: .seconds(5)
            )
            #expect(missing.status == .notFound)
            try await client.shutdown()

            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}

@Suite("logfmt log lines")
struct LogfmtLogHandlerTests {
    final class Lines: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    @Test("one line per event with level, logger, quoted message and sorted metadata")
    func format() throws {
        let lines = Lines()
        var logger = Logger(label: "wire") { label in
            LogfmtLogHandler(label: label, logLevel: .debug, write: { lines.append($0) })
        }
        logger[metadataKey: "ballast.node"] = "agent-1"
        logger.info("peer closed", metadata: ["reason": "bad \"magic\"", "a.count": "3"])
        logger.trace("dropped below level")
        let line = try #require(lines.all.first)
        #expect(lines.all.count == 1)
        #expect(line.hasPrefix("ts="))
        #expect(
            line.hasSuffix(
                #" level=info logger=wire msg="peer closed" a.count=3 ballast.node=agent-1 reason="bad \"magic\""\#n"#
            )
        )
    }

    @Test("control characters cannot forge a second log line")
    func noLineInjection() throws {
        let lines = Lines()
        let logger = Logger(label: "x") { label in LogfmtLogHandler(label: label, write: { lines.append($0) }) }
        logger.warning("evil\nts=0 level=error msg=forged")
        let line = try #require(lines.all.first)
        #expect(line.filter { $0 == "\n" }.count == 1)
        #expect(line.contains(#"msg="evil\nts=0 level=error msg=forged""#))
    }
}
