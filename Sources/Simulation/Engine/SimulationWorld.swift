import Clocks
import ClusterAgent
import Cost
import FleetAPI
import Logging
import Scenarios
import Synchronization

/// One cluster of a simulation run: the simulated EC2 and Kubernetes a policy acts on through the agent's ports
/// (`CloudProvider`, `KubeAPI`, `MetricsSource`), the interruption queue EventBridge would feed, and the agent's
/// drain machinery (`DrainService`, fenced by `fence`) that every policy's drains go through, so a baseline's drain
/// honours PodDisruptionBudgets exactly as Ballast's does.
public final class WorldCluster: Sendable {
    public let spec: ScenarioCluster
    public let cloud: SimulatedCloud
    public let kube: SimulatedCluster
    public let queue: SimulatedInterruptionQueue
    public let fence: EpochFence
    public let ledger: AgentLedger
    public let trigger: ReportTrigger
    public let drains: DrainService
    /// Allocatable of one node of each instance type the cluster may run.
    public let allocatable: [String: Resources]
    /// Requests of the DaemonSets every node runs.
    public let daemonSetRequest: Resources
    private let down = Mutex(false)

    /// - Parameter startMinute: the trace minute the cluster plays at the run's start (`Scenario.traceMinute`).
    init(
        spec: ScenarioCluster,
        startMinute: Int,
        clock: ManualClock,
        boot: SimulatedCloud.BootDelay,
        catalog: PriceCatalog,
        seed: UInt64
    )
        async throws
    {
        self.spec = spec
        var allocatable: [String: Resources] = [:]
        for type in spec.instanceTypes {
            allocatable[type] = Self.allocatable(of: type, region: spec.region, catalog: catalog)
        }
        self.allocatable = allocatable
        cloud = SimulatedCloud(clusterID: spec.id, clock: clock, boot: boot, seed: seed)
        kube = SimulatedCluster(
            cloud: cloud,
            clock: clock,
            allocatable: allocatable,
            nodeReadyDelay: .seconds(15),
            terminationGrace: .seconds(30),
            podStartDelay: .seconds(10)
        )
        queue = SimulatedInterruptionQueue()
        fence = try EpochFence(store: InMemoryEpochStore())
        ledger = AgentLedger()
        trigger = ReportTrigger()
        daemonSetRequest = Resources(cpuMillicores: 100, memoryBytes: 128 << 20)
        drains = DrainService(
            kube: kube,
            cloud: cloud,
            clock: clock,
            fence: fence,
            ledger: ledger,
            trigger: trigger,
            maxConcurrent: 3,
            random: SeededRandom(seed: seed ^ 0x5eed),
            logger: quietLogger
        )
        let first = spec.instanceTypes[0]
        for index in 0..<spec.initialNodes {
            cloud.seedRunning(
                SimulatedCloud.Pool(
                    instanceType: first,
                    market: index < spec.onDemandBase ? .onDemand : .spot,
                    availabilityZone: spec.zones[index % spec.zones.count]
                ),
                count: 1,
                launchedAt: clock.timestamp
            )
        }
        await kube.addDaemonSet("node-exporter", podRequest: daemonSetRequest)
        await kube.addWorkload(.init(name: "web", replicas: 0, podRequest: spec.podRequest))
        await kube.addDisruptionBudget(workload: "web", maxUnavailable: spec.maxUnavailable)
        let trace = try TraceLibrary.shared.trace(at: spec.trace.path)
        await kube.setDemand(
            .init(
                workload: "web",
                trace: trace,
                requestsPerPod: spec.requestsPerPod / spec.trace.scale,
                minutesPerSecond: 1.0 / 60,
                startMinute: Double(startMinute)
            )
        )
        await kube.settleStartedPods()
    }

    private let launchCounter = Mutex(0)

    /// Launches `count` instances for a baseline rule, each call with a fresh ClientToken.
    public func launch(
        _ instanceType: String,
        _ market: Market,
        in zone: String,
        count: Int,
        by policy: String
    )
        async throws(CloudError) -> [CloudInstance]
    {
        let number = launchCounter.withLock {
            $0 += 1
            return $0
        }
        return try await cloud.launch(
            InstanceLaunchRequest(
                instanceType: instanceType,
                market: market,
                availabilityZone: zone,
                count: count,
                token: LaunchToken(rawValue: "\(policy)-\(spec.id)-\(number)"),
                generation: 0
            )
        )
    }

    /// Drains a node for a baseline rule through the agent's drain machine (cordon, evictions honouring the
    /// PodDisruptionBudget, terminate, delete). Returns false when the node already has a drain.
    @discardableResult
    public func drain(node: String, instanceID: String, reason: String, urgent: Bool = false) async -> Bool {
        await !drains.submit(
            DrainService.Request(
                nodeName: node,
                instanceID: instanceID,
                epoch: nil,
                deadline: .seconds(600),
                reason: reason,
                urgent: urgent
            )
        )
    }

    /// Whether the cluster's master is down (its region is out): its agent neither reports nor answers.
    public var isDown: Bool { down.withLock { $0 } }
    func setDown(_ value: Bool) { down.withLock { $0 = value } }

    /// A node's allocatable: the catalog's vCPUs and memory less what the kubelet and system reserve (as EKS
    /// reserves: 70m CPU plus 6 % of the second core…, memory 255 MiB + 11 MiB per pod slot; here simplified to
    /// 70m + 3.5 % of CPU and 10 % of memory), so an m6i.large offers 1,930m and about 7 GiB.
    static func allocatable(of type: String, region: String, catalog: PriceCatalog) -> Resources {
        guard let spec = catalog.instanceTypes(in: region).first(where: { $0.name == type }) else {
            return Resources(cpuMillicores: 1_930, memoryBytes: 7_168 << 20)
        }
        let cpu = spec.vcpus * 1_000
        let memory = Int(spec.memoryGiB * 1_024) << 20
        return Resources(
            cpuMillicores: cpu - 70,
            memoryBytes: memory - memory / 8
        )
    }

    /// The largest node type's allocatable less the DaemonSets: what one node offers the workload.
    public func workloadRoom(of type: String) -> Resources {
        (allocatable[type] ?? Resources(cpuMillicores: 1_930, memoryBytes: 7_168 << 20)) - daemonSetRequest
    }
}

/// The clusters, clock and market of one policy's run. Every policy of a simulation gets a world built the same
/// way from the same scenario and seed, so they face the same traffic, boot delays and market.
public final class SimulationWorld: Sendable {
    public let scenario: Scenario
    public let clock: ManualClock
    public let market: ScenarioMarket
    public let catalog: PriceCatalog
    public let clusters: [WorldCluster]

    public init(scenario: Scenario, catalog: PriceCatalog) async throws {
        self.scenario = scenario
        self.catalog = catalog
        clock = ManualClock(unixTime: .seconds(scenario.start))
        market = ScenarioMarket(catalog: catalog, volatility: scenario.cloud.spotPriceVolatility)
        var clusters: [WorldCluster] = []
        var random = SeededRandom(seed: scenario.seed)
        for spec in scenario.clusters {
            clusters.append(
                try await WorldCluster(
                    spec: spec,
                    startMinute: scenario.traceMinute(of: spec, atRunMinute: 0),
                    clock: clock,
                    boot: .logNormal(
                        p50: .milliseconds(Int64(scenario.cloud.bootP50Seconds * 1_000)),
                        p90: .milliseconds(Int64(scenario.cloud.bootP90Seconds * 1_000))
                    ),
                    catalog: catalog,
                    seed: random.next()
                )
            )
        }
        self.clusters = clusters
    }

    public func cluster(_ id: ClusterID) -> WorldCluster? { clusters.first { $0.spec.id == id } }
}

/// The interruption queue of one simulated cluster: what EventBridge would put on its SQS queue. Messages stay
/// until acknowledged.
public final class SimulatedInterruptionQueue: InterruptionSource {
    private let messages = Mutex<[InterruptionMessage]>([])
    private let counter = Mutex(0)

    public init() {}

    /// Puts a message on the queue and returns it.
    @discardableResult
    public func push(_ event: InterruptionEvent) -> InterruptionMessage {
        let number = counter.withLock {
            $0 += 1
            return $0
        }
        let message = InterruptionMessage(id: "msg-\(number)", receipt: "receipt-\(number)", event: event)
        messages.withLock { $0.append(message) }
        return message
    }

    public func receive() async throws -> [InterruptionMessage] { messages.withLock { $0 } }

    public func acknowledge(_ message: InterruptionMessage) async throws {
        messages.withLock { $0.removeAll { $0.receipt == message.receipt } }
    }

    /// Messages not yet acknowledged.
    public var count: Int { messages.withLock { $0.count } }
}

/// Traces loaded once per process: every policy and cluster of a run shares them.
final class TraceLibrary: Sendable {
    static let shared = TraceLibrary()
    private let loaded = Mutex<[String: RequestTrace]>([:])

    func trace(at path: String) throws(TraceError) -> RequestTrace {
        if let trace = loaded.withLock({ $0[path] }) { return trace }
        let trace = try RequestTrace.load(csv: path)
        loaded.withLock { $0[path] = trace }
        return trace
    }
}

let quietLogger = Logger(label: "ballast.simulation", factory: { _ in SwiftLogNoOpLogHandler() })
