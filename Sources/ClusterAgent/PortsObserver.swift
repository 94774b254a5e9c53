import Clocks
import Cost
import Logging
import ServiceLifecycle

/// Builds the cluster's report from the agent's ports: nodes and pods from `KubeAPI`, instances from
/// `CloudProvider` (each node mapped to its instance by `NodeInstanceMap`), utilisation from `MetricsSource`, and
/// what only the agent knows from its `AgentLedger` and `DrainService` (launch failures, notices, drains, boot lead
/// times). `ChangeWatchService` asks it between reports whether something changed that warrants a report at once
/// (new pending pods, a node lost).
///
/// Promises: metrics that cannot be read, or are older than `maxMetricsAge`, are reported as stale (with the last
/// utilisation and custom metric values, never zeros; a custom metric whose own data is too old is stale on its
/// own); a node that maps to no instance is reported (with no instance id) as holding
/// drain-blocking pods, so the planner never picks it; instances launched but not yet a node are reported as
/// `launching`, so the planner counts them and does not launch again.
public actor PortsObserver: ClusterObserver {
    /// The cluster's identity and the observer's limits.
    public struct Settings: Sendable {
        public var clusterID: ClusterID
        public var region: String
        public var availabilityZones: [String]
        /// Metrics older than this are stale. Default 2 minutes.
        public var maxMetricsAge: Duration
        /// An instance that has not become a Ready node this long after launch is an orphan (logged, reported as
        /// not ready and named in the report's `orphans`, for the leader to confirm its termination). Default 15
        /// minutes, as Cluster Autoscaler's `maxNodeProvisionTime`.
        public var maxNodeProvisionTime: Duration

        public init(
            clusterID: ClusterID,
            region: String,
            availabilityZones: [String],
            maxMetricsAge: Duration = .seconds(120),
            maxNodeProvisionTime: Duration = .seconds(900)
        ) {
            self.clusterID = clusterID
            self.region = region
            self.availabilityZones = availabilityZones
            self.maxMetricsAge = maxMetricsAge
            self.maxNodeProvisionTime = maxNodeProvisionTime
        }
    }

    private let settings: Settings
    private let kube: any KubeAPI
    private let cloud: any CloudProvider
    private let metrics: any MetricsSource
    private let ledger: AgentLedger
    private let drains: DrainService?
    private let logger: Logger
    private var lastUtilisation = Utilisation(cpu: 0, memory: 0)
    /// The custom metrics of the last sample read, reported (as stale) while the source fails.
    private var lastCustomMetrics: [CustomMetricReport] = []
    private var lastPendingPods: Set<KubePod.Reference> = []
    private var lastNodes: Set<String>?
    private var reportedOrphans: Set<String> = []
    /// Instances that have no Ready node past `maxNodeProvisionTime`, as of the last observation.
    public private(set) var orphans: [String] = []

    /// The node series the last report set, so a pool that empties is set to zero.
    private var nodeSeries: Set<[String]> = []

    public init(
        settings: Settings,
        kube: any KubeAPI,
        cloud: any CloudProvider,
        metrics: any MetricsSource,
        ledger: AgentLedger,
        drains: DrainService?,
        logger: Logger
    ) {
        self.settings = settings
        self.kube = kube
        self.cloud = cloud
        self.metrics = metrics
        self.ledger = ledger
        self.drains = drains
        self.logger = logger
    }

    public func observe(at now: Timestamp) async throws -> ClusterReport {
        let metricsSink = AgentMetrics(cluster: settings.clusterID)
        let nodes: [KubeNode]
        let pods: [KubePod]
        do {
            nodes = try await kube.nodes()
            pods = try await kube.pods()
            metricsSink.record(source: "kubernetes", healthy: true)
        } catch {
            metricsSink.record(source: "kubernetes", healthy: false)
            throw error
        }
        let instances: [CloudInstance]
        do {
            instances = try await cloud.instances()
            metricsSink.record(source: "ec2", healthy: true)
        } catch {
            metricsSink.record(source: "ec2", healthy: false)
            throw error
        }
        let map = NodeInstanceMap(nodes: nodes, instances: instances)
        let draining = await drains?.draining ?? []
        let problems = ledger.drainProblems

        var sample: MetricsSample?
        do {
            sample = try await metrics.sample(at: now)
        } catch {
            logger.warning("metrics stale: the source failed", metadata: ["error": "\(error)"])
        }
        var stale = sample == nil
        if let observed = sample?.observedAt, now - observed > settings.maxMetricsAge {
            logger.warning("metrics stale: the newest sample is too old", metadata: ["observedAt": "\(observed)"])
            stale = true
        }
        metricsSink.record(source: "prometheus", healthy: !stale)
        if let sample, !stale { lastUtilisation = sample.utilisation }
        let customMetrics = customMetrics(of: sample, at: now)

        var podsByNode: [String: [KubePod]] = [:]
        for pod in pods where pod.phase != .succeeded && pod.phase != .failed {
            if let node = pod.nodeName { podsByNode[node, default: []].append(pod) }
        }
        var reports: [NodeReport] = []
        for node in nodes.sorted(by: { $0.name < $1.name }) {
            let instance = map.instanceByNode[node.name]
            if let instance, node.ready, let readySince = node.readySince {
                ledger.nodeBecameReady(instanceID: instance.instanceID, readySince: readySince)
            }
            let onNode = podsByNode[node.name] ?? []
            let state: NodeState
            if instance?.state == .shuttingDown || instance?.state == .stopping {
                state = .terminating
            } else if instance == nil && !node.ready {
                // NotReady and no live instance behind it: the instance is gone (reclaimed, its zone lost) and the
                // node object lingers, as K3s without a cloud controller leaves it. It is no capacity.
                state = .terminating
            } else if draining.contains(node.name) || node.unschedulable {
                state = .draining
            } else if node.ready {
                state = .ready
            } else {
                state = .notReady
            }
            reports.append(
                NodeReport(
                    name: node.name,
                    instanceID: instance?.instanceID ?? "",
                    instanceType: node.instanceType ?? instance?.instanceType ?? "unknown",
                    market: instance?.market ?? node.market ?? .onDemand,
                    availabilityZone: node.availabilityZone ?? instance?.availabilityZone ?? "unknown",
                    state: state,
                    launchedAt: instance?.launchedAt ?? node.createdAt,
                    allocatable: node.allocatable,
                    requested: onNode.reduce(.zero) { $0 + $1.requests },
                    podCount: onNode.count,
                    hasDrainBlockingPods: instance == nil || problems[node.name] != nil
                )
            )
        }
        var orphans: [String] = []
        for instance in map.instancesWithoutNode where instance.state == .pending || instance.state == .running {
            let age = now - instance.launchedAt
            let orphan = age > settings.maxNodeProvisionTime
            if orphan {
                orphans.append(instance.instanceID)
                if reportedOrphans.insert(instance.instanceID).inserted {
                    logger.warning(
                        "orphan instance: no Ready node within the provision time",
                        metadata: ["instance": "\(instance.instanceID)", "age": "\(age)"]
                    )
                }
            }
            reports.append(
                NodeReport(
                    name: instance.instanceID,
                    instanceID: instance.instanceID,
                    instanceType: instance.instanceType,
                    market: instance.market,
                    availabilityZone: instance.availabilityZone,
                    state: orphan ? .notReady : .launching,
                    launchedAt: instance.launchedAt,
                    allocatable: .zero,
                    requested: .zero,
                    podCount: 0,
                    hasDrainBlockingPods: true
                )
            )
        }
        self.orphans = orphans

        let pending = pods.filter(\.isPendingUnschedulable)
        lastPendingPods = Set(pending.map(\.reference))
        lastNodes = Set(nodes.map(\.name))

        let (failures, notices) = ledger.reportable(at: now)
        metricsSink.record(nodes: reports, pendingPods: pending.count, previous: &nodeSeries)
        if let drains {
            metricsSink.record(drainsInProgress: await drains.runningCount, oldest: await drains.oldestRunningAge)
        }
        return ClusterReport(
            clusterID: settings.clusterID,
            region: settings.region,
            availabilityZones: settings.availabilityZones,
            nodes: reports,
            pending: PendingPods(
                count: pending.count,
                totalRequests: pending.reduce(.zero) { $0 + $1.requests },
                largestRequest: pending.reduce(.zero) { $0.componentMax($1.requests) }
            ),
            utilisation: sample?.utilisation ?? lastUtilisation,
            notices: notices,
            launchFailures: failures,
            observedAt: now,
            launchToReadyP90: ledger.bootLeadTimeP90,
            metricsStale: stale,
            orphans: orphans,
            customMetrics: customMetrics
        )
    }

    /// The custom metrics to report: the sample's, each stale when its own data is older than `maxMetricsAge`; with
    /// no sample (the source failed), the last ones read, all stale.
    private func customMetrics(of sample: MetricsSample?, at now: Timestamp) -> [CustomMetricReport] {
        guard let sample else {
            return lastCustomMetrics.map {
                var metric = $0
                metric.stale = true
                return metric
            }
        }
        let metrics = sample.custom.map { reading in
            let stale = now - reading.observedAt > settings.maxMetricsAge
            if stale {
                logger.warning(
                    "custom metric stale: its newest sample is too old",
                    metadata: ["metric": "\(reading.name)", "observedAt": "\(reading.observedAt)"]
                )
            }
            return CustomMetricReport(
                name: reading.name,
                value: reading.value,
                targetPerNode: reading.targetPerNode,
                stale: stale
            )
        }
        lastCustomMetrics = metrics
        return metrics
    }
}

extension PortsObserver {
    /// Whether, since the last report, a pod became pending and unschedulable or a node disappeared: a change the
    /// coordinators should hear of before the next scheduled report. False before the first report.
    public func hasChangeThatMatters() async throws(KubeAPIError) -> Bool {
        guard let lastNodes else { return false }
        let nodes = Set(try await kube.nodes().map(\.name))
        if !lastNodes.subtracting(nodes).isEmpty { return true }
        let pending = try await kube.pods().filter(\.isPendingUnschedulable).map(\.reference)
        return !Set(pending).subtracting(lastPendingPods).isEmpty
    }
}

/// Looks for changes that matter between reports (`PortsObserver.hasChangeThatMatters`) every `interval` and asks
/// for a report at once when it finds one.
public struct ChangeWatchService: Service {
    let observer: PortsObserver
    let trigger: ReportTrigger
    let interval: Duration
    let clock: any FleetClock

    /// - Parameter interval: how often to look. Default 1 s.
    public init(
        observer: PortsObserver,
        trigger: ReportTrigger,
        interval: Duration = .seconds(1),
        clock: any FleetClock
    ) {
        self.observer = observer
        self.trigger = trigger
        self.interval = interval
        self.clock = clock
    }

    public func run() async throws {
        // One shutdown watch around the whole loop, not one per look: each watch that ends hops through a task of
        // its own, which a run on the simulator's single executor could not wait for.
        try? await cancelWhenGracefulShutdown { [clock, interval, observer, trigger] in
            while !Task.isCancelled {
                try await clock.sleep(until: clock.now.advanced(by: interval), tolerance: nil)
                // A failed look is no change; the scheduled report says what is wrong.
                if (try? await observer.hasChangeThatMatters()) == true { trigger.fire() }
            }
        }
    }
}
