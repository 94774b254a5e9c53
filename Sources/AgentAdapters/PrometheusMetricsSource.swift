import ClusterAgent
import Cost
import Foundation
import Logging
import PrometheusClient

/// The agent's `MetricsSource` over Prometheus: evaluates the configured utilisation, freshness and custom
/// queries at the agent's `now` and returns them as one sample.
///
/// Promise: every number in a sample is what a query returned; a query that fails, returns nothing, several
/// series, or NaN makes the whole sample fail with a typed error naming the query, so the agent reports its
/// metrics as stale rather than acting on a part. `observedAt` is the newest raw sample behind the utilisation (the
/// freshness query's answer), and each custom metric carries its own (its freshness query's answer, else the
/// evaluation time), so a stopped exporter shows as stale data even while Prometheus keeps answering, and only the
/// metrics that rest on it are stale.
public struct PrometheusMetricsSource: MetricsSource {
    public let settings: MetricsSettings
    private let client: PrometheusClient
    private let logger: Logger

    /// The client stays the caller's: it is shut down by whoever made it.
    public init(client: PrometheusClient, settings: MetricsSettings, logger: Logger) {
        self.client = client
        self.settings = settings
        self.logger = logger
    }

    public func sample(at now: Timestamp) async throws(MetricsSourceError) -> MetricsSample {
        let time = Date(timeIntervalSince1970: Double(now.millisecondsSinceEpoch) / 1000)
        let cpu = try await number("cpu", settings.cpuUtilisation, at: time)
        let memory = try await number("memory", settings.memoryUtilisation, at: time)
        let observedAt = try await newestSample("freshness", settings.freshness, at: time)
        var custom: [CustomMetricReading] = []
        custom.reserveCapacity(settings.custom.count)
        for metric in settings.custom {
            let value = try await number(metric.name, metric.query, at: time)
            let stamp =
                if let freshness = metric.freshnessQuery {
                    try await newestSample("\(metric.name).freshness", freshness, at: time)
                } else {
                    Self.timestamp(value.time)
                }
            custom.append(
                CustomMetricReading(
                    name: metric.name,
                    value: value.value,
                    targetPerNode: metric.targetPerNode,
                    observedAt: stamp
                )
            )
        }
        return MetricsSample(
            utilisation: Utilisation(cpu: Self.unitInterval(cpu.value), memory: Self.unitInterval(memory.value)),
            custom: custom,
            observedAt: observedAt
        )
    }

    /// Evaluates a freshness query: its value is a Unix time in seconds.
    private func newestSample(
        _ name: String,
        _ query: String,
        at time: Date
    ) async throws(MetricsSourceError)
        -> Timestamp
    {
        let point = try await number(name, query, at: time)
        return Self.timestamp(Date(timeIntervalSince1970: point.value))
    }

    /// Evaluates `query` and reads its one number.
    private func number(
        _ name: String,
        _ query: String,
        at time: Date
    ) async throws(MetricsSourceError)
        -> SamplePoint
    {
        let result: QueryResult
        do {
            result = try await client.query(query, at: time, timeout: settings.queryTimeout)
        } catch {
            let code: MetricsSourceError.Code = error.code == .unreachable ? .unreachable : .queryFailed
            logger.warning(
                "metrics query failed",
                metadata: ["metrics.query": "\(name)", "metrics.error": "\(error.outcomeDescription)"]
            )
            throw MetricsSourceError(code, query: name, error.description)
        }
        let point: SamplePoint
        switch result {
        case .scalar(let scalar):
            point = scalar
        case .vector(let samples) where samples.count == 1:
            point = samples[0].point
        case .vector(let samples) where samples.isEmpty:
            throw MetricsSourceError(.noData, query: name, "the query returned no series")
        case .vector(let samples):
            throw MetricsSourceError(
                .noData,
                query: name,
                "the query returned \(samples.count) series; aggregate it to one (sum, avg, max)"
            )
        case .string, .matrix:
            throw MetricsSourceError(
                .noData,
                query: name,
                "the query returned a \(result.resultType); it must return one number"
            )
        }
        guard point.value.isFinite else {
            throw MetricsSourceError(.noData, query: name, "the query returned \(point.value)")
        }
        return point
    }

    static func timestamp(_ date: Date) -> Timestamp {
        Timestamp(sinceEpoch: .milliseconds(Int64((date.timeIntervalSince1970 * 1000).rounded())))
    }

    /// Rate extrapolation can land a hair outside 0…1; the port promises a fraction.
    static func unitInterval(_ value: Double) -> Double { min(1, max(0, value)) }
}

extension PrometheusError {
    /// The code and error type, without the message (which can quote the query).
    fileprivate var outcomeDescription: String {
        errorType.map { "\(code.rawValue)(\($0))" } ?? code.rawValue
    }
}
