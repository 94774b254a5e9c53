import BallastConfig
import Cost

/// A coordinator replica's configuration file (YAML). Every key is optional except `node-id` and `clusters`;
/// defaults are those of SYSTEM.md. Secrets are named by `file:` or `env:`, never written here.
public struct CoordinatorConfiguration: ValidatedConfiguration, Equatable {
    /// This replica's node id on the wire, e.g. `coord-1`.
    public var nodeID: String
    /// Where agents and coordctl connect. Default 0.0.0.0:7400.
    public var listen: ListenAddress
    /// The address agents and coordctl reach this replica at, written into the lease when it leads so followers
    /// can name the leader. Default: the listen address (with this host's name when listening on all addresses).
    public var advertise: PeerAddress?
    /// Where `/metrics` and `/healthz` are served. Default 127.0.0.1:9464.
    public var metrics: ListenAddress
    public var logLevel: LogLevelSetting
    /// The secret `coordctl` authenticates with. Without it, no operator can connect.
    public var adminSecret: SecretReference?
    /// The clusters this fleet manages: their agents authenticate with their own secrets.
    public var clusters: [ClusterEntry]
    /// How often the leader plans. Default 5 s.
    public var planInterval: ConfigDuration
    /// A cluster whose agent has not reported for this long is lost. Default 60 s.
    public var clusterLostAfter: ConfigDuration
    /// The fleet's money. Default: no budget (unlimited).
    public var budget: BudgetEntry?
    /// Where spot prices come from: `none` (default: plan on-demand only), `ec2` (DescribeSpotPriceHistory in each
    /// cluster's region, with the standard AWS credentials) or `simulated` (the demo's market, priced from the
    /// on-demand catalog).
    public var spotPrices: SpotPriceSetting
    /// Where this replica keeps its files (the SQLite lease by default). Default /var/lib/ballast, the
    /// `StateDirectory=` of deploy/systemd's unit.
    public var stateDirectory: String
    /// The fleet's leader lease: store and timings. Default: SQLite in the state directory.
    public var lease: LeaseEntry
    /// Where people hear about what the leader does. Default: nowhere.
    public var notifications: NotificationsEntry?
    /// The account-wide interruption queues the leader consumes and routes to the owning clusters' agents.
    /// Default: none (each agent reads its own cluster's queue only).
    public var interruptions: InterruptionsEntry?

    /// `interruptions:`: one SQS queue per region that EventBridge feeds with every EC2 interruption event of the
    /// account (deploy/cloudformation/events.yaml makes one).
    public struct InterruptionsEntry: Codable, Equatable, Sendable {
        /// The queue URL of each region, by region: `eu-west-1: https://sqs.eu-west-1.amazonaws.com/…/…`.
        public var queues: [String: String]
        /// How long one receive waits for a message, 0–20 s. Default 20 s.
        public var waitTime: ConfigDuration?
        /// How long a received message stays hidden from other receivers; routing one must take less. Default: the
        /// queue's own visibility timeout.
        public var visibilityTimeout: ConfigDuration?
        /// Another SQS endpoint than AWS's (a VPC endpoint, or moto in tests), e.g. `http://127.0.0.1:5000`.
        public var endpoint: String?

        private enum CodingKeys: String, CodingKey {
            case queues
            case waitTime = "wait-time"
            case visibilityTimeout = "visibility-timeout"
            case endpoint
        }
    }

    /// `notifications:`: a Slack incoming webhook (its URL is a secret: from a file or the environment).
    public struct NotificationsEntry: Codable, Equatable, Sendable {
        public var slackWebhook: SecretReference
        /// Lines gathered into one message. Default 10 s.
        public var batchInterval: ConfigDuration?

        private enum CodingKeys: String, CodingKey {
            case slackWebhook = "slack-webhook"
            case batchInterval = "batch-interval"
        }
    }

    public enum SpotPriceSetting: String, ConfigChoice, Equatable, Sendable {
        case none
        case ec2
        case simulated
    }

    /// One managed cluster.
    public struct ClusterEntry: Codable, Equatable, Sendable {
        /// The cluster id; its agent connects with this as its node id.
        public var id: String
        public var region: String
        /// The HMAC secret this cluster's agent authenticates with.
        public var secret: SecretReference
        public var minNodes: Int?
        public var maxNodes: Int?
        public var onDemandBase: Int?
        public var targetSpotShare: Double?
        public var allowedInstanceTypes: [String]?
        /// Requested over allocatable the planner aims for (0 < x ≤ 1). Default 0.75.
        public var targetUtilisation: Double?
        /// Zones the planner may launch in. Default every zone the cluster reports.
        public var zones: [String]?
        /// Served first when the budget is short: `low`, `normal` (default), `high`, `critical`.
        public var priority: PrioritySetting?
        /// Share of the budget within its priority class, relative to the others (> 0). Default 1.
        public var weight: Double?
        /// Clusters that take this one's demand when it is lost or failed over, in order of preference.
        public var failoverTargets: [String]?
        /// Spare nodes kept warm above demand (`warm-headroom-nodes`) or a share of demand (`warm-headroom-share`,
        /// 0.2 = 20 %); one of the two. Default none.
        public var warmHeadroomNodes: Int?
        public var warmHeadroomShare: Double?
        /// Largest share of the cluster's nodes draining at once (0…1, at least one node). Default 0.1.
        public var disruptionBudget: Double?
        /// A consolidation that evicts pods must save at least this share of the cluster's hourly cost. Default 0.1.
        public var minConsolidationSaving: Double?
        /// Most pods the planner may evict from the cluster in an hour. Default 100.
        public var maxEvictionsPerHour: Int?
        /// How long a node must be unneeded before it is removed. Default 10 min.
        public var scaleDownUnneeded: ConfigDuration?
        /// No removal this soon after the cluster grew. Default 10 min.
        public var scaleDownDelayAfterAdd: ConfigDuration?
        /// Start paused: the planner changes nothing until `coordctl resume`. Default false.
        public var paused: Bool?

        public enum PrioritySetting: String, ConfigChoice, Equatable, Sendable {
            case low, normal, high, critical

            var priorityClass: PriorityClass {
                switch self {
                case .low: .low
                case .normal: .normal
                case .high: .high
                case .critical: .critical
                }
            }
        }

        private enum CodingKeys: String, CodingKey {
            case id, region, secret
            case minNodes = "min-nodes"
            case maxNodes = "max-nodes"
            case onDemandBase = "on-demand-base"
            case targetSpotShare = "target-spot-share"
            case allowedInstanceTypes = "instance-types"
            case targetUtilisation = "target-utilisation"
            case zones, priority, weight
            case failoverTargets = "failover-targets"
            case warmHeadroomNodes = "warm-headroom-nodes"
            case warmHeadroomShare = "warm-headroom-share"
            case disruptionBudget = "disruption-budget"
            case minConsolidationSaving = "min-consolidation-saving"
            case maxEvictionsPerHour = "max-evictions-per-hour"
            case scaleDownUnneeded = "scale-down-unneeded"
            case scaleDownDelayAfterAdd = "scale-down-delay-after-add"
            case paused
        }

        /// The YAML key of each policy field this entry can set, for errors from the planner's validation.
        static let yamlKeys: [String: String] = [
            "minNodes": "min-nodes", "maxNodes": "max-nodes", "onDemandBase": "on-demand-base",
            "targetSpotShare": "target-spot-share", "allowedInstanceTypes": "instance-types",
            "targetUtilisation": "target-utilisation", "weight": "weight", "warmHeadroom": "warm-headroom-nodes",
            "disruptionBudget": "disruption-budget", "minConsolidationSaving": "min-consolidation-saving",
            "maxEvictionsPerHour": "max-evictions-per-hour",
        ]

        /// The planner's policy for this cluster: its defaults with this entry's overrides.
        public var policy: ClusterPolicy {
            var policy = ClusterPolicy()
            if let minNodes { policy.minNodes = minNodes }
            if let maxNodes { policy.maxNodes = maxNodes }
            if let onDemandBase { policy.onDemandBase = onDemandBase }
            if let targetSpotShare { policy.targetSpotShare = targetSpotShare }
            if let allowedInstanceTypes { policy.allowedInstanceTypes = allowedInstanceTypes }
            if let targetUtilisation { policy.targetUtilisation = targetUtilisation }
            if let zones { policy.allowedZones = zones }
            if let priority { policy.priorityClass = priority.priorityClass }
            if let weight { policy.weight = weight }
            if let failoverTargets { policy.failoverTargets = failoverTargets.map { ClusterID($0) } }
            if let warmHeadroomNodes { policy.warmHeadroom = .nodes(warmHeadroomNodes) }
            if let warmHeadroomShare { policy.warmHeadroom = .shareOfDemand(warmHeadroomShare) }
            if let disruptionBudget { policy.disruptionBudget = disruptionBudget }
            if let minConsolidationSaving { policy.minConsolidationSaving = minConsolidationSaving }
            if let maxEvictionsPerHour { policy.maxEvictionsPerHour = maxEvictionsPerHour }
            if let scaleDownUnneeded { policy.scaleDownUnneeded = scaleDownUnneeded.duration }
            if let scaleDownDelayAfterAdd { policy.scaleDownDelayAfterAdd = scaleDownDelayAfterAdd.duration }
            if let paused { policy.paused = paused }
            return policy
        }
    }

    /// The monthly budget, fleet-wide and optionally per region, in USD.
    public struct BudgetEntry: Codable, Equatable, Sendable {
        public var monthlyUSD: Double
        public var regions: [String: Double]?

        private enum CodingKeys: String, CodingKey {
            case monthlyUSD = "monthly-usd"
            case regions
        }
    }

    private enum CodingKeys: String, CodingKey {
        case nodeID = "node-id"
        case listen, metrics, advertise
        case logLevel = "log-level"
        case adminSecret = "admin-secret"
        case clusters
        case planInterval = "plan-interval"
        case clusterLostAfter = "cluster-lost-after"
        case budget
        case spotPrices = "spot-prices"
        case stateDirectory = "state-directory"
        case lease, notifications, interruptions
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        nodeID = try container.decode(String.self, forKey: .nodeID)
        listen = try container.decode(.listen, default: ListenAddress(host: "0.0.0.0", port: 7400))
        metrics = try container.decode(.metrics, default: ListenAddress(host: "127.0.0.1", port: 9464))
        advertise = try container.decodeIfPresent(PeerAddress.self, forKey: .advertise)
        logLevel = try container.decode(.logLevel, default: .info)
        adminSecret = try container.decodeIfPresent(SecretReference.self, forKey: .adminSecret)
        clusters = try container.decode([ClusterEntry].self, forKey: .clusters)
        planInterval = try container.decode(.planInterval, default: ConfigDuration(.seconds(5)))
        clusterLostAfter = try container.decode(.clusterLostAfter, default: ConfigDuration(.seconds(60)))
        budget = try container.decodeIfPresent(BudgetEntry.self, forKey: .budget)
        spotPrices = try container.decode(.spotPrices, default: .none)
        stateDirectory = try container.decode(.stateDirectory, default: "/var/lib/ballast")
        lease = try container.decode(.lease, default: LeaseEntry())
        notifications = try container.decodeIfPresent(NotificationsEntry.self, forKey: .notifications)
        interruptions = try container.decodeIfPresent(InterruptionsEntry.self, forKey: .interruptions)
    }

    public func validate() throws(ConfigValidationError) {
        guard !nodeID.isEmpty, nodeID.utf8.count <= 255 else {
            throw ConfigValidationError(key: "node-id", expected: "a node id of 1 to 255 bytes")
        }
        try listen.validate(key: "listen", allowZero: true)
        try metrics.validate(key: "metrics", allowZero: true)
        guard !clusters.isEmpty else {
            throw ConfigValidationError(key: "clusters", expected: "at least one cluster (id, region, secret)")
        }
        var seen = Set<String>()
        for (index, cluster) in clusters.enumerated() {
            let key = "clusters.\(index)"
            guard !cluster.id.isEmpty, cluster.id.utf8.count <= 255 else {
                throw ConfigValidationError(key: key + ".id", expected: "a cluster id of 1 to 255 bytes")
            }
            guard seen.insert(cluster.id).inserted else {
                throw ConfigValidationError(key: key + ".id", expected: "a cluster id not used by another entry")
            }
            guard !cluster.region.isEmpty else {
                throw ConfigValidationError(key: key + ".region", expected: "an AWS region such as eu-west-1")
            }
            if cluster.warmHeadroomNodes != nil, cluster.warmHeadroomShare != nil {
                throw ConfigValidationError(
                    key: key + ".warm-headroom-share",
                    expected: "one of warm-headroom-nodes or warm-headroom-share, not both"
                )
            }
            // The planner's own rule for a policy, reported under the key the value came from.
            do throws(CostError) {
                try cluster.policy.validate(cluster: ClusterID(cluster.id))
            } catch {
                let yamlKey = error.field.flatMap { ClusterEntry.yamlKeys[$0] } ?? error.field ?? "policy"
                throw ConfigValidationError(key: key + "." + yamlKey, expected: "a value that \(error.message)")
            }
        }
        let ids = Set(clusters.map(\.id))
        for (index, cluster) in clusters.enumerated() {
            for (position, target) in (cluster.failoverTargets ?? []).enumerated()
            where !ids.contains(target) || target == cluster.id {
                throw ConfigValidationError(
                    key: "clusters.\(index).failover-targets.\(position)",
                    expected:
                        "another cluster of this fleet (\(ids.subtracting([cluster.id]).sorted().joined(separator: ", ")))"
                )
            }
        }
        guard planInterval.duration > .zero else {
            throw ConfigValidationError(key: "plan-interval", expected: "a positive duration")
        }
        guard !stateDirectory.isEmpty else {
            throw ConfigValidationError(key: "state-directory", expected: "a directory this replica may write")
        }
        try lease.validate()
        if let interval = notifications?.batchInterval, !(interval.duration > .zero) {
            throw ConfigValidationError(key: "notifications.batch-interval", expected: "a positive duration")
        }
        try validateInterruptions()
        guard clusterLostAfter.duration > planInterval.duration else {
            throw ConfigValidationError(key: "cluster-lost-after", expected: "a duration longer than plan-interval")
        }
        if let budget = fleetBudget {
            // The planner's own rule for a budget, reported under the key the value came from.
            do throws(CostError) {
                try budget.validate()
            } catch {
                let yamlKey =
                    error.field.map {
                        $0 == "monthlyUSD"
                            ? "budget.monthly-usd" : "budget.regions." + $0.dropFirst("regionalMonthlyUSD.".count)
                    } ?? "budget"
                throw ConfigValidationError(key: yamlKey, expected: "a value that \(error.message)")
            }
            let regions = Set(clusters.map(\.region))
            for region in budget.regionalMonthlyUSD.keys.sorted() where !regions.contains(region) {
                throw ConfigValidationError(
                    key: "budget.regions.\(region)",
                    expected: "a region one of the clusters is in (\(regions.sorted().joined(separator: ", ")))"
                )
            }
        }
    }
}

extension CoordinatorConfiguration {
    /// `interruptions:`: at least one queue; each keyed by a region one of the clusters is in, with an SQS queue
    /// URL (`https://` host and `/account/name` path); timings within SQS's limits.
    func validateInterruptions() throws(ConfigValidationError) {
        guard let interruptions else { return }
        guard !interruptions.queues.isEmpty else {
            throw ConfigValidationError(
                key: "interruptions.queues",
                expected: "at least one region with its queue URL (eu-west-1: https://sqs.eu-west-1.amazonaws.com/…)"
            )
        }
        let regions = Set(clusters.map(\.region))
        for (region, url) in interruptions.queues.sorted(by: { $0.key < $1.key }) {
            let key = "interruptions.queues.\(region)"
            guard regions.contains(region) else {
                throw ConfigValidationError(
                    key: key,
                    expected: "a region one of the clusters is in (\(regions.sorted().joined(separator: ", ")))"
                )
            }
            guard Self.isQueueURL(url) else {
                throw ConfigValidationError(
                    key: key,
                    expected:
                        "an SQS queue URL such as https://sqs.\(region).amazonaws.com/123456789012/ballast-interruptions"
                )
            }
        }
        if let wait = interruptions.waitTime, !(wait.duration >= .zero && wait.duration <= .seconds(20)) {
            throw ConfigValidationError(key: "interruptions.wait-time", expected: "a duration from 0 to 20 s")
        }
        if let visibility = interruptions.visibilityTimeout,
            !(visibility.duration >= .seconds(1) && visibility.duration <= .seconds(43_200))
        {
            throw ConfigValidationError(
                key: "interruptions.visibility-timeout",
                expected: "a duration from 1 s to 12 h"
            )
        }
        if let endpoint = interruptions.endpoint, !Self.isHTTPURL(endpoint) {
            throw ConfigValidationError(key: "interruptions.endpoint", expected: "an http:// or https:// URL")
        }
    }

    /// `http(s)://host[:port]/account/name`.
    static func isQueueURL(_ text: String) -> Bool {
        guard isHTTPURL(text) else { return false }
        let afterScheme = text.split(separator: "://", maxSplits: 1).last ?? ""
        let parts = afterScheme.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 3 && parts.allSatisfy { !$0.isEmpty && !$0.contains(where: \.isWhitespace) }
    }

    static func isHTTPURL(_ text: String) -> Bool {
        for scheme in ["https://", "http://"] where text.hasPrefix(scheme) {
            let rest = text.dropFirst(scheme.count)
            return !rest.isEmpty && !rest.hasPrefix("/") && !rest.contains(where: \.isWhitespace)
        }
        return false
    }
}
