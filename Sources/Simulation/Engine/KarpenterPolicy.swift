import Clocks
import ClusterAgent
import Cost
import Synchronization

/// Karpenter with its defaults: it provisions for pending pods and consolidates with `WhenEmptyOrUnderutilized`.
///
/// Provisioning: pods no node (nor a node in flight) has room for are batched until a tick passes with no new one
/// (Karpenter's 1 s idle window, here the 5 s tick), at most 10 s after the first; then nodes are launched for
/// them, each in the pool (instance type × zone × market, among the cluster's types and zones) that costs least
/// per pod it takes, as price-capacity-optimized does. The cluster's on-demand base stays on-demand (Karpenter
/// users keep such a base with a separate on-demand NodePool of higher weight) and spot is taken above it within
/// the spot share; a pool that returned InsufficientInstanceCapacity (or whose zone refused the launch) is skipped
/// for 3 minutes.
///
/// Consolidation, every 10 s: empty nodes are removed together, within the disruption budget (10 % of the nodes,
/// at least one); failing that, the single node whose removal saves most while its pods fit in the other nodes'
/// free room. A decision is re-validated 15 s after it is computed and acted on only if it still holds. Removals
/// drain through the agent's drain machine; never below `minNodes` nor the on-demand base. Replacing nodes with
/// cheaper ones and multi-node consolidation are left out.
///
/// Spot interruption: at the two-minute notice a replacement for the node's pods is launched, the node is drained
/// at once and the interrupted pool skipped for 3 minutes; rebalance recommendations change nothing.
public final class KarpenterPolicy: ScalingPolicy {
    public let name = "karpenter"
    public let title =
        "Karpenter: batched provisioning of the cheapest pools per pod, consolidation when empty or underutilised, "
        + "replacement at the spot notice"
    public let tickInterval: Duration? = .seconds(5)

    /// What Karpenter did, for tests and logs.
    public struct Action: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            /// Launched `count` nodes in a pool for pending pods (or, `forInterruption`, for an interrupted
            /// node's pods).
            case launched(pool: SimulatedCloud.Pool, count: Int, forInterruption: Bool)
            /// A launch failed; the pool is skipped until `until` (time since the run began).
            case poolSkipped(pool: SimulatedCloud.Pool, until: Duration)
            /// A consolidation decision, to be re-validated.
            case consolidationComputed(nodes: [String], empty: Bool)
            /// A decision that no longer held 15 s later.
            case consolidationDropped(nodes: [String])
            /// A node removed by consolidation.
            case consolidated(node: String, empty: Bool)
            /// A node drained at its spot interruption notice, with how many workload pods it had and how many
            /// nodes were launched for them.
            case interruptionDrained(node: String, pods: Int, replacements: Int)
        }

        /// Time since the run began.
        public var at: Duration
        public var cluster: ClusterID
        public var kind: Kind
    }

    /// Timings, Karpenter's defaults unless a test asks otherwise.
    public struct Settings: Sendable {
        public var batchMaxDuration: Duration = .seconds(10)
        public var consolidationInterval: Duration = .seconds(10)
        public var validationDelay: Duration = .seconds(15)
        public var unavailableOfferingTTL: Duration = .seconds(180)
        /// Share of the nodes that may be disrupted at once (at least one).
        public var disruptionBudget = 0.1

        public init() {}
    }

    struct Command: Sendable {
        var computedAt: FleetInstant
        var nodes: [String]
        var empty: Bool
    }

    struct ClusterState: Sendable {
        var batchStart: FleetInstant?
        var seenPending: Set<KubePod.Reference> = []
        var unavailable: [SimulatedCloud.Pool: FleetInstant] = [:]
        var lastConsolidation: FleetInstant?
        var command: Command?
        /// Instances under a spot interruption notice.
        var noticed: Set<String> = []
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
        states.withLock { states in
            for cluster in world.clusters { states[cluster.spec.id] = ClusterState() }
        }
        return []
    }

    public func tick(in world: SimulationWorld) async {
        for cluster in world.clusters where !cluster.isDown {
            guard var state = states.withLock({ $0[cluster.spec.id] }),
                let view = await ClusterView.look(at: cluster)
            else { continue }
            let now = world.clock.now
            state.unavailable = state.unavailable.filter { $0.value > now }
            state.noticed.formIntersection(view.live.map(\.instanceID))
            await provision(cluster, view: view, state: &state, world: world)
            if let fresh = await ClusterView.look(at: cluster) {
                await consolidate(cluster, view: fresh, state: &state, world: world)
            }
            let result = state
            states.withLock { $0[cluster.spec.id] = result }
        }
    }

    public func interruption(_ message: InterruptionMessage, in cluster: WorldCluster, world: SimulationWorld) async {
        if case .spotInterruption(let instanceID, _) = message.event {
            await interrupted(instanceID, in: cluster, world: world)
        }
        // Handled (a rebalance recommendation only makes an event in Karpenter): off the queue.
        try? await cluster.queue.acknowledge(message)
    }

    /// The notice of a spot instance: skip its pool, launch for its pods, drain it at once.
    private func interrupted(_ instanceID: String, in cluster: WorldCluster, world: SimulationWorld) async {
        guard var state = states.withLock({ $0[cluster.spec.id] }),
            let view = await ClusterView.look(at: cluster),
            let instance = view.live.first(where: { $0.instanceID == instanceID })
        else { return }
        let now = world.clock.now
        state.noticed.insert(instanceID)
        skip(
            SimulatedCloud.Pool(
                instanceType: instance.instanceType,
                market: instance.market,
                availabilityZone: instance.availabilityZone
            ),
            cluster: cluster,
            state: &state,
            now: now
        )
        if let node = view.nodes.first(where: { $0.instanceID == instanceID }) {
            // Its pods need a node to go to: launched now, two minutes before the reclaim.
            let replacements = await launch(
                for: node.movable,
                cluster: cluster,
                view: view,
                state: &state,
                world: world,
                interruption: true
            )
            if !view.draining.contains(node.name) {
                await cluster.drain(
                    node: node.name,
                    instanceID: instanceID,
                    reason: "karpenter: spot interruption",
                    urgent: true
                )
                record(
                    cluster,
                    now,
                    .interruptionDrained(node: node.name, pods: node.movable.count, replacements: replacements.count)
                )
            }
        } else {
            // Not yet a node: nothing runs on it, the NodeClaim is simply deleted.
            try? await cluster.cloud.terminate([instanceID])
        }
        let result = state
        states.withLock { $0[cluster.spec.id] = result }
    }

    // MARK: Provisioning

    private func provision(
        _ cluster: WorldCluster,
        view: ClusterView,
        state: inout ClusterState,
        world: SimulationWorld
    )
        async
    {
        let now = world.clock.now
        let waiting = view.pendingBeyondUpcoming(in: cluster)
        guard !waiting.isEmpty else {
            state.batchStart = nil
            state.seenPending = []
            return
        }
        guard let started = state.batchStart else {
            state.batchStart = now
            state.seenPending = view.pendingPods
            return
        }
        let newPods = !view.pendingPods.isSubset(of: state.seenPending)
        state.seenPending.formUnion(view.pendingPods)
        guard !newPods || now - started >= settings.batchMaxDuration else { return }
        state.batchStart = nil
        state.seenPending = []
        _ = await launch(for: waiting, cluster: cluster, view: view, state: &state, world: world, interruption: false)
    }

    /// Launches nodes for `pods`, node by node in the pool cheapest per pod it takes, retrying the pods of a pool
    /// that refused in the next one; returns the instances launched.
    private func launch(
        for pods: [Resources],
        cluster: WorldCluster,
        view: ClusterView,
        state: inout ClusterState,
        world: SimulationWorld,
        interruption: Bool
    ) async -> [CloudInstance] {
        var left = pods.sorted(by: ClusterView.largerFirst)
        var all = view.live.filter { !state.noticed.contains($0.instanceID) }
        var launched: [CloudInstance] = []
        var rounds = 0
        while !left.isEmpty, rounds < 2 * cluster.spec.instanceTypes.count * cluster.spec.zones.count * 2 {
            rounds += 1
            // The plan: nodes in order, each with its pool and the pods it takes.
            var plan: [(pool: SimulatedCloud.Pool, pods: [Resources])] = []
            var planned = all
            var rest = left
            while !rest.isEmpty, planned.count < cluster.spec.maxNodes {
                let market = PolicyMath.nextMarket(
                    onDemand: planned.filter { $0.market == .onDemand }.count,
                    spot: planned.filter { $0.market == .spot }.count,
                    base: cluster.spec.onDemandBase,
                    spotShare: cluster.spec.spotShare
                )
                let other: Market = market == .onDemand ? .spot : .onDemand
                guard
                    let choice = cheapest(
                        for: rest,
                        market: market,
                        cluster: cluster,
                        planned: planned,
                        state: state,
                        world: world
                    )
                        ?? cheapest(
                            for: rest,
                            market: other,
                            cluster: cluster,
                            planned: planned,
                            state: state,
                            world: world
                        )
                else { break }
                plan.append((choice.pool, choice.taken))
                rest = choice.rest
                planned.append(
                    CloudInstance(
                        instanceID: "planned-\(plan.count)",
                        instanceType: choice.pool.instanceType,
                        market: choice.pool.market,
                        availabilityZone: choice.pool.availabilityZone,
                        state: .pending,
                        launchedAt: world.clock.timestamp
                    )
                )
            }
            guard !plan.isEmpty else { break }
            var order: [SimulatedCloud.Pool] = []
            var grouped: [SimulatedCloud.Pool: [[Resources]]] = [:]
            for node in plan {
                if grouped[node.pool] == nil { order.append(node.pool) }
                grouped[node.pool, default: []].append(node.pods)
            }
            var refused: [Resources] = []
            var failed = false
            for pool in order {
                let nodes = grouped[pool] ?? []
                do {
                    let instances = try await cluster.launch(
                        pool.instanceType,
                        pool.market,
                        in: pool.availabilityZone,
                        count: nodes.count,
                        by: name
                    )
                    launched += instances
                    all += instances
                    record(
                        cluster,
                        world.clock.now,
                        .launched(pool: pool, count: instances.count, forInterruption: interruption)
                    )
                } catch {
                    skip(pool, cluster: cluster, state: &state, now: world.clock.now)
                    refused += nodes.flatMap { $0 }
                    failed = true
                }
            }
            left = refused.sorted(by: ClusterView.largerFirst)
            if !failed { break }
        }
        return launched
    }

    /// The pool of `market` that costs least per pod it would take of `pods`, with the pods one node of it takes
    /// (first fit, largest first) and those left; ties go to the zone with fewest nodes, then by name.
    private func cheapest(
        for pods: [Resources],
        market: Market,
        cluster: WorldCluster,
        planned: [CloudInstance],
        state: ClusterState,
        world: SimulationWorld
    ) -> (pool: SimulatedCloud.Pool, taken: [Resources], rest: [Resources])? {
        var best:
            (key: (Double, Int, String, String), pool: SimulatedCloud.Pool, taken: [Resources], rest: [Resources])?
        for type in cluster.spec.instanceTypes {
            var room = cluster.workloadRoom(of: type)
            var taken: [Resources] = []
            var rest: [Resources] = []
            for pod in pods {
                if pod.fits(in: room) {
                    room -= pod
                    taken.append(pod)
                } else {
                    rest.append(pod)
                }
            }
            guard !taken.isEmpty else { continue }
            for zone in cluster.spec.zones {
                let pool = SimulatedCloud.Pool(instanceType: type, market: market, availabilityZone: zone)
                guard state.unavailable[pool] == nil else { continue }
                let price = self.price(pool, cluster: cluster, world: world)
                let key = (
                    price / Double(taken.count),
                    planned.filter { $0.availabilityZone == zone }.count,
                    type,
                    zone
                )
                if best.map({ key < $0.key }) ?? true { best = (key, pool, taken, rest) }
            }
        }
        return best.map { ($0.pool, $0.taken, $0.rest) }
    }

    private func price(_ pool: SimulatedCloud.Pool, cluster: WorldCluster, world: SimulationWorld) -> Double {
        switch pool.market {
        case .onDemand:
            world.market.onDemandUSDPerHour(region: cluster.spec.region, instanceType: pool.instanceType)
        case .spot:
            world.market.spotUSDPerHour(
                SpotPool(
                    region: cluster.spec.region,
                    availabilityZone: pool.availabilityZone,
                    instanceType: pool.instanceType
                ),
                at: world.clock.timestamp
            )
        }
    }

    private func skip(_ pool: SimulatedCloud.Pool, cluster: WorldCluster, state: inout ClusterState, now: FleetInstant)
    {
        let until = now.advanced(by: settings.unavailableOfferingTTL)
        state.unavailable[pool] = until
        record(cluster, now, .poolSkipped(pool: pool, until: until.offset))
    }

    // MARK: Consolidation

    private func consolidate(
        _ cluster: WorldCluster,
        view: ClusterView,
        state: inout ClusterState,
        world: SimulationWorld
    ) async {
        let now = world.clock.now
        if let command = state.command {
            guard now - command.computedAt >= settings.validationDelay else { return }
            state.command = nil
            var valid: [String] = []
            if let still = decide(cluster, view: view, state: state, world: world, only: Set(command.nodes)),
                still.empty == command.empty
            {
                valid = command.nodes.filter { still.nodes.contains($0) }
            }
            guard !valid.isEmpty else {
                record(cluster, now, .consolidationDropped(nodes: command.nodes))
                return
            }
            let byName = Dictionary(uniqueKeysWithValues: view.nodes.map { ($0.name, $0) })
            for name in valid {
                guard let node = byName[name], !view.draining.contains(name) else { continue }
                let accepted = await cluster.drain(
                    node: name,
                    instanceID: node.instanceID,
                    reason: command.empty ? "karpenter: empty" : "karpenter: underutilized"
                )
                if accepted { record(cluster, now, .consolidated(node: name, empty: command.empty)) }
            }
            state.lastConsolidation = now
            return
        }
        if let last = state.lastConsolidation, now - last < settings.consolidationInterval { return }
        state.lastConsolidation = now
        guard let decision = decide(cluster, view: view, state: state, world: world, only: nil) else { return }
        state.command = Command(computedAt: now, nodes: decision.nodes, empty: decision.empty)
        record(cluster, now, .consolidationComputed(nodes: decision.nodes, empty: decision.empty))
    }

    /// What consolidation would remove now: the empty nodes the budget and floors allow (dearest first), else the
    /// one node whose pods fit in the others' free room and whose removal saves most. `only` limits the candidates
    /// (re-validation of a decision).
    private func decide(
        _ cluster: WorldCluster,
        view: ClusterView,
        state: ClusterState,
        world: SimulationWorld,
        only: Set<String>?
    ) -> (nodes: [String], empty: Bool)? {
        let disrupting = view.nodes.filter(\.draining).count
        let budget = max(1, Int((settings.disruptionBudget * Double(view.nodes.count)).rounded(.up))) - disrupting
        guard budget > 0 else { return nil }
        let staying = view.live.filter { instance in
            !state.noticed.contains(instance.instanceID)
                && !view.nodes.contains { $0.instanceID == instance.instanceID && $0.draining }
        }
        var allowed = min(budget, staying.count - max(cluster.spec.minNodes, cluster.spec.onDemandBase))
        var onDemandSpare = staying.filter { $0.market == .onDemand }.count - cluster.spec.onDemandBase
        guard allowed > 0 else { return nil }
        let candidates = view.nodes.filter { node in
            node.ready && !node.draining && !state.noticed.contains(node.instanceID)
                && (only?.contains(node.name) ?? true)
        }.sorted {
            (-nodePrice($0, cluster: cluster, world: world), $0.name) < (
                -nodePrice($1, cluster: cluster, world: world), $1.name
            )
        }
        var empties: [String] = []
        for node in candidates where node.isEmpty && allowed > 0 {
            if node.market == .onDemand {
                guard onDemandSpare > 0 else { continue }
                onDemandSpare -= 1
            }
            empties.append(node.name)
            allowed -= 1
        }
        if !empties.isEmpty { return (empties, true) }
        guard view.pendingBeyondUpcoming(in: cluster).isEmpty else { return nil }
        let destinations = view.nodes.filter(\.schedulable).sorted { $0.name < $1.name }
        let free = Dictionary(uniqueKeysWithValues: destinations.map { ($0.name, $0.free) })
        for node in candidates where !node.isEmpty {
            if node.market == .onDemand && onDemandSpare <= 0 { continue }
            var trial = free
            let order = destinations.map(\.name).filter { $0 != node.name }
            if ClusterView.place(node.movable, into: &trial, order: order) { return ([node.name], false) }
        }
        return nil
    }

    private func nodePrice(_ node: ClusterView.Node, cluster: WorldCluster, world: SimulationWorld) -> Double {
        price(
            SimulatedCloud.Pool(instanceType: node.instanceType, market: node.market, availabilityZone: node.zone),
            cluster: cluster,
            world: world
        )
    }

    private func record(_ cluster: WorldCluster, _ now: FleetInstant, _ kind: Action.Kind) {
        journal.withLock { $0.append(Action(at: now.offset, cluster: cluster.spec.id, kind: kind)) }
    }
}
