import ClusterAgent
import Cost
import Scenarios
import Synchronization

/// Demand a scenario puts on one cluster, minute by minute, without simulating anything: what the static fleet is
/// sized from and what the oracle provisions for.
public struct DemandModel: Sendable {
    public let spec: ScenarioCluster
    let trace: RequestTrace
    /// The trace minute played at run minute 0.
    let startMinute: Int

    public init(spec: ScenarioCluster, in scenario: Scenario) throws {
        self.spec = spec
        trace = try TraceLibrary.shared.trace(at: spec.trace.path)
        startMinute = scenario.traceMinute(of: spec, atRunMinute: 0)
    }

    /// Requests a minute at run minute `minute`.
    public func requests(atMinute minute: Int) -> Double {
        trace.requests(atMinute: Double(startMinute + minute)) * spec.trace.scale
    }

    /// Pods the workload wants at run minute `minute` (as the HPA sets replicas).
    public func pods(atMinute minute: Int) -> Int {
        Int((requests(atMinute: minute) / spec.requestsPerPod).rounded(.up))
    }

    /// The most pods any minute of the first `minutes` wants.
    public func peakPods(minutes: Int) -> Int {
        (0..<max(1, minutes)).reduce(0) { max($0, pods(atMinute: $1)) }
    }
}

/// A static fleet sized for the run's peak: as many nodes as the busiest minute needs at full packing, in the
/// cluster's market mix (on-demand base, spot share above it), spread over the zones. Like an Auto Scaling group
/// with a fixed desired capacity, it relaunches an instance that goes (spot reclaim, zone outage) once a minute
/// and never drains anything.
public final class StaticPolicy: ScalingPolicy {
    public let name = "static"
    public let title = "Static fleet sized for the peak (on-demand base, spot above it), replaced when lost"
    public let tickInterval: Duration? = .seconds(60)

    /// Nodes each cluster keeps, sized at start.
    private let targets = Mutex<[ClusterID: Int]>([:])

    public init() {}

    public func start(in world: SimulationWorld) async throws -> [@Sendable () async -> Void] {
        var targets: [ClusterID: Int] = [:]
        for cluster in world.clusters {
            let demand = try DemandModel(spec: cluster.spec, in: world.scenario)
            let peak = PolicyMath.nodes(
                forPods: demand.peakPods(minutes: world.scenario.durationMinutes),
                request: cluster.spec.podRequest,
                room: cluster.workloadRoom(of: cluster.spec.instanceTypes[0])
            )
            targets[cluster.spec.id] = min(cluster.spec.maxNodes, max(cluster.spec.minNodes, peak))
        }
        self.targets.withLock { $0 = targets }
        await tick(in: world)
        return []
    }

    public func tick(in world: SimulationWorld) async {
        let targets = self.targets.withLock { $0 }
        for cluster in world.clusters where !cluster.isDown {
            guard let target = targets[cluster.spec.id] else { continue }
            let type = cluster.spec.instanceTypes[0]
            var live = cluster.cloud.liveInstances()
            var attempts = 0
            var refused: Set<String> = []
            while live.count < target && attempts < target {
                attempts += 1
                let market = PolicyMath.nextMarket(
                    onDemand: live.filter { $0.market == .onDemand }.count,
                    spot: live.filter { $0.market == .spot }.count,
                    base: cluster.spec.onDemandBase,
                    spotShare: cluster.spec.spotShare
                )
                guard let zone = PolicyMath.leastUsedZone(cluster.spec.zones, instances: live, excluding: refused)
                else { break }
                do {
                    live += try await cluster.launch(type, market, in: zone, count: 1, by: name)
                } catch {
                    // The zone or pool is out: the other zones now, this one again next minute, as the group would.
                    refused.insert(zone)
                }
            }
        }
    }
}
