import ClusterAgent
import Cost
import Synchronization

/// The rule people write (the seeds' Lambda): every 2 minutes, add nodes when average CPU is above 70 % or any pod
/// is pending (enough nodes for the pending pods, at least one), remove the node with the fewest pods when CPU is
/// under 30 %, and do nothing for 10 minutes after any action. 70 % spot above an on-demand base of 2, zones
/// round-robin; the removal drains (cordon, evictions honouring the PodDisruptionBudget), as `kubectl drain`.
public final class ReactivePolicy: ScalingPolicy {
    public let name = "reactive"
    public let title =
        "Reactive rule: every 2 min, add on CPU > 70 % or pending pods, remove one on CPU < 30 %, 10-min cooldown"
    public let tickInterval: Duration? = .seconds(120)
    private let lastAction = Mutex<[ClusterID: Int64]>([:])

    public init() {}

    public func start(in world: SimulationWorld) async throws -> [@Sendable () async -> Void] { [] }

    public func tick(in world: SimulationWorld) async {
        let now = world.clock.now.offset.components.seconds
        for cluster in world.clusters where !cluster.isDown {
            let id = cluster.spec.id
            if let last = lastAction.withLock({ $0[id] }), now - last < 600 { continue }
            guard let sample = try? await cluster.kube.sample(at: world.clock.timestamp),
                let pods = try? await cluster.kube.pods(),
                let nodes = try? await cluster.kube.nodes()
            else { continue }
            let pending = pods.filter { $0.phase == .pending && !$0.isDaemonSetPod }.count
            let live = cluster.cloud.liveInstances()
            let type = cluster.spec.instanceTypes[0]
            if sample.utilisation.cpu > 0.7 || pending > 0 {
                let wanted = max(
                    1,
                    PolicyMath.nodes(
                        forPods: pending,
                        request: cluster.spec.podRequest,
                        room: cluster.workloadRoom(of: type)
                    )
                )
                let room = max(0, cluster.spec.maxNodes - live.count)
                var added = 0
                var all = live
                var refused: Set<String> = []
                while added < min(wanted, room) {
                    let market = PolicyMath.nextMarket(
                        onDemand: all.filter { $0.market == .onDemand }.count,
                        spot: all.filter { $0.market == .spot }.count,
                        base: cluster.spec.onDemandBase,
                        spotShare: cluster.spec.spotShare
                    )
                    guard let zone = PolicyMath.leastUsedZone(cluster.spec.zones, instances: all, excluding: refused)
                    else { break }
                    do {
                        all += try await cluster.launch(type, market, in: zone, count: 1, by: name)
                        added += 1
                    } catch {
                        refused.insert(zone)
                    }
                }
                if added > 0 { lastAction.withLock { $0[id] = now } }
            } else if sample.utilisation.cpu < 0.3, live.count > max(cluster.spec.minNodes, cluster.spec.onDemandBase) {
                let draining = await cluster.drains.draining
                let candidates = nodes.filter { $0.ready && !$0.unschedulable && !draining.contains($0.name) }
                let podsPerNode = Dictionary(grouping: pods.compactMap(\.nodeName), by: { $0 }).mapValues(\.count)
                guard
                    let victim = candidates.min(by: {
                        (podsPerNode[$0.name] ?? 0, $0.name) < (podsPerNode[$1.name] ?? 0, $1.name)
                    }),
                    let instanceID = victim.labels[instanceIDLabel]
                else { continue }
                await cluster.drain(node: victim.name, instanceID: instanceID, reason: "cpu under 30 %")
                lastAction.withLock { $0[id] = now }
            }
        }
    }
}
