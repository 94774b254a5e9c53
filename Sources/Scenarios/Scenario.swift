import Cost

/// A simulation scenario: the clusters, their traffic, the cloud they run on, the money they may spend and what
/// happens to them over the run. Loaded from YAML (`Scenario.load(path:)`, docs/simulator.md); every value has
/// been validated by the loader, and each error names the file and the key.
///
/// Times are minutes from the start of the run (`at`); the run's wall clock starts at `start` (Unix seconds,
/// UTC). A cluster's trace minute at run minute `m` is `trace.offsetMinutes + m` (wrapping at the trace's end),
/// shifted by the cluster's time zone so that each cluster's local morning is its trace's morning:
/// `traceMinute(of:atRunMinute:)` says exactly which.
public struct Scenario: Sendable, Equatable {
    public var name: String
    /// One or two sentences a report shows under the title.
    public var description: String
    /// Length of the run in minutes.
    public var durationMinutes: Int
    /// The seed every random draw of the run derives from (boot delays, interruptions, price moves).
    public var seed: UInt64
    /// Wall time of run minute 0, Unix seconds (UTC). Budgets are monthly: a run that starts mid-month starts with
    /// the month's allowance partly spent by the budget's `spentBeforeUSD`.
    public var start: Int64
    /// Fleet budget; nil for none.
    public var budget: ScenarioBudget?
    public var cloud: ScenarioCloud
    public var clusters: [ScenarioCluster]
    /// Ordered by `at`.
    public var events: [ScenarioEvent]

    public init(
        name: String,
        description: String,
        durationMinutes: Int,
        seed: UInt64,
        start: Int64,
        budget: ScenarioBudget?,
        cloud: ScenarioCloud,
        clusters: [ScenarioCluster],
        events: [ScenarioEvent]
    ) {
        self.name = name
        self.description = description
        self.durationMinutes = durationMinutes
        self.seed = seed
        self.start = start
        self.budget = budget
        self.cloud = cloud
        self.clusters = clusters
        self.events = events
    }
}

public struct ScenarioBudget: Sendable, Equatable {
    /// The fleet's monthly allowance in USD.
    public var monthlyUSD: Double
    /// Regional monthly caps in USD, by region.
    public var regions: [String: Double]
    /// Spend already booked this month before the run starts (a run mid-month).
    public var spentBeforeUSD: Double

    public init(monthlyUSD: Double, regions: [String: Double] = [:], spentBeforeUSD: Double = 0) {
        self.monthlyUSD = monthlyUSD
        self.regions = regions
        self.spentBeforeUSD = spentBeforeUSD
    }
}

/// How the simulated EC2 behaves.
public struct ScenarioCloud: Sendable, Equatable {
    /// Boot delay from RunInstances to a Ready node: log-normal with this median and 90th percentile, in seconds.
    public var bootP50Seconds: Double
    public var bootP90Seconds: Double
    /// Spot interruptions per instance-hour in a calm pool (each with a 2-minute notice).
    public var interruptionsPerInstanceHour: Double
    /// Share of interruptions preceded by a rebalance recommendation (10 minutes before).
    public var rebalanceShare: Double
    /// How far spot prices wander around their pool's discount, as a fraction of the price (0.03 = ±3 %).
    public var spotPriceVolatility: Double

    public init(
        bootP50Seconds: Double = 90,
        bootP90Seconds: Double = 150,
        interruptionsPerInstanceHour: Double = 0.002,
        rebalanceShare: Double = 0.5,
        spotPriceVolatility: Double = 0.03
    ) {
        self.bootP50Seconds = bootP50Seconds
        self.bootP90Seconds = bootP90Seconds
        self.interruptionsPerInstanceHour = interruptionsPerInstanceHour
        self.rebalanceShare = rebalanceShare
        self.spotPriceVolatility = spotPriceVolatility
    }
}

/// A cluster's traffic: a per-minute trace file played from an offset, scaled.
public struct ScenarioTrace: Sendable, Equatable {
    /// Absolute path of a `minute,requests` CSV (the loader resolves the YAML's path against the scenario file's
    /// directory).
    public var path: String
    /// The trace minute played at the local midnight (in the cluster's time zone) that begins the run's first local
    /// day; see `Scenario.traceMinute(of:atRunMinute:)`.
    public var offsetMinutes: Int
    /// Multiplies every minute's requests.
    public var scale: Double

    public init(path: String, offsetMinutes: Int = 0, scale: Double = 1) {
        self.path = path
        self.offsetMinutes = offsetMinutes
        self.scale = scale
    }
}

public struct ScenarioCluster: Sendable, Equatable {
    public var id: ClusterID
    public var region: String
    /// Availability zones, full names (`eu-west-1a`).
    public var zones: [String]
    /// Hours east of UTC of the cluster's users (the trace's clock): shifts the trace so its local hours line up.
    public var timeZoneOffsetHours: Int
    public var trace: ScenarioTrace
    /// Requests per minute one pod serves at its target load (the HPA's target): pods = ceil(requests / this).
    public var requestsPerPod: Double
    /// What each pod of the workload requests.
    public var podRequest: Resources
    /// Pods of the workload that may be disrupted at once (its PodDisruptionBudget's maxUnavailable).
    public var maxUnavailable: Int
    /// Instance types the cluster may run (catalog names); the first is the type its first workers have.
    public var instanceTypes: [String]
    /// Workers at minute 0 (the first `onDemandBase` on-demand, the rest spot, spread over the zones).
    public var initialNodes: Int
    public var minNodes: Int
    public var maxNodes: Int
    /// On-demand nodes kept whatever the spot share.
    public var onDemandBase: Int
    /// Largest share of the nodes above the base that may be spot (0…1).
    public var spotShare: Double
    /// Ballast's target utilisation for the cluster (requested over allocatable it sizes to), or nil for the
    /// planner's default (0.75). The other policies have rules of their own and ignore it.
    public var targetUtilisation: Double?
    /// Planner priority class: higher keeps its capacity first when money is short.
    public var priority: Int
    /// Clusters that take this one's demand when it or its region is lost.
    public var failoverTargets: [ClusterID]

    public init(
        id: ClusterID,
        region: String,
        zones: [String],
        timeZoneOffsetHours: Int = 0,
        trace: ScenarioTrace,
        requestsPerPod: Double,
        podRequest: Resources = Resources(cpuMillicores: 250, memoryBytes: 512 << 20),
        maxUnavailable: Int = 2,
        instanceTypes: [String] = ["m6i.large"],
        initialNodes: Int = 6,
        minNodes: Int = 2,
        maxNodes: Int = 100,
        onDemandBase: Int = 2,
        spotShare: Double = 0.7,
        targetUtilisation: Double? = nil,
        priority: Int = 0,
        failoverTargets: [ClusterID] = []
    ) {
        self.id = id
        self.region = region
        self.zones = zones
        self.timeZoneOffsetHours = timeZoneOffsetHours
        self.trace = trace
        self.requestsPerPod = requestsPerPod
        self.podRequest = podRequest
        self.maxUnavailable = maxUnavailable
        self.instanceTypes = instanceTypes
        self.initialNodes = initialNodes
        self.minNodes = minNodes
        self.maxNodes = maxNodes
        self.onDemandBase = onDemandBase
        self.spotShare = spotShare
        self.targetUtilisation = targetUtilisation
        self.priority = priority
        self.failoverTargets = failoverTargets
    }
}

/// Something that happens to the fleet at a minute of the run.
public struct ScenarioEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A zone loses every instance and takes no launch for `minutes`, then returns.
        case zoneOutage(zone: String, minutes: Int)
        /// A region (every zone of it, and its clusters' agents) is lost for `minutes`, then returns.
        case regionOutage(region: String, minutes: Int)
        /// Spot prices of the matching pools (nil matches all) are multiplied by `factor` from then on.
        case priceChange(region: String?, zone: String?, instanceType: String?, factor: Double)
        /// The matching spot pools interrupt at `interruptionsPerInstanceHour` for `minutes`.
        case spotStorm(zone: String, instanceType: String?, minutes: Int, interruptionsPerInstanceHour: Double)
        /// Launches into the matching pools fail with InsufficientInstanceCapacity for `minutes`.
        case capacityShortage(zone: String, instanceType: String?, market: Market?, minutes: Int)
        /// The fleet's monthly budget (or a region's, when `region` is set) becomes `monthlyUSD`.
        case budgetChange(region: String?, monthlyUSD: Double)
        /// The operator fails a region or a cluster over to a target cluster (`coordctl failover`).
        case failover(from: String, to: ClusterID)
        /// The operator fails it back (`coordctl failback`).
        case failback(from: String)
    }

    /// Minute of the run.
    public var at: Int
    public var kind: Kind

    public init(at: Int, kind: Kind) {
        self.at = at
        self.kind = kind
    }
}
