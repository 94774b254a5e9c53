import Cost

/// The agent's port for its cluster's metrics: utilisation and the custom metrics its configuration names. The real
/// implementation queries Prometheus (PromQL over HTTP, in the `PrometheusClient` module); the simulated one
/// derives them from a simulated cluster's load.
///
/// Promise: a sample is what the source measured, with the time of its newest data point; a source that cannot
/// answer throws rather than returning zeros, so the agent reports the metrics as stale and the planner never scales
/// down on them.
public protocol MetricsSource: Sendable {
    /// One sample of the cluster's metrics as of `now`.
    func sample(at now: Timestamp) async throws(MetricsSourceError) -> MetricsSample
}

/// What a `MetricsSource` measured.
public struct MetricsSample: Sendable, Hashable {
    /// Used over allocatable CPU and memory of the cluster's workers, each 0…1.
    public var utilisation: Utilisation
    /// The configured custom metrics by name (e.g. `queue_depth`), each the query's value for the whole cluster.
    public var custom: [String: Double]
    /// The time of the newest data point the sample rests on; older than the configured age means stale.
    public var observedAt: Timestamp

    public init(utilisation: Utilisation, custom: [String: Double] = [:], observedAt: Timestamp) {
        self.utilisation = utilisation
        self.custom = custom
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
