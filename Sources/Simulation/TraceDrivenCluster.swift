import ClusterAgent
import Cost

/// A simulated cluster whose demand follows a request trace: each pod serves `requestsPerPod` requests a minute
/// and asks for a fixed CPU and memory; pods fill the workers in order and what does not fit is pending. Time in
/// the trace advances `minutesPerSecond` trace minutes per second of `now`. Its workers do not change yet: the
/// agent does not execute launches or drains in this slice.
public actor TraceDrivenCluster: ClusterObserver {
    public struct Shape: Sendable {
        public var clusterID: ClusterID
        public var region: String
        public var zones: [String]
        public var instanceType: String
        public var nodeAllocatable: Resources
        public var nodes: Int
        public var onDemandNodes: Int
        public var podRequest: Resources
        public var requestsPerPod: Double
        public var minutesPerSecond: Double
        public var startMinute: Double

        public init(
            clusterID: ClusterID,
            region: String,
            zones: [String],
            instanceType: String = "m6i.large",
            nodeAllocatable: Resources = Resources(cpuMillicores: 1_930, memoryBytes: 7_168 << 20),
            nodes: Int = 6,
            onDemandNodes: Int = 2,
            podRequest: Resources = Resources(cpuMillicores: 250, memoryBytes: 512 << 20),
            requestsPerPod: Double,
            minutesPerSecond: Double = 1,
            startMinute: Double = 0
        ) {
            self.clusterID = clusterID
            self.region = region
            self.zones = zones
            self.instanceType = instanceType
            self.nodeAllocatable = nodeAllocatable
            self.nodes = nodes
            self.onDemandNodes = onDemandNodes
            self.podRequest = podRequest
            self.requestsPerPod = requestsPerPod
            self.minutesPerSecond = minutesPerSecond
            self.startMinute = startMinute
        }
    }

    private let shape: Shape
    private let trace: RequestTrace
    private var startedAt: Timestamp?
    private let bootedAt: Timestamp

    public init(shape: Shape, trace: RequestTrace, bootedAt: Timestamp) {
        self.shape = shape
        self.trace = trace
        self.bootedAt = bootedAt
    }

    /// The trace minute played at `now`.
    public func traceMinute(at now: Timestamp) -> Double {
        let start = startedAt ?? now
        if startedAt == nil { startedAt = now }
        let elapsed = now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return shape.startMinute + seconds * shape.minutesPerSecond
    }

    public func observe(at now: Timestamp) async throws -> ClusterReport {
        let minute = traceMinute(at: now)
        let demandPods = Int((trace.requests(atMinute: minute) / shape.requestsPerPod).rounded(.up))
        let podsPerNode = min(
            shape.nodeAllocatable.cpuMillicores / max(1, shape.podRequest.cpuMillicores),
            shape.nodeAllocatable.memoryBytes / max(1, shape.podRequest.memoryBytes)
        )
        var remaining = demandPods
        var nodes: [NodeReport] = []
        for index in 0..<shape.nodes {
            let pods = min(remaining, podsPerNode)
            remaining -= pods
            nodes.append(
                NodeReport(
                    name: "\(shape.clusterID)-worker-\(index)",
                    instanceID: "i-sim\(shape.clusterID)\(index)",
                    instanceType: shape.instanceType,
                    market: index < shape.onDemandNodes ? .onDemand : .spot,
                    availabilityZone: shape.zones[index % shape.zones.count],
                    state: .ready,
                    launchedAt: bootedAt,
                    allocatable: shape.nodeAllocatable,
                    requested: Resources(
                        cpuMillicores: pods * shape.podRequest.cpuMillicores,
                        memoryBytes: pods * shape.podRequest.memoryBytes
                    ),
                    podCount: pods
                )
            )
        }
        let capacity = Double(shape.nodes * shape.nodeAllocatable.cpuMillicores)
        let used = Double((demandPods - remaining) * shape.podRequest.cpuMillicores)
        return ClusterReport(
            clusterID: shape.clusterID,
            region: shape.region,
            availabilityZones: shape.zones,
            nodes: nodes,
            pending: remaining > 0
                ? PendingPods(
                    count: remaining,
                    totalRequests: Resources(
                        cpuMillicores: remaining * shape.podRequest.cpuMillicores,
                        memoryBytes: remaining * shape.podRequest.memoryBytes
                    ),
                    largestRequest: shape.podRequest
                )
                : .none,
            utilisation: Utilisation(
                cpu: capacity > 0 ? used / capacity : 0,
                memory: capacity > 0 ? used / capacity : 0
            ),
            observedAt: now,
            launchToReadyP90: .seconds(90)
        )
    }
}

extension TraceDrivenCluster {
    /// The simulated cluster an agent's `simulation:` section describes (the demo), its trace loaded from the
    /// file the section names; unset keys take the defaults documented on `AgentConfiguration.SimulationEntry`.
    public init(agent configuration: AgentConfiguration, bootedAt: Timestamp) throws {
        guard let simulation = configuration.simulation else {
            throw CostError(
                .invalidSeries,
                context: "simulation",
                message: "the agent's configuration has no `simulation:` section"
            )
        }
        let trace = try RequestTrace.load(csv: simulation.trace)
        self.init(
            shape: Shape(
                clusterID: ClusterID(configuration.clusterID),
                region: configuration.region,
                zones: simulation.zones ?? ["a", "b", "c"].map { configuration.region + $0 },
                instanceType: simulation.instanceType ?? "m6i.large",
                nodes: simulation.nodes ?? 6,
                requestsPerPod: simulation.requestsPerPod ?? max(1, trace.median / 40),
                minutesPerSecond: simulation.minutesPerSecond ?? 1,
                startMinute: Double(simulation.startMinute ?? 0)
            ),
            trace: trace,
            bootedAt: bootedAt
        )
    }
}
