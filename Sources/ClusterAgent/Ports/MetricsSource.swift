import Cost

/// The agent's port for its cluster's metrics: utilisation and the custom metrics its configuration names. The real
/// implementation queries Prometheus (PromQL over HTTP, in the `PrometheusClient` module); the simulated one
/// derives them from a simulated cluster's load.
///
/// Promise: a sample is what the source measured, with the time of its newest data point (for the utilisation and
/// for each custom metric); a source that cannot answer throws rather than returning zeros, so the agent reports
/// the metrics as stale and the planner never scales down on them.
public protocol MetricsSource: Sendable {
    /// One sample of the cluster's metrics as of `now`.
    func sample(at now: Timestamp) async throws(MetricsSourceError) -> MetricsSample
}

/// What a `MetricsSource` measured.
public struct MetricsSample: Sendable, Hashable {
    /// Used over allocatable CPU and memory of the cluster's workers, each 0…1.
    public var utilisation: Utilisation
    /// The configured custom metrics (e.g. `queue_depth`), in the configuration's order, each with its own age.
    public var custom: [CustomMetricReading]
    /// The time of the newest data point the utilisation rests on; older than the configured age means stale.
    public var observedAt: Timestamp

    public init(utilisation: Utilisation, custom: [CustomMetricReading] = [], observedAt: Timestamp) {
        self.utilisation = utilisation
        self.custom = custom
        self.observedAt = observedAt
    }
}

/// One custom metric as a `MetricsSource` read it: the query's value for the whole cluster, the configured amount
/// one worker handles, and the time of the newest data point behind the value (so one metric whose exporter stopped
/// is stale on its own).
public struct CustomMetricReading: Sendable, Hashable {
    /// The configured name, e.g. `queue_depth`.
    public var name: String
    public var value: Double
    /// How much of the metric one worker handles (`target-per-node`), above 0.
    public var targetPerNode: Double
    public var observedAt: Timestamp

    public init(name: String, value: Double, targetPerNode: Double, observedAt: Timestamp) {
        self.name = name
        self.value = value
        self.targetPerNode = targetPerNode
        self.observedAt = observedAt
    }
}

/// Why a `MetricsSource` could not give a sample.
public struct MetricsSourceError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The metrics server did not answer (connection refused, timeout, TLS failure).
        case unreachable
        /// It answered with an error for a query (bad PromQL, an HTTP or API error).
        case queryFailed = "query-failed"
        /// A query returned nothing, or a result of a type the agent cannot read.
        case noData = "no-data"
    }

    public var code: Code
    /// The query's name, when one query failed.
    public var query: String?
    public var message: String

    public init(_ code: Code, query: String? = nil, _ message: String) {
        self.code = code
        self.query = query
        self.message = message
    }

    public var description: String {
        "metrics \(code.rawValue)\(query.map { " (query \($0))" } ?? ""): \(message)"
    }
}
