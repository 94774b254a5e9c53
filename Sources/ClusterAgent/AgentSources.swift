import BallastConfig

// The `kubernetes:`, `prometheus:`, `ec2:` and `interruptions:` sections of an agent's configuration: where the
// real agent reads its cluster and acts on it. Required unless the agent runs a `simulation:` (the demo).

extension AgentConfiguration {
    /// `kubernetes:`: the cluster's API server. `kubeconfig` (K3s writes /etc/rancher/k3s/k3s.yaml) or `in-cluster`.
    public struct KubernetesEntry: Codable, Equatable, Sendable {
        public var kubeconfig: String?
        /// The kubeconfig context; default its current context.
        public var context: String?
        /// Use the pod's service account instead of a kubeconfig.
        public var inCluster: Bool?

        private enum CodingKeys: String, CodingKey {
            case kubeconfig, context
            case inCluster = "in-cluster"
        }
    }

    /// `prometheus:`: where utilisation and custom metrics come from.
    public struct PrometheusEntry: Codable, Equatable, Sendable {
        /// e.g. http://127.0.0.1:9090
        public var url: String
        /// A bearer token, re-read from this file before every query.
        public var bearerTokenFile: String?
        /// Basic auth: the user, with `password` (a secret reference).
        public var username: String?
        public var password: SecretReference?
        /// A CA file for an https URL signed by a private CA.
        public var caFile: String?
        /// PromQL label matchers (without braces) that select the workers' node-exporter series, e.g.
        /// `job="node-exporter",role="worker"`. Default: every node.
        public var workerSelector: String?
        /// Data older than this is stale (never a reason to scale down). Default 2 min.
        public var maxAge: ConfigDuration?
        /// Named PromQL queries with a target per node, as KEDA users set them.
        public var customMetrics: [CustomMetricEntry]?

        public struct CustomMetricEntry: Codable, Equatable, Sendable {
            public var name: String
            public var query: String
            public var targetPerNode: Double

            private enum CodingKeys: String, CodingKey {
                case name, query
                case targetPerNode = "target-per-node"
            }
        }

        private enum CodingKeys: String, CodingKey {
            case url
            case bearerTokenFile = "bearer-token-file"
            case username, password
            case caFile = "ca-file"
            case workerSelector = "worker-selector"
            case maxAge = "max-age"
            case customMetrics = "custom-metrics"
        }
    }

    /// `ec2:`: how workers are launched.
    public struct EC2Entry: Codable, Equatable, Sendable {
        /// The cluster's launch template: an id (`lt-…`) or a name (deploy/cloudformation/cluster.yaml makes it).
        public var launchTemplate: String
        /// Its version: `$Default` (default), `$Latest` or a number.
        public var launchTemplateVersion: String?
        /// The subnet of each availability zone the planner may launch into.
        public var subnets: [String: String]
        /// Another EC2 endpoint (tests). Default AWS's.
        public var endpoint: String?

        private enum CodingKeys: String, CodingKey {
            case launchTemplate = "launch-template"
            case launchTemplateVersion = "launch-template-version"
            case subnets, endpoint
        }
    }

    /// `interruptions:`: the SQS queue EventBridge feeds with this cluster's spot interruption warnings.
    public struct InterruptionsEntry: Codable, Equatable, Sendable {
        public var queueURL: String
        /// Another SQS endpoint (tests). Default AWS's.
        public var endpoint: String?

        private enum CodingKeys: String, CodingKey {
            case queueURL = "queue-url"
            case endpoint
        }
    }

    /// Checks the real sources: all of `kubernetes`, `prometheus` and `ec2` unless a `simulation:` replaces them.
    func validateSources() throws(ConfigValidationError) {
        guard simulation == nil else { return }
        guard let kubernetes else {
            throw ConfigValidationError(
                key: "kubernetes",
                expected:
                    "the cluster's API server: `kubeconfig: /etc/rancher/k3s/k3s.yaml` or `in-cluster: true` (or a `simulation:` section for the demo)"
            )
        }
        guard (kubernetes.kubeconfig != nil) != (kubernetes.inCluster == true) else {
            throw ConfigValidationError(
                key: "kubernetes",
                expected: "exactly one of `kubeconfig: PATH` or `in-cluster: true`"
            )
        }
        guard let prometheus else {
            throw ConfigValidationError(key: "prometheus", expected: "`url:` of the cluster's Prometheus")
        }
        guard prometheus.url.hasPrefix("http://") || prometheus.url.hasPrefix("https://") else {
            throw ConfigValidationError(key: "prometheus.url", expected: "an http(s) URL such as http://127.0.0.1:9090")
        }
        if (prometheus.username == nil) != (prometheus.password == nil) {
            throw ConfigValidationError(key: "prometheus.password", expected: "`username` and `password` together")
        }
        if let maxAge = prometheus.maxAge, !(maxAge.duration > .zero) {
            throw ConfigValidationError(key: "prometheus.max-age", expected: "a positive duration")
        }
        for (index, metric) in (prometheus.customMetrics ?? []).enumerated() where !(metric.targetPerNode > 0) {
            throw ConfigValidationError(
                key: "prometheus.custom-metrics.\(index).target-per-node",
                expected: "a positive target per node"
            )
        }
        guard let ec2 else {
            throw ConfigValidationError(key: "ec2", expected: "`launch-template:` and `subnets:` (zone: subnet id)")
        }
        guard !ec2.launchTemplate.isEmpty else {
            throw ConfigValidationError(key: "ec2.launch-template", expected: "a launch template id (lt-…) or name")
        }
        guard !ec2.subnets.isEmpty else {
            throw ConfigValidationError(key: "ec2.subnets", expected: "at least one zone: subnet-id")
        }
        if let interruptions, !interruptions.queueURL.hasPrefix("https://"),
            !interruptions.queueURL.hasPrefix("http://")
        {
            throw ConfigValidationError(key: "interruptions.queue-url", expected: "the queue's URL, https://sqs.…")
        }
    }
}
