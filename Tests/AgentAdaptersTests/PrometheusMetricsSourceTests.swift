import BallastTestSupport
import ClusterAgent
import Cost
import Foundation
import Logging
import PrometheusClient
import Testing

@testable import AgentAdapters

@Suite("PrometheusMetricsSource against a real Prometheus")
struct PrometheusMetricsSourceTests {
    /// Two workers and a K3s server with known CPU and memory use: the workers' idle CPU is 0.6, 0.9, 0.8 and
    /// 0.7 seconds per second (utilisation 0.25), their memory 8000 of 16000 bytes available (0.5); with the
    /// server (idle 0.1, 1000 of 16000 available) every node together is 0.38 and 0.71875.
    static let paths: [String: [SyntheticExporter.Series]] = [
        "/worker-a": node(idle: [0.6, 0.9], total: 8_000, available: 2_000),
        "/worker-b": node(idle: [0.8, 0.7], total: 8_000, available: 6_000),
        "/server": node(idle: [0.1], total: 16_000, available: 1_000) + [
            .gauge("rabbitmq_queue_messages", ["queue": "work"], value: 250)
        ],
    ]

    static func node(idle: [Double], total: Double, available: Double) -> [SyntheticExporter.Series] {
        var series: [SyntheticExporter.Series] = [
            .gauge("node_memory_MemTotal_bytes", value: total),
            .gauge("node_memory_MemAvailable_bytes", value: available),
        ]
        for (cpu, fraction) in idle.enumerated() {
            series.append(.counter("node_cpu_seconds_total", ["cpu": "\(cpu)", "mode": "idle"], rate: fraction))
            series.append(.counter("node_cpu_seconds_total", ["cpu": "\(cpu)", "mode": "user"], rate: 1 - fraction))
        }
        return series
    }

    static func now() -> Timestamp { Timestamp(sinceEpoch: .milliseconds(Int64(Date().timeIntervalSince1970 * 1000))) }

    @Test("utilisation restricted to the workers, custom metrics, the data's age, query errors, and a stopped server")
    func sampleAgainstPrometheus() async throws {
        let exporter = try await SyntheticExporter.start(paths: Self.paths)
        let prometheus: PrometheusServer
        do {
            prometheus = try await PrometheusServer.start(
                configuration: PrometheusServer.scrapeConfiguration(
                    exporterPort: exporter.port,
                    jobs: [
                        ("worker-a", "/worker-a", ["role": "worker"]), ("worker-b", "/worker-b", ["role": "worker"]),
                        ("server", "/server", ["role": "server"]),
                    ]
                )
            )
        } catch {
            await exporter.stop()
            throw error
        }
        let client = try PrometheusClient(
            configuration: .init(baseURL: prometheus.endpoint),
            logger: Logger(label: "test.prometheus")
        )
        do {
            try await check(client)
            await prometheus.stop()
            let stopped = PrometheusMetricsSource(
                client: client,
                settings: .nodeExporter(),
                logger: Logger(label: "test.metrics")
            )
            let error = await #expect(throws: MetricsSourceError.self) { try await stopped.sample(at: Self.now()) }
            #expect(error?.code == .unreachable)
            #expect(error?.query == "cpu")
        } catch {
            Issue.record("prometheus output:\n\(await prometheus.outputTail())")
            await prometheus.stop()
            await exporter.stop()
            try await client.shutdown()
            throw error
        }
        await exporter.stop()
        try await client.shutdown()
    }

    func check(_ client: PrometheusClient) async throws {
        // Wait until every job has six samples: the 4 s rate window is then full of data.
        try await waitUntil("six scrapes of every job", timeout: .seconds(40)) {
            let result = try? await client.query(
                "scalar(count(count_over_time(node_memory_MemTotal_bytes[10s]) >= 6))"
            )
            if case .scalar(let point)? = result { return point.value == 3 }
            return false
        }
        let queue = MetricsSettings.CustomMetric(
            name: "queue_depth",
            query: #"sum(rabbitmq_queue_messages{queue="work"})"#,
            targetPerNode: 100,
            freshnessQuery: #"max(timestamp(rabbitmq_queue_messages{queue="work"}))"#
        )
        let workers = MetricsSettings.nodeExporter(workerSelector: #"role="worker""#, rateWindow: "4s", custom: [queue])
        #expect(workers.problems().isEmpty)
        let source = PrometheusMetricsSource(client: client, settings: workers, logger: Logger(label: "test.metrics"))
        let now = Self.now()
        let sample = try await source.sample(at: now)
        #expect(abs(sample.utilisation.cpu - 0.25) < 0.01, "cpu \(sample.utilisation.cpu)")
        #expect(abs(sample.utilisation.memory - 0.5) < 1e-9, "memory \(sample.utilisation.memory)")
        #expect(sample.custom.map(\.name) == ["queue_depth"])
        #expect(sample.custom.first?.value == 250)
        #expect(sample.custom.first?.targetPerNode == 100)
        #expect(sample.custom.first.map { $0.observedAt <= now && now - $0.observedAt < .seconds(3) } == true)
        #expect(workers.nodesWanted(by: sample) == ["queue_depth": 3])
        // The data is one scrape old at most, never newer than the evaluation.
        #expect(sample.observedAt <= now)
        #expect(now - sample.observedAt < .seconds(3))
        #expect(workers.isFresh(sample, at: now))

        let everyNode = PrometheusMetricsSource(
            client: client,
            settings: .nodeExporter(rateWindow: "4s"),
            logger: Logger(label: "test.metrics")
        )
        let all = try await everyNode.sample(at: now)
        #expect(abs(all.utilisation.cpu - 0.38) < 0.01, "cpu \(all.utilisation.cpu)")
        #expect(abs(all.utilisation.memory - 0.71875) < 1e-9)

        // The series are seconds old, far younger than the default two-minute window: `rate` sees a fraction of
        // the window, and the utilisation is still the CPUs' true one, not a busy reading.
        let young = PrometheusMetricsSource(
            client: client,
            settings: .nodeExporter(workerSelector: #"role="worker""#),
            logger: Logger(label: "test.metrics")
        )
        let youngSample = try await young.sample(at: Self.now())
        #expect(abs(youngSample.utilisation.cpu - 0.25) < 0.01, "cpu \(youngSample.utilisation.cpu)")

        // Evaluated 30 s ahead, the data is still as old as the last scrape: stale for a 10 s limit.
        var strict = MetricsSettings.nodeExporter(rateWindow: "1m", maxAge: .seconds(10))
        strict.queryTimeout = .seconds(5)
        let later = try await PrometheusMetricsSource(client: client, settings: strict, logger: Logger(label: "t"))
            .sample(at: now + .seconds(30))
        #expect(later.observedAt <= now + .seconds(1))
        #expect(!strict.isFresh(later, at: now + .seconds(30)))

        // A query that does not parse, one with several series and one with none.
        for (query, code) in [
            ("sum(rate(", MetricsSourceError.Code.queryFailed), ("node_memory_MemTotal_bytes", .noData),
            ("sum(no_such_metric)", .noData), ("0/0", .noData),
        ] {
            var settings = workers
            settings.custom = [MetricsSettings.CustomMetric(name: "broken", query: query, targetPerNode: 1)]
            let broken = PrometheusMetricsSource(client: client, settings: settings, logger: Logger(label: "t"))
            let error = await #expect(throws: MetricsSourceError.self) { try await broken.sample(at: now) }
            #expect(error?.code == code, "\(query)")
            #expect(error?.query == "broken")
        }
    }

    @Test("settings: the worker selector lands in every default query; problems are named")
    func settings() {
        let settings = MetricsSettings.nodeExporter(workerSelector: #" role="worker" "#)
        #expect(
            settings.cpuUtilisation
                == #"1 - sum(rate(node_cpu_seconds_total{mode="idle",role="worker"}[2m])) / sum(rate(node_cpu_seconds_total{role="worker"}[2m]))"#
        )
        #expect(
            settings.memoryUtilisation
                == #"1 - sum(node_memory_MemAvailable_bytes{role="worker"}) / sum(node_memory_MemTotal_bytes{role="worker"})"#
        )
        #expect(settings.freshness == #"max(timestamp(node_memory_MemTotal_bytes{role="worker"}))"#)
        #expect(
            MetricsSettings.default.cpuUtilisation
                == #"1 - sum(rate(node_cpu_seconds_total{mode="idle"}[2m])) / sum(rate(node_cpu_seconds_total[2m]))"#
        )
        var bad = MetricsSettings.default
        bad.custom = [
            .init(name: "q", query: "sum(q)", targetPerNode: 0), .init(name: "q", query: "", targetPerNode: 1),
        ]
        #expect(bad.problems().count == 3)
    }
}
