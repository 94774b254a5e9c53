import Clocks
import ClusterAgent
import Cost
import Synchronization

/// The Kubernetes Cluster Autoscaler with its defaults, on the common EKS layout of one Auto Scaling group per
/// zone, each a mixed-instances group keeping the cluster's on-demand base and spot share.
///
/// Every 10 s (`scan-interval`) it looks at the cluster. Scale-up: the pods no node has room for, less those the
/// upcoming nodes (launched, not yet Ready) will take, are packed onto new nodes of the group's template (first fit,
/// by requests, not utilisation) and that many are launched in one group chosen by the `random` expander. A group
/// whose launch fails (no capacity, zone down) is backed off (5 min, doubling up to 30 min, forgotten after 3 h
/// without failure) and the next group is tried. Scale-down: a node is unneeded while its pods' requests are under
/// 50 % of its allocatable and its workload pods fit in the other nodes' free room; one unneeded for 10 min is
/// drained (through the agent's drain machine, honouring the PodDisruptionBudget) unless a scale-up came in the
/// last 10 min or a scale-down failed in the last 3 min; empty nodes go up to 10 at once, others one at a time;
/// never below `minNodes` nor the on-demand base. It has no interruption handling: a reclaimed spot node simply
/// disappears, and its group (the ASG, not the autoscaler) launches a replacement to keep its desired capacity.
public final class ClusterAutoscalerPolicy: ScalingPolicy {
    public let name = "ca"
    public let title =
        "Cluster Autoscaler: 10 s scan, scale-up for unschedulable pods, random expander over one group per zone, "
        + "scale-down under 50 % after 10 min"
    public let tickInterval: Duration? = .seconds(10)

    /// What the autoscaler (or its groups) did, for tests and logs.
    public struct Action: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            /// Raised a group by `count` nodes for pods that had no room.
            case scaleUp(zone: String, count: Int)
            /// The group launched `count` nodes in place of instances that went away without a scale-down.
            case replaced(zone: String, count: Int)
            /// A launch in the group failed; the group is skipped until `until` (time since the run began).
            case backedOff(zone: String, until: Duration)
            /// A node was first found unneeded.
            case unneeded(node: String)
            /// Removed a node unneeded for `unneededFor`.
            case scaleDown(node: String, empty: Bool, unneededFor: Duration)
            /// A removal's drain ended with the node kept.
            case scaleDownFailed(node: String)
        }

        /// Time since the run began.
        public var at: Duration
        public var cluster: ClusterID
        public var kind: Kind
    }

    /// Timings and thresholds, the autoscaler's defaults unless a test asks otherwise.
    public struct Settings: Sendable {
        public var utilisationThreshold = 0.5
        public var unneededTime: Duration = .seconds(600)
        public var delayAfterAdd: Duration = .seconds(600)
        public var delayAfterFailure: Duration = .seconds(180)
        public var maxEmptyBulkDelete = 10
        public var initialBackoff: Duration = .seconds(300)
        public var maxBackoff: Duration = .seconds(1_800)
        public var backoffReset: Duration = .seconds(10_800)

        public init() {}
    }

    struct Group: Sendable {
        /// Instances the group holds (its desired capacity, as ids).
        var members: Set<String> = []
        var backedOffUntil: FleetInstant?
        var lastBackoff: Duration = .zero
        var lastFailure: FleetInstant?
    }

    struct Removal: Sendable {
        var instanceID: String
        var empty: Bool
    }

    struct ClusterState: Sendable {
        var groups: [String: Group] = [:]
        var unneededSince: [String: FleetInstant] = [:]
        var lastScaleUp: FleetInstant?
        var lastScaleDownFailure: FleetInstant?
        /// Nodes being removed, by node name.
        var removals: [String: Removal] = [:]
        var random: SeededRandom
    }

    public let settings: Settings
    private let states = Mutex<[ClusterID: ClusterState]>([:])
    private let journal = Mutex<[Action]>([])

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// Everything done so far, in order.
    public var actions: [Action] { journal.withLock { $0 } }

    public func start(in world: SimulationWorld) async throws -> [@Sendable () async -> Void] {
        var random = SeededRandom(seed: world.scenario.seed ^ 0xca5c_a1e0)
        states.withLock { states in
            for cluster in world.clusters {
                var state = ClusterState(random: SeededRandom(seed: random.next()))
                for zone in cluster.spec.zones { state.groups[zone] = Group() }
                for instance in cluster.cloud.liveInstances() {
                    state.groups[instance.availabilityZone, default: Group()].members.insert(instance.instanceID)
                }
                states[cluster.spec.id] = state
            }
        }
        return []
    }

    public func tick(in world: SimulationWorld) async {
        for cluster in world.clusters where !cluster.isDown {
            guard var state = states.withLock({ $0[cluster.spec.id] }),
                let view = await ClusterView.look(at: cluster)
            else { continue }
            await scan(cluster, view: view, state: &state, world: world)
            let result = state
            states.withLock { $0[cluster.spec.id] = result }
        }
    }

    // MARK: One scan

    private func scan(
        _ cluster: WorldCluster,
        view: ClusterView,
        state: inout ClusterState,
        world: SimulationWorld
    )
        async
    {
        let now = world.clock.now
        followRemovals(cluster, view: view, state: &state, now: now)
        await replaceLost(cluster, view: view, state: &state, now: now)
        // A fresh look if the groups launched anything, so the scale-up counts the replacements as upcoming.
        guard let view = await ClusterView.look(at: cluster) else { return }
        if await scaleUp(cluster, view: view, state: &state, now: now) { return }
        let unneeded = unneededNodes(cluster, view: view, state: state)
        for name in unneeded where state.unneededSince[name] == nil {
            state.unneededSince[name] = now
            record(cluster, now, .unneeded(node: name))
        }
        state.unneededSince = state.unneededSince.filter { unneeded.contains($0.key) }
        let coolingDown =
            state.lastScaleUp.map { now - $0 < settings.delayAfterAdd } ?? false
            || state.lastScaleDownFailure.map { now - $0 < settings.delayAfterFailure } ?? false
        if !coolingDown {
            await scaleDown(cluster, view: view, unneeded: unneeded, state: &state, now: now)
        }
    }

    /// Ends the book of removals whose drain ended: the instance gone (done) or still there (failed).
    private func followRemovals(
        _ cluster: WorldCluster,
        view: ClusterView,
        state: inout ClusterState,
        now: FleetInstant
    ) {
        let live = Set(view.live.map(\.instanceID))
        for (node, removal) in state.removals.sorted(by: { $0.key < $1.key }) where !view.draining.contains(node) {
            state.removals[node] = nil
            if !live.contains(removal.instanceID) {
                // A scale-down lowers its group's desired capacity: the group must not take the instance for lost.
                for zone in state.groups.keys { state.groups[zone]?.members.remove(removal.instanceID) }
            }
            if live.contains(removal.instanceID) {
                state.lastScaleDownFailure = now
                record(cluster, now, .scaleDownFailed(node: node))
            }
        }
    }

    /// The groups' own work: an instance that went away without a scale-down (spot reclaim, zone outage) is
    /// replaced in its group; a group that cannot launch is backed off and its desired capacity cut to what it has.
    private func replaceLost(
        _ cluster: WorldCluster,
        view: ClusterView,
        state: inout ClusterState,
        now: FleetInstant
    )
        async
    {
        let live = Set(view.live.map(\.instanceID))
        let removing = Set(state.removals.values.map(\.instanceID))
        var all = view.live
        for zone in cluster.spec.zones {
            guard var group = state.groups[zone] else { continue }
            let gone = group.members.subtracting(live)
            guard !gone.isEmpty else { continue }
            group.members.subtract(gone)
            let lost = gone.subtracting(removing).count
            let room = max(0, cluster.spec.maxNodes - all.count)
            if lost > 0 && room > 0 {
                do {
                    let launched = try await launch(cluster, zone: zone, count: min(lost, room), existing: all)
                    group.members.formUnion(launched.map(\.instanceID))
                    all += launched
                    record(cluster, now, .replaced(zone: zone, count: launched.count))
                } catch {
                    group.members.formUnion(error.launched.map(\.instanceID))
                    all += error.launched
                    backOff(&group, cluster: cluster, zone: zone, now: now)
                }
            }
            state.groups[zone] = group
        }
    }

    /// Scale-up for the pods with no room; true when it launched anything.
    private func scaleUp(
        _ cluster: WorldCluster,
        view: ClusterView,
        state: inout ClusterState,
        now: FleetInstant
    )
        async -> Bool
    {
        let waiting = view.pendingBeyondUpcoming(in: cluster)
        guard !waiting.isEmpty else { return false }
        let template = cluster.spec.instanceTypes[0]
        var needed = ClusterView.nodesNeeded(for: waiting, room: cluster.workloadRoom(of: template))
        var all = view.live
        var options = cluster.spec.zones.filter { zone in
            state.groups[zone]?.backedOffUntil.map { $0 <= now } ?? true
        }
        var launchedAny = false
        while needed > 0, !options.isEmpty {
            let room = cluster.spec.maxNodes - all.count
            guard room > 0 else { break }
            let index = Int.random(in: options.indices, using: &state.random)
            let zone = options.remove(at: index)
            var group = state.groups[zone] ?? Group()
            let count = min(needed, room)
            var launched: [CloudInstance]
            var failed = false
            do {
                launched = try await launch(cluster, zone: zone, count: count, existing: all)
            } catch {
                launched = error.launched
                failed = true
            }
            if !launched.isEmpty {
                group.members.formUnion(launched.map(\.instanceID))
                all += launched
                needed -= launched.count
                launchedAny = true
                record(cluster, now, .scaleUp(zone: zone, count: launched.count))
            }
            if failed { backOff(&group, cluster: cluster, zone: zone, now: now) }
            state.groups[zone] = group
            if !failed { break }
        }
        if launchedAny { state.lastScaleUp = now }
        return launchedAny
    }

    /// The nodes that could go now: under the utilisation threshold and their workload pods fit in the room the
    /// other nodes have (less what the pods of nodes found unneeded before them take, and a node that would take
    /// such pods is not itself a candidate), least utilised first.
    private func unneededNodes(_ cluster: WorldCluster, view: ClusterView, state: ClusterState) -> [String] {
        let destinations = view.nodes.filter(\.schedulable).sorted { $0.name < $1.name }
        var free = Dictionary(uniqueKeysWithValues: destinations.map { ($0.name, $0.free) })
        let candidates = view.nodes.filter { node in
            node.ready && !node.draining && state.removals[node.name] == nil
                && node.utilisation < settings.utilisationThreshold
        }.sorted { ($0.utilisation, $0.name) < ($1.utilisation, $1.name) }
        var unneeded: [String] = []
        var receivers: Set<String> = []
        for candidate in candidates where !receivers.contains(candidate.name) {
            let order = destinations.map(\.name).filter { $0 != candidate.name && free[$0] != nil }
            var trial = free
            guard ClusterView.place(candidate.movable, into: &trial, order: order) else { continue }
            for name in order where trial[name] != free[name] { receivers.insert(name) }
            trial[candidate.name] = nil
            free = trial
            unneeded.append(candidate.name)
        }
        return unneeded
    }

    /// Removes the nodes unneeded long enough: empty ones in bulk, else one other node if none is being removed.
    private func scaleDown(
        _ cluster: WorldCluster,
        view: ClusterView,
        unneeded: [String],
        state: inout ClusterState,
        now: FleetInstant
    ) async {
        let removing = Set(state.removals.values.map(\.instanceID))
        let staying = view.live.filter { !removing.contains($0.instanceID) }
        var allowed = staying.count - max(cluster.spec.minNodes, cluster.spec.onDemandBase)
        var onDemandSpare = staying.filter { $0.market == .onDemand }.count - cluster.spec.onDemandBase
        let byName = Dictionary(uniqueKeysWithValues: view.nodes.map { ($0.name, $0) })
        let ripe = unneeded.compactMap { name -> ClusterView.Node? in
            guard let since = state.unneededSince[name], now - since >= settings.unneededTime else { return nil }
            return byName[name]
        }
        let empty = ripe.filter(\.isEmpty)
        let busyRemovalUnderWay = state.removals.values.contains { !$0.empty }
        let chosen = empty.isEmpty ? (busyRemovalUnderWay ? [] : ripe) : empty
        let limit = empty.isEmpty ? 1 : settings.maxEmptyBulkDelete
        var taken = 0
        for node in chosen {
            guard allowed > 0, taken < limit else { break }
            if node.market == .onDemand {
                guard onDemandSpare > 0 else { continue }
                onDemandSpare -= 1
            }
            guard !view.draining.contains(node.name) else { continue }
            let unneededFor = now - (state.unneededSince[node.name] ?? now)
            let refused = await !cluster.drain(
                node: node.name,
                instanceID: node.instanceID,
                reason: node.isEmpty ? "cluster-autoscaler: empty node" : "cluster-autoscaler: node unneeded"
            )
            guard !refused else { continue }
            state.removals[node.name] = Removal(instanceID: node.instanceID, empty: node.isEmpty)
            state.unneededSince[node.name] = nil
            allowed -= 1
            taken += 1
            record(cluster, now, .scaleDown(node: node.name, empty: node.isEmpty, unneededFor: unneededFor))
        }
    }

    // MARK: Groups

    /// A launch that failed part-way: what it launched before the failure.
    struct LaunchFailure: Error {
        var launched: [CloudInstance]
        var error: CloudError
    }

    /// Launches `count` nodes of the template type in a zone's group, each on the market the mixed-instances
    /// policy gives it (on-demand to the base, spot within the share above it).
    private func launch(
        _ cluster: WorldCluster,
        zone: String,
        count: Int,
        existing: [CloudInstance]
    )
        async throws(LaunchFailure) -> [CloudInstance]
    {
        var onDemand = existing.filter { $0.market == .onDemand }.count
        var spot = existing.filter { $0.market == .spot }.count
        var markets: [Market: Int] = [:]
        for _ in 0..<count {
            let market = PolicyMath.nextMarket(
                onDemand: onDemand,
                spot: spot,
                base: cluster.spec.onDemandBase,
                spotShare: cluster.spec.spotShare
            )
            markets[market, default: 0] += 1
            if market == .onDemand { onDemand += 1 } else { spot += 1 }
        }
        var launched: [CloudInstance] = []
        for market in [Market.onDemand, .spot] {
            guard let n = markets[market] else { continue }
            do {
                launched += try await cluster.launch(
                    cluster.spec.instanceTypes[0],
                    market,
                    in: zone,
                    count: n,
                    by: name
                )
            } catch {
                throw LaunchFailure(launched: launched, error: error)
            }
        }
        return launched
    }

    private func backOff(_ group: inout Group, cluster: WorldCluster, zone: String, now: FleetInstant) {
        let recent = group.lastFailure.map { now - $0 < settings.backoffReset } ?? false
        let backoff = recent ? min(settings.maxBackoff, group.lastBackoff * 2) : settings.initialBackoff
        group.lastBackoff = backoff
        group.lastFailure = now
        group.backedOffUntil = now.advanced(by: backoff)
        record(cluster, now, .backedOff(zone: zone, until: now.advanced(by: backoff).offset))
    }

    private func record(_ cluster: WorldCluster, _ now: FleetInstant, _ kind: Action.Kind) {
        journal.withLock { $0.append(Action(at: now.offset, cluster: cluster.spec.id, kind: kind)) }
    }
}
