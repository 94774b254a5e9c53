/// What one simulation run measured, for every policy it ran on the same clusters: the report's data. Encoded
/// as the `--json` output and rendered by `HTMLReport` and `SummaryTable`. Plain values only, so the same run
/// always encodes to the same bytes.
public struct SimulationResult: Codable, Sendable, Equatable {
    public var scenario: String
    public var description: String
    public var seed: UInt64
    public var durationMinutes: Int
    /// Minutes between two samples of every series.
    public var sampleMinutes: Int
    /// Run minute 0 as Unix seconds (UTC), to label the time axis.
    public var start: Int64
    /// The fleet's monthly budget in USD, nil for none.
    public var monthlyBudgetUSD: Double?
    /// The cluster ids, in scenario order.
    public var clusters: [String]
    /// Each policy that ran, in the order they ran; the oracle (when run) is one of them, named `oracle`.
    public var policies: [PolicyResult]
    /// Things that happened to the fleet (outages, storms, budget changes), to mark on the charts.
    public var events: [EventMark]

    public init(
        scenario: String,
        description: String,
        seed: UInt64,
        durationMinutes: Int,
        sampleMinutes: Int,
        start: Int64,
        monthlyBudgetUSD: Double?,
        clusters: [String],
        policies: [PolicyResult],
        events: [EventMark]
    ) {
        self.scenario = scenario
        self.description = description
        self.seed = seed
        self.durationMinutes = durationMinutes
        self.sampleMinutes = sampleMinutes
        self.start = start
        self.monthlyBudgetUSD = monthlyBudgetUSD
        self.clusters = clusters
        self.policies = policies
        self.events = events
    }
}

public struct EventMark: Codable, Sendable, Equatable {
    public var minute: Int
    public var label: String

    public init(minute: Int, label: String) {
        self.minute = minute
        self.label = label
    }
}

public struct PolicyResult: Codable, Sendable, Equatable {
    /// `static`, `reactive`, `ca`, `karpenter`, `ballast` or `oracle`.
    public var name: String
    /// One line saying what the policy is (the report's legend).
    public var title: String
    public var summary: PolicySummary
    /// The whole fleet, one sample every `sampleMinutes`.
    public var fleet: [Sample]
    /// Each cluster on its own, in the result's cluster order.
    public var perCluster: [ClusterSeries]

    public init(name: String, title: String, summary: PolicySummary, fleet: [Sample], perCluster: [ClusterSeries]) {
        self.name = name
        self.title = title
        self.summary = summary
        self.fleet = fleet
        self.perCluster = perCluster
    }
}

public struct ClusterSeries: Codable, Sendable, Equatable {
    public var cluster: String
    public var summary: PolicySummary
    public var samples: [Sample]

    public init(cluster: String, summary: PolicySummary, samples: [Sample]) {
        self.cluster = cluster
        self.summary = summary
        self.samples = samples
    }
}

/// The state at one sample (averaged over the sample's minutes where it is a rate or a count of nodes).
public struct Sample: Codable, Sendable, Equatable {
    /// Minute of the run at the sample's start.
    public var minute: Int
    /// Nodes the demand of this sample needs (pods' requests over a node's allocatable at full packing).
    public var demandNodes: Double
    public var onDemandNodes: Double
    public var spotNodes: Double
    /// Pods waiting to be scheduled (mean over the sample).
    public var pendingPods: Double
    /// Spend in USD since the run began (at the sample's end).
    public var spendUSD: Double
    /// The allowance up to the sample's end (monthly budget pro rata); nil without a budget.
    public var allowanceUSD: Double?
    /// Spot interruption notices in the sample.
    public var interruptions: Int

    public init(
        minute: Int,
        demandNodes: Double,
        onDemandNodes: Double,
        spotNodes: Double,
        pendingPods: Double,
        spendUSD: Double,
        allowanceUSD: Double?,
        interruptions: Int
    ) {
        self.minute = minute
        self.demandNodes = demandNodes
        self.onDemandNodes = onDemandNodes
        self.spotNodes = spotNodes
        self.pendingPods = pendingPods
        self.spendUSD = spendUSD
        self.allowanceUSD = allowanceUSD
        self.interruptions = interruptions
    }
}

/// The table's numbers for one policy (fleet-wide or one cluster). Ratios are fractions (0.87, not 87).
public struct PolicySummary: Codable, Sendable, Equatable {
    public var totalCostUSD: Double
    /// Total cost over the oracle's on the same run; nil when the oracle did not run.
    public var costRatioToOracle: Double?
    /// 1 - cost over an all-on-demand static fleet sized for the peak, for the same run.
    public var savingVsStaticOnDemand: Double
    /// USD per million requests served.
    public var costPerMillionRequests: Double
    public var requestsServed: Double
    /// Pod-minutes demanded that had no running pod (pending, or not created for want of room).
    public var unschedulablePodMinutes: Double
    /// Pod-minutes served over pod-minutes demanded.
    public var availability: Double
    /// 95th percentile of every pod's time from creation to Running, seconds.
    public var p95PodWaitSeconds: Double
    /// 95th percentile of the time from a pod pending for want of a node to it Running on a new node, seconds.
    public var p95ScaleUpSeconds: Double
    /// Pods' requests over Ready nodes' allocatable (CPU), time-weighted.
    public var utilisation: Double
    /// Spot node-hours over all node-hours.
    public var spotShare: Double
    /// Hours in which spend ran ahead of the allowance.
    public var hoursOverBudget: Int
    /// Launch and drain actions taken.
    public var launches: Int
    public var drains: Int
    /// Spot interruption notices that came, and how many of those nodes were drained before they went.
    public var interruptions: Int
    public var interruptionsHandled: Int

    public init(
        totalCostUSD: Double,
        costRatioToOracle: Double?,
        savingVsStaticOnDemand: Double,
        costPerMillionRequests: Double,
        requestsServed: Double,
        unschedulablePodMinutes: Double,
        availability: Double,
        p95PodWaitSeconds: Double,
        p95ScaleUpSeconds: Double,
        utilisation: Double,
        spotShare: Double,
        hoursOverBudget: Int,
        launches: Int,
        drains: Int,
        interruptions: Int,
        interruptionsHandled: Int
    ) {
        self.totalCostUSD = totalCostUSD
        self.costRatioToOracle = costRatioToOracle
        self.savingVsStaticOnDemand = savingVsStaticOnDemand
        self.costPerMillionRequests = costPerMillionRequests
        self.requestsServed = requestsServed
        self.unschedulablePodMinutes = unschedulablePodMinutes
        self.availability = availability
        self.p95PodWaitSeconds = p95PodWaitSeconds
        self.p95ScaleUpSeconds = p95ScaleUpSeconds
        self.utilisation = utilisation
        self.spotShare = spotShare
        self.hoursOverBudget = hoursOverBudget
        self.launches = launches
        self.drains = drains
        self.interruptions = interruptions
        self.interruptionsHandled = interruptionsHandled
    }
}
