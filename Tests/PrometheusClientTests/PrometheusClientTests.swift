import BallastTestSupport
import Foundation
import Logging
import MetricsTestKit
import Testing

@testable import PrometheusClient

/// Starts a synthetic exporter and a real Prometheus scraping it every second, waits until every job was
/// scraped, runs `body`, and stops both.
func withScrapedPrometheus<T: Sendable>(
    paths: [String: [SyntheticExporter.Series]],
    _ body: (PrometheusServer) async throws -> T
) async throws -> T {
    let exporter = try await SyntheticExporter.start(paths: paths)
    let jobs = paths.keys.sorted().map { (job: String($0.dropFirst()), path: $0, labels: [String: String]()) }
    let prometheus: PrometheusServer
    do {
        prometheus = try await PrometheusServer.start(
            configuration: PrometheusServer.scrapeConfiguration(exporterPort: exporter.port, jobs: jobs)
        )
    } catch {
        await exporter.stop()
        throw error
    }
    do {
        let client = try PrometheusClient(
            configuration: .init(baseURL: prometheus.endpoint),
            logger: Logger(label: "test.prometheus")
        )
        let waited: Result<Void, any Error>
        do {
            try await waitUntil("every job is up") {
                if case .scalar(let point)? = try? await client.query("scalar(count(up == 1))") {
                    return point.value == Double(jobs.count)
                }
                return false
            }
            waited = .success(())
        } catch {
            waited = .failure(error)
        }
        try await client.shutdown()
        try waited.get()
        let result = try await body(prometheus)
        await prometheus.stop()
        await exporter.stop()
        return result
    } catch {
        let tail = await prometheus.outputTail()
        await prometheus.stop()
        await exporter.stop()
        if !tail.isEmpty { Issue.record("prometheus output:\n\(tail)") }
        throw error
    }
}

/// Runs `body` with a client and shuts the client down afterwards, whether `body` returns or throws (a client
/// left running traps in AsyncHTTPClient's debug checks and takes the whole test process with it).
func withPrometheusClient<T>(
    _ configuration: PrometheusClient.Configuration,
    _ body: (PrometheusClient) async throws -> T
) async throws -> T {
    let client = try PrometheusClient(configuration: configuration, logger: Logger(label: "test.prometheus"))
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}

@Suite("PrometheusClient against a real Prometheus")
struct PrometheusClientTests {
    static let paths: [String: [SyntheticExporter.Series]] = [
        "/node": [
            .gauge("node_memory_MemTotal_bytes", value: 8_000),
            .gauge("node_memory_MemAvailable_bytes", value: 2_000),
            .counter("node_cpu_seconds_total", ["cpu": "0", "mode": "idle"], rate: 0.5),
        ]
    ]

    @Test("vector, scalar, string and matrix results, NaN and +Inf, by POST and by GET, at a given time")
    func resultTypes() async throws {
        try await withScrapedPrometheus(paths: Self.paths) { prometheus in
            for method in [PrometheusClient.Method.post, .get] {
                try await withPrometheusClient(.init(baseURL: prometheus.endpoint + "/", method: method)) { client in
                    let now = Date()
                    let vector = try await client.query(#"node_memory_MemTotal_bytes{job="node"}"#, at: now)
                    guard case .vector(let samples) = vector else {
                        Issue.record("not a vector: \(vector)")
                        return
                    }
                    #expect(samples.count == 1)
                    #expect(samples.first?.labels["__name__"] == "node_memory_MemTotal_bytes")
                    #expect(samples.first?.labels["job"] == "node")
                    #expect(samples.first?.point.value == 8_000)
                    // An instant query stamps its result with the evaluation time.
                    #expect(
                        abs((samples.first?.point.time.timeIntervalSince1970 ?? 0) - now.timeIntervalSince1970) < 0.002
                    )

                    let ratio = try await client.query(
                        "scalar(1 - sum(node_memory_MemAvailable_bytes) / sum(node_memory_MemTotal_bytes))"
                    )
                    #expect(ratio == .scalar(SamplePoint(time: Self.time(of: ratio), value: 0.75)))

                    guard case .scalar(let nan) = try await client.query("0/0"),
                        case .scalar(let inf) = try await client.query("1/0")
                    else {
                        Issue.record("0/0 or 1/0 is not a scalar")
                        return
                    }
                    #expect(nan.value.isNaN)
                    #expect(inf.value == .infinity)

                    let string = try await client.query(#""ballast""#)
                    guard case .string(_, let text) = string else {
                        Issue.record("not a string: \(string)")
                        return
                    }
                    #expect(text == "ballast")

                    let matrix = try await client.query(#"node_memory_MemTotal_bytes{job="node"}[30s]"#)
                    guard case .matrix(let series) = matrix else {
                        Issue.record("not a matrix: \(matrix)")
                        return
                    }
                    #expect(series.count == 1)
                    #expect((series.first?.points.count ?? 0) >= 1)
                    #expect(series.first?.points.allSatisfy { $0.value == 8_000 } == true)
                }
            }
        }
    }

    @Test("bad PromQL is an API error of type bad_data with HTTP 400, counted by its outcome")
    func badQuery() async throws {
        try await withScrapedPrometheus(paths: Self.paths) { prometheus in
            let metrics = TestMetrics()
            try await withPrometheusClient(.init(baseURL: prometheus.endpoint, metricsFactory: metrics)) { client in
                _ = try await client.query("up")
                let error = await #expect(throws: PrometheusError.self) { try await client.query("sum(rate(up[") }
                #expect(error?.code == .api)
                #expect(error?.errorType == "bad_data")
                #expect(error?.httpStatus == 400)
                #expect(
                    try metrics.expectCounter("ballast_prometheus_queries_total", [("outcome", "ok")]).totalValue == 1
                )
                #expect(
                    try metrics.expectCounter("ballast_prometheus_queries_total", [("outcome", "api_bad_data")])
                        .totalValue == 1
                )
                #expect(try metrics.expectTimer("ballast_prometheus_query_duration_seconds").values.count == 2)
            }
        }
    }

    @Test("a stopped Prometheus is unreachable")
    func stopped() async throws {
        let exporter = try await SyntheticExporter.start(paths: Self.paths)
        let prometheus = try await PrometheusServer.start(
            configuration: PrometheusServer.scrapeConfiguration(
                exporterPort: exporter.port,
                jobs: [("node", "/node", [:])]
            )
        )
        try await withPrometheusClient(.init(baseURL: prometheus.endpoint, timeout: .seconds(2))) { client in
            // A machine busy with other suites may answer the first query late: wait until one is answered.
            do {
                try await waitUntil("a first answer") { (try? await client.query("up")) != nil }
            } catch {
                await prometheus.stop()
                await exporter.stop()
                throw error
            }
            await prometheus.stop()
            await exporter.stop()
            let error = await #expect(throws: PrometheusError.self) { try await client.query("up") }
            #expect(error?.code == .unreachable)
        }
    }

    static func time(of result: QueryResult) -> Date {
        if case .scalar(let point) = result { return point.time }
        return .distantPast
    }
}
