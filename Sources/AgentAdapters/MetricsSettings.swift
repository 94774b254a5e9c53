import ClusterAgent
import Cost

/// What the agent asks Prometheus, and how old an answer may be: the utilisation queries, the custom metrics with
/// their per-node targets, and the age past which a sample is stale. The agent's configuration fills it; the
/// defaults read node-exporter's metrics.
///
/// Every query must return one number (a one-series vector or a scalar); aggregate with `sum`/`avg`/`max`.
public struct MetricsSettings: Sendable, Hashable {
    /// A metric the planner sizes the cluster to, KEDA style: the cluster needs `ceil(value / targetPerNode)`
    /// workers for it (e.g. `queue_depth` with 100 messages per node).
    public struct CustomMetric: Sendable, Hashable {
        /// The name in reports and logs (e.g. `queue_depth`).
        public var name: String
        /// PromQL returning the cluster-wide value.
        public var query: String
        /// How much of the metric one worker handles; > 0.
        public var targetPerNode: Double
        /// PromQL returning the Unix time (seconds) of the newest raw sample behind `query`, e.g.
        /// `max(timestamp(rabbitmq_queue_messages))`; nil takes the query's evaluation time (never stale on
        /// its own, so set it when the metric's exporter may stop while Prometheus keeps answering).
        public var freshnessQuery: String?

        public init(name: String, query: String, targetPerNode: Double, freshnessQuery: String? = nil) {
            self.name = name
            self.query = query
            self.targetPerNode = targetPerNode
            self.freshnessQuery = freshnessQuery
        }
    }

    /// PromQL for used CPU over the workers' CPU, 0…1.
    public var cpuUtilisation: String
    /// PromQL for used memory over the workers' memory, 0…1.
    public var memoryUtilisation: String
    /// PromQL returning the Unix time (seconds) of the newest raw sample behind the utilisation queries; an
    /// instant query stamps its result with the evaluation time, so only this tells how old the data is.
    public var freshness: String
    public var custom: [CustomMetric]
    /// A sample whose data is older than this is stale: reported as such, and never a reason to scale down.
    /// Default 2 minutes.
    public var maxAge: Duration
    /// Per-query timeout, sent to Prometheus. Default 10 s.
    public var queryTimeout: Duration

    public init(
        cpuUtilisation: String,
        memoryUtilisation: String,
        freshness: String,
        custom: [CustomMetric] = [],
        maxAge: Duration = .seconds(120),
        queryTimeout: Duration = .seconds(10)
    ) {
        self.cpuUtilisation = cpuUtilisation
        self.memoryUtilisation = memoryUtilisation
        self.freshness = freshness
        self.custom = custom
        self.maxAge = maxAge
        self.queryTimeout = queryTimeout
    }

    /// node-exporter queries over the series matched by `workerSelector` (PromQL label matchers without braces,
    /// e.g. `job="node-exporter",role="worker"`; empty for every node):
    ///
    /// - CPU: `1 - sum(rate(node_cpu_seconds_total{mode="idle",…}[2m])) / sum(rate(node_cpu_seconds_total{…}[2m]))`,
    ///   the idle share of all CPU time. A ratio of two rates, not `1 - avg(idle rate)`: while a series is younger
    ///   than the window (a node that just joined, a Prometheus just started) `rate` divides what it saw by the
    ///   whole window and comes out low, which an average of idle rates reads as a busy CPU (a node 20 s old looked
    ///   97 % busy); idle and total are scraped together, so the ratio of their rates stays true.
    /// - memory: `1 - sum(node_memory_MemAvailable_bytes{…}) / sum(node_memory_MemTotal_bytes{…})`
    /// - freshness: `max(timestamp(node_memory_MemTotal_bytes{…}))`
    public static func nodeExporter(
        workerSelector: String = "",
        rateWindow: String = "2m",
        custom: [CustomMetric] = [],
        maxAge: Duration = .seconds(120)
    ) -> MetricsSettings {
        let extra = workerSelector.trimmingSpaces
        let idle = extra.isEmpty ? #"{mode="idle"}"# : #"{mode="idle","# + extra + "}"
        let nodes = extra.isEmpty ? "" : "{" + extra + "}"
        return MetricsSettings(
            cpuUtilisation: "1 - sum(rate(node_cpu_seconds_total\(idle)[\(rateWindow)]))"
                + " / sum(rate(node_cpu_seconds_total\(nodes)[\(rateWindow)]))",
            memoryUtilisation:
                "1 - sum(node_memory_MemAvailable_bytes\(nodes)) / sum(node_memory_MemTotal_bytes\(nodes))",
            freshness: "max(timestamp(node_memory_MemTotal_bytes\(nodes)))",
            custom: custom,
            maxAge: maxAge
        )
    }

    /// The node-exporter defaults over every node.
    public static let `default` = nodeExporter()

    /// Whether `sample` rests on data no older than `maxAge` at `now`.
    public func isFresh(_ sample: MetricsSample, at now: Timestamp) -> Bool {
        now - sample.observedAt <= maxAge
    }

    /// Workers each custom metric of `sample` asks for: `ceil(value / targetPerNode)` with this configuration's
    /// targets, at least 0; metrics missing from the sample are left out. The planner sizes to the largest of
    /// these, the requests and the utilisation (docs/planner.md, rule 1).
    public func nodesWanted(by sample: MetricsSample) -> [String: Int] {
        var wanted: [String: Int] = [:]
        for metric in custom {
            guard let reading = sample.custom.first(where: { $0.name == metric.name }) else { continue }
            let report = CustomMetricReport(
                name: metric.name,
                value: reading.value,
                targetPerNode: metric.targetPerNode
            )
            if let nodes = report.nodesWanted { wanted[metric.name] = nodes }
        }
        return wanted
    }

    /// Why these settings cannot be used, one line per problem; empty when they can.
    public func problems() -> [String] {
        var problems: [String] = []
        if cpuUtilisation.trimmingSpaces.isEmpty { problems.append("the CPU utilisation query is empty") }
        if memoryUtilisation.trimmingSpaces.isEmpty { problems.append("the memory utilisation query is empty") }
        if maxAge <= .zero { problems.append("maxAge must be positive") }
        if queryTimeout <= .zero { problems.append("queryTimeout must be positive") }
        var names: Set<String> = []
        for metric in custom {
            if metric.name.isEmpty { problems.append("a custom metric has no name") }
            if !names.insert(metric.name).inserted { problems.append("custom metric '\(metric.name)' is named twice") }
            if metric.query.trimmingSpaces.isEmpty { problems.append("custom metric '\(metric.name)' has no query") }
            if !(metric.targetPerNode > 0) || !metric.targetPerNode.isFinite {
                problems.append("custom metric '\(metric.name)' needs a targetPerNode above 0")
            }
        }
        return problems
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
