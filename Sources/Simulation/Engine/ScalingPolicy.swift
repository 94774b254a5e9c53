import ClusterAgent
import Cost
import Scenarios

/// A rule that sizes the simulated clusters: Ballast itself (the real coordinator and agents), or one of the
/// rules people run today, each a real implementation acting through the same ports the agent uses (launches on
/// the `CloudProvider`, drains through the agent's `DrainService`, readings from `KubeAPI` and `MetricsSource`).
///
/// The engine calls `start` once at minute 0, `tick` every `tickInterval` of virtual time (services a policy
/// starts run on the world's clock by themselves), `interruption` when a notice lands on a cluster's queue and
/// `operatorEvent` for what an operator does (budget changes, failover, failback), then `stop`.
public protocol ScalingPolicy: AnyObject, Sendable {
    /// The name on the command line and in the report (`static`, `reactive`, `ca`, `karpenter`, `ballast`).
    var name: String { get }
    /// One line for the report's legend.
    var title: String { get }
    /// How often the engine wakes the policy; nil when its own services run on the clock.
    var tickInterval: Duration? { get }
    /// Sets up; returns long-running services (a service ends when its task is cancelled) the engine runs.
    func start(in world: SimulationWorld) async throws -> [@Sendable () async -> Void]
    func tick(in world: SimulationWorld) async
    /// A message just put on `cluster`'s interruption queue (the policy may read and acknowledge it).
    func interruption(_ message: InterruptionMessage, in cluster: WorldCluster, world: SimulationWorld) async
    /// An operator's action from the scenario (budget change, failover, failback); rules with no such notion
    /// ignore it.
    func operatorEvent(_ event: ScenarioEvent.Kind, world: SimulationWorld) async
    func stop() async
    /// Waits for work the policy has under way that the world cannot see (a plan being computed), so the engine
    /// does not step the clock under it.
    func quiesce() async
}

extension ScalingPolicy {
    public func interruption(_ message: InterruptionMessage, in cluster: WorldCluster, world: SimulationWorld) async {}
    public func operatorEvent(_ event: ScenarioEvent.Kind, world: SimulationWorld) async {}
    public func stop() async {}
    public func quiesce() async {}
}

/// The policies a simulation can run, by their command-line names.
public enum PolicyKind: String, CaseIterable, Sendable, Hashable {
    case `static`
    case reactive
    case ca
    case karpenter
    case ballast
    case oracle

    /// Makes the policy; nil for the oracle, which is computed, not simulated.
    public func make() -> (any ScalingPolicy)? {
        switch self {
        case .static: StaticPolicy()
        case .reactive: ReactivePolicy()
        case .ca: ClusterAutoscalerPolicy()
        case .karpenter: KarpenterPolicy()
        case .ballast: BallastPolicy()
        case .oracle: nil
        }
    }
}

/// Helpers the rules share: how many nodes a set of pods needs, and which market and zone the next node takes.
public enum PolicyMath {
    /// Nodes of `room` that `pods` pods of `request` need at full packing (at least 0).
    public static func nodes(forPods pods: Int, request: Resources, room: Resources) -> Int {
        guard pods > 0 else { return 0 }
        let perNode = max(
            1,
            min(
                room.cpuMillicores / max(1, request.cpuMillicores),
                room.memoryBytes / max(1, request.memoryBytes)
            )
        )
        return (pods + perNode - 1) / perNode
    }

    /// The market of the next node added to a cluster with `onDemand` and `spot` nodes: on-demand until the base
    /// is met, then spot while spot stays within `spotShare` of the nodes above the base.
    public static func nextMarket(onDemand: Int, spot: Int, base: Int, spotShare: Double) -> Market {
        if onDemand < base { return .onDemand }
        let above = onDemand - base + spot + 1
        return Double(spot + 1) <= spotShare * Double(above) + 1e-9 ? .spot : .onDemand
    }

    /// The zone with the fewest of `instances` (ties by zone order): round-robin that heals after an outage.
    public static func leastUsedZone(
        _ zones: [String],
        instances: [CloudInstance],
        excluding: Set<String> = []
    )
        -> String?
    {
        let candidates = zones.filter { !excluding.contains($0) }
        return candidates.min { a, b in
            let countA = instances.filter { $0.availabilityZone == a }.count
            let countB = instances.filter { $0.availabilityZone == b }.count
            return countA < countB
        }
    }
}
