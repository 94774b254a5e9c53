import BallastConfig

/// A cluster agent's configuration file (YAML). `cluster-id`, `region`, `coordinators` and `secret` are
/// required; the rest have the defaults of SYSTEM.md.
public struct AgentConfiguration: ValidatedConfiguration, Equatable {
    /// The cluster this agent runs for; also its node id on the wire.
    public var clusterID: String
    public var region: String
    /// Every coordinator replica, as `host:port`; the agent reports to each.
    public var coordinators: [PeerAddress]
    /// The cluster's HMAC secret, shared with the coordinators.
    public var secret: SecretReference
    /// How often the agent reports. Default 5 s.
    public var reportInterval: ConfigDuration
    /// Where `/metrics` and `/healthz` are served. Default 127.0.0.1:9465.
    public var metrics: ListenAddress
    public var logLevel: LogLevelSetting
    /// Where the agent keeps what must survive a restart (the highest fencing epoch seen, in `highest-epoch`).
    /// Created if missing. Default /var/lib/ballast-agent.
    public var stateDirectory: String
    /// With no leader reaching the agent for this long, it goes autonomous: it may add on-demand nodes for pending
    /// pods, never removes any. Default 2m.
    public var autonomousAfter: ConfigDuration
    /// The most nodes the agent adds while autonomous. Default 5; 0 turns autonomous launches off.
    public var autonomousMaxNodes: Int
    /// Drains ordered by a leader that may run at once (spot interruption drains are not held back). Default 3.
    public var maxConcurrentDrains: Int
    /// The longest a drain may run: a command asking for a longer deadline is held to this one. Default 10m.
    public var drainDeadline: ConfigDuration
    /// What a rebalance recommendation does: `replace` (report it, so the leader replaces the node) or `ignore`.
    /// Default replace.
    public var rebalance: RebalancePolicy
    /// When present, the agent observes a simulated cluster driven by a traffic trace instead of a real one
    /// (the demo). Absent in production.
    public var simulation: SimulationEntry?
    /// The real cluster's sources (see AgentSources.swift); required without `simulation:`.
    public var kubernetes: KubernetesEntry?
    public var prometheus: PrometheusEntry?
    public var ec2: EC2Entry?
    /// Optional: without it the agent hears of spot interruptions only through the coordinator.
    public var interruptions: InterruptionsEntry?

    /// A simulated cluster for the demo: demand follows a per-minute request trace.
    public struct SimulationEntry: Codable, Equatable, Sendable {
        /// A `minute,requests` CSV file (e.g. ../shared/traces/twitter-per-minute.csv).
        public var trace: String
        /// Trace minutes played per real second. Default 1.
        public var minutesPerSecond: Double?
        /// Trace minute to start at. Default 0.
        public var startMinute: Int?
        /// Requests per minute one pod serves. Default: the trace's median rate / 40.
        public var requestsPerPod: Double?
        /// Workers the simulated cluster starts with. Default 6.
        public var nodes: Int?
        /// Instance type of the workers. Default m6i.large.
        public var instanceType: String?
        /// Availability zones. Default the region's a, b and c.
        public var zones: [String]?

        private enum CodingKeys: String, CodingKey {
            case trace
            case minutesPerSecond = "minutes-per-second"
            case startMinute = "start-minute"
            case requestsPerPod = "requests-per-pod"
            case nodes
            case instanceType = "instance-type"
            case zones
        }
    }

    private enum CodingKeys: String, CodingKey {
        case clusterID = "cluster-id"
        case region, coordinators, secret
        case reportInterval = "report-interval"
        case metrics
        case logLevel = "log-level"
        case stateDirectory = "state-directory"
        case autonomousAfter = "autonomous-after"
        case autonomousMaxNodes = "autonomous-max-nodes"
        case maxConcurrentDrains = "max-concurrent-drains"
        case drainDeadline = "drain-deadline"
        case rebalance
        case simulation, kubernetes, prometheus, ec2, interruptions
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        clusterID = try container.decode(String.self, forKey: .clusterID)
        region = try container.decode(String.self, forKey: .region)
        coordinators = try container.decode([PeerAddress].self, forKey: .coordinators)
        secret = try container.decode(SecretReference.self, forKey: .secret)
        reportInterval = try container.decode(.reportInterval, default: ConfigDuration(.seconds(5)))
        metrics = try container.decode(.metrics, default: ListenAddress(host: "127.0.0.1", port: 9465))
        logLevel = try container.decode(.logLevel, default: .info)
        stateDirectory = try container.decode(.stateDirectory, default: "/var/lib/ballast-agent")
        autonomousAfter = try container.decode(.autonomousAfter, default: ConfigDuration(.seconds(120)))
        autonomousMaxNodes = try container.decode(.autonomousMaxNodes, default: 5)
        maxConcurrentDrains = try container.decode(.maxConcurrentDrains, default: 3)
        drainDeadline = try container.decode(.drainDeadline, default: ConfigDuration(.seconds(600)))
        rebalance = try container.decode(.rebalance, default: .replace)
        simulation = try container.decodeIfPresent(SimulationEntry.self, forKey: .simulation)
        kubernetes = try container.decodeIfPresent(KubernetesEntry.self, forKey: .kubernetes)
        prometheus = try container.decodeIfPresent(PrometheusEntry.self, forKey: .prometheus)
        ec2 = try container.decodeIfPresent(EC2Entry.self, forKey: .ec2)
        interruptions = try container.decodeIfPresent(InterruptionsEntry.self, forKey: .interruptions)
    }

    public func validate() throws(ConfigValidationError) {
        guard !clusterID.isEmpty, clusterID.utf8.count <= 255 else {
            throw ConfigValidationError(key: "cluster-id", expected: "a cluster id of 1 to 255 bytes")
        }
        guard !region.isEmpty else {
            throw ConfigValidationError(key: "region", expected: "an AWS region such as eu-west-1")
        }
        guard !coordinators.isEmpty else {
            throw ConfigValidationError(key: "coordinators", expected: "at least one coordinator address, host:port")
        }
        guard reportInterval.duration > .zero else {
            throw ConfigValidationError(key: "report-interval", expected: "a positive duration")
        }
        try metrics.validate(key: "metrics", allowZero: true)
        guard !stateDirectory.isEmpty else {
            throw ConfigValidationError(key: "state-directory", expected: "a directory path")
        }
        guard autonomousAfter.duration > .zero else {
            throw ConfigValidationError(key: "autonomous-after", expected: "a positive duration")
        }
        guard autonomousMaxNodes >= 0 else {
            throw ConfigValidationError(key: "autonomous-max-nodes", expected: "zero or more nodes")
        }
        guard maxConcurrentDrains >= 1 else {
            throw ConfigValidationError(key: "max-concurrent-drains", expected: "at least 1")
        }
        guard drainDeadline.duration >= .seconds(1) else {
            throw ConfigValidationError(key: "drain-deadline", expected: "a duration of at least 1s")
        }
        try validateSources()
        if let simulation {
            if let rate = simulation.minutesPerSecond, !(rate > 0) {
                throw ConfigValidationError(key: "simulation.minutes-per-second", expected: "a positive number")
            }
            if let nodes = simulation.nodes, nodes < 1 {
                throw ConfigValidationError(key: "simulation.nodes", expected: "at least 1 node")
            }
            if let perPod = simulation.requestsPerPod, !(perPod > 0) {
                throw ConfigValidationError(key: "simulation.requests-per-pod", expected: "a positive number")
            }
        }
    }
}
