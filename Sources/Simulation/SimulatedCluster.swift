import Clocks
import ClusterAgent
import Cost
import FleetAPI
import Synchronization

/// A simulated Kubernetes cluster behind the agent's `KubeAPI` and `MetricsSource` ports, on the simulated cloud's
/// instances: a node joins once its instance has booted and turns Ready `nodeReadyDelay` later; pods are bin-packed
/// by a first-fit scheduler onto Ready, uncordoned nodes (pending, and marked unschedulable, when nothing fits);
/// every node runs one pod of each DaemonSet; an eviction honours PodDisruptionBudgets (`maxUnavailable`), makes the
/// pod terminate for `terminationGrace` and has its controller create a replacement, which the scheduler places;
/// a workload may follow a request trace (its replica count follows demand); utilisation is running requests over
/// Ready allocatable.
///
/// Promise: nothing here removes a pod from a node except an eviction, a scale-down of its workload, or its node
/// going away; an eviction the budget does not allow changes nothing and answers `.blockedByDisruptionBudget`.
public actor SimulatedCluster: KubeAPI, MetricsSource {
    /// A set of identical pods managed by one controller (a Deployment's ReplicaSet).
    public struct Workload: Sendable {
        public var name: String
        public var namespace: String
        public var replicas: Int
        public var podRequest: Resources

        public init(name: String, namespace: String = "default", replicas: Int, podRequest: Resources) {
            self.name = name
            self.namespace = namespace
            self.replicas = replicas
            self.podRequest = podRequest
        }
    }

    /// Demand that sets one workload's replicas: a trace played at `minutesPerSecond`.
    public struct TraceDemand: Sendable {
        public var workload: String
        public var trace: RequestTrace
        public var requestsPerPod: Double
        public var minutesPerSecond: Double
        public var startMinute: Double

        public init(
            workload: String,
            trace: RequestTrace,
            requestsPerPod: Double,
            minutesPerSecond: Double,
            startMinute: Double
        ) {
            self.workload = workload
            self.trace = trace
            self.requestsPerPod = requestsPerPod
            self.minutesPerSecond = minutesPerSecond
            self.startMinute = startMinute
        }
    }

    struct Pod {
        var reference: KubePod.Reference
        /// The workload or DaemonSet it belongs to.
        var owner: String
        var requests: Resources
        var node: String?
        var daemonSet: Bool
        var terminatingUntil: FleetInstant?
        var unschedulable: Bool
        /// When the scheduler bound it; it counts as healthy (Ready) `podStartDelay` later.
        var boundAt: FleetInstant? = nil
        /// When its controller created it.
        var createdAt: FleetInstant? = nil
        /// Whether it has been found unschedulable (pending for want of room) at least once.
        var waitedForRoom = false
    }

    struct Node {
        var name: String
        var instance: CloudInstance
        var joinedAt: FleetInstant
        var createdAt: Timestamp
        var readyAt: FleetInstant
        var unschedulable = false
        var drainingUntil: Timestamp?
    }

    private let cloud: SimulatedCloud
    private let clock: any FleetClock
    /// The allocatable of a node of each instance type; types not listed get `defaultAllocatable`.
    private let allocatable: [String: Resources]
    private let defaultAllocatable: Resources
    private let nodeReadyDelay: Duration
    private let terminationGrace: Duration
    private let podStartDelay: Duration
    private var nodeTable: [String: Node] = [:]
    private var deletedNodes: Set<String> = []
    private var podTable: [KubePod.Reference: Pod] = [:]
    private var podOrder: [KubePod.Reference] = []
    private var workloads: [String: Workload] = [:]
    private var daemonSets: [String: Resources] = [:]
    private var budgets: [String: Int] = [:]
    private var demand: TraceDemand?
    private var demandStartedAt: FleetInstant?
    private var nextPod = 0
    /// Evictions accepted, and the most pods of one budgeted workload ever disrupted at once (for tests).
    public private(set) var evictions: [KubePod.Reference] = []
    public private(set) var maxDisrupted: [String: Int] = [:]
    /// Make the Eviction API answer HTTP 500 for pods of these workloads (a pod matched by two budgets).
    public var failingEvictions: Set<String> = []
    /// The instant and cloud version the cluster was last brought up to; nothing to do until either moves.
    private var advancedAt: FleetInstant?
    /// The cloud's live instances as of the last `advance` (a node whose instance is not among them is gone).
    private var liveInstances: Set<String> = []
    /// Node names in order, kept sorted as nodes come and go (every listing and the scheduler go in this order).
    private var nodeNames: [String] = []
    /// Bumped by everything that changes what the listings show (every full pass of `advance`, every call that
    /// changes the cluster); a listing asked for again with nothing changed is answered from its cache (the agents
    /// and policies list often, the cluster moves rarely). A node turning Ready comes due as a full pass.
    private var changes = 0
    private var nodesCache: (changes: Int, nodes: [KubeNode])?
    private var podsCache: (changes: Int, pods: [KubePod])?
    private var advancedCloudVersion = -1
    /// `changes` as the last full pass of `advance` left it, and the next instant something in the cluster changes
    /// by itself: until either moves (or the cloud or the demand does), a new instant needs no pass.
    private var settledChanges = -1
    private var nextDue: FleetInstant?
    /// Every workload pod's wait from creation to Running, and the waits of those that were pending for want of
    /// room (a scale-up's), for the simulator's report.
    public private(set) var podWaits = WaitHistogram()
    public private(set) var scaleUpWaits = WaitHistogram()

    public init(
        cloud: SimulatedCloud,
        clock: any FleetClock,
        allocatable: [String: Resources] = [:],
        defaultAllocatable: Resources = Resources(cpuMillicores: 1_930, memoryBytes: 7_168 << 20),
        nodeReadyDelay: Duration = .seconds(20),
        terminationGrace: Duration = .seconds(5),
        podStartDelay: Duration = .seconds(10)
    ) {
        self.podStartDelay = podStartDelay
        self.cloud = cloud
        self.clock = clock
        self.allocatable = allocatable
        self.defaultAllocatable = defaultAllocatable
        self.nodeReadyDelay = nodeReadyDelay
        self.terminationGrace = terminationGrace
    }

    // MARK: Shaping the cluster

    public func addWorkload(_ workload: Workload) {
        advancedAt = nil
        changes += 1
        workloads[workload.name] = workload
        advance()
    }

    public func addDaemonSet(_ name: String, podRequest: Resources) {
        advancedAt = nil
        changes += 1
        daemonSets[name] = podRequest
        advance()
    }

    /// A PodDisruptionBudget over one workload's pods.
    public func addDisruptionBudget(workload: String, maxUnavailable: Int) { budgets[workload] = maxUnavailable }

    public func setDemand(_ demand: TraceDemand) {
        advancedAt = nil
        changes += 1
        self.demand = demand
        demandStartedAt = clock.now
        advance()
    }

    /// Starts the cluster in its steady state: the pods placed now have been running for a while (a run begins
    /// on a live cluster, not on one whose every pod was just created).
    public func settleStartedPods() {
        advancedAt = nil
        changes += 1
        advance()
        let started = clock.now.advanced(by: .zero - podStartDelay)
        for reference in podOrder where podTable[reference]?.node != nil {
            podTable[reference]?.boundAt = started
            podTable[reference]?.createdAt = started
        }
        podWaits = WaitHistogram()
        scaleUpWaits = WaitHistogram()
    }

    public func setFailingEvictions(_ workloads: Set<String>) { failingEvictions = workloads }

    /// Binds a pod that no drain may move (a bare pod with no controller) to a node, for tests.
    public func pin(_ workload: Workload, to node: String) {
        advancedAt = nil
        changes += 1
        for _ in 0..<workload.replicas {
            let reference = KubePod.Reference(namespace: workload.namespace, name: "\(workload.name)-\(nextPod)")
            nextPod += 1
            podTable[reference] = Pod(
                reference: reference,
                owner: workload.name,
                requests: workload.podRequest,
                node: node,
                daemonSet: false,
                terminatingUntil: nil,
                unschedulable: false,
                boundAt: clock.now
            )
            podOrder.append(reference)
        }
    }

    /// Pods of a workload bound to a node and not terminating.
    public func runningPods(of workload: String) -> Int {
        advance()
        return podTable.values.filter { $0.owner == workload && $0.node != nil && $0.terminatingUntil == nil }.count
    }

    // MARK: KubeAPI

    public func nodes() async throws(KubeAPIError) -> [KubeNode] {
        advance()
        if let cache = nodesCache, cache.changes == changes { return cache.nodes }
        let listed = listNodes()
        nodesCache = (changes, listed)
        return listed
    }

    private func listNodes() -> [KubeNode] {
        let now = clock.now
        let unixNow = clock.timestamp
        return nodeNames.compactMap { nodeTable[$0] }.map { node in
            let ready = node.readyAt <= now && liveInstances.contains(node.instance.instanceID)
            return KubeNode(
                name: node.name,
                instanceID: nil,
                instanceType: node.instance.instanceType,
                availabilityZone: node.instance.availabilityZone,
                market: node.instance.market,
                unschedulable: node.unschedulable,
                ready: ready,
                readySince: ready ? unixNow - (now - node.readyAt) : nil,
                createdAt: node.createdAt,
                allocatable: allocatable(of: node.instance.instanceType),
                labels: [
                    instanceIDLabel: node.instance.instanceID,
                    "node.kubernetes.io/instance-type": node.instance.instanceType,
                ],
                internalIP: node.instance.privateIP,
                drainingUntil: node.drainingUntil
            )
        }
    }

    public func pods() async throws(KubeAPIError) -> [KubePod] {
        advance()
        if let cache = podsCache, cache.changes == changes { return cache.pods }
        let listed = podOrder.compactMap { podTable[$0] }.map(view)
        podsCache = (changes, listed)
        return listed
    }

    public func pods(onNode node: String) async throws(KubeAPIError) -> [KubePod] {
        advance()
        return podOrder.compactMap { podTable[$0] }.filter { $0.node == node }.map(view)
    }

    public func cordon(node: String) async throws(KubeAPIError) {
        advance()
        changes += 1
        guard nodeTable[node] != nil else { throw KubeAPIError(.failed, status: 404, "nodes \"\(node)\" not found") }
        nodeTable[node]?.unschedulable = true
    }

    public func markDraining(node: String, until: Timestamp) async throws(KubeAPIError) {
        try await cordon(node: node)
        nodeTable[node]?.drainingUntil = until
        changes += 1
    }

    public func evict(_ reference: KubePod.Reference) async throws(KubeAPIError) -> EvictionOutcome {
        advance()
        changes += 1
        guard let pod = podTable[reference] else { return .gone }
        if pod.terminatingUntil != nil { return .evicted }
        if failingEvictions.contains(pod.owner) {
            throw KubeAPIError(
                .failed,
                status: 500,
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
            )
        }
        if let maxUnavailable = budgets[pod.owner] {
            let disrupted = disruptedCount(of: pod.owner)
            guard disrupted + 1 <= maxUnavailable else {
                return .blockedByDisruptionBudget(
                    message: "Cannot evict pod as it would violate the pod's disruption budget."
                )
            }
        }
        podTable[reference]?.terminatingUntil = clock.now.advanced(by: terminationGrace)
        evictions.append(reference)
        // The controller replaces the pod at once; the replacement waits for the scheduler.
        if workloads[pod.owner] != nil { createPod(owner: pod.owner) }
        schedule()
        if budgets[pod.owner] != nil {
            maxDisrupted[pod.owner] = max(maxDisrupted[pod.owner] ?? 0, disruptedCount(of: pod.owner))
        }
        return .evicted
    }

    public func deleteNode(_ name: String) async throws(KubeAPIError) {
        advance()
        changes += 1
        guard let node = nodeTable.removeValue(forKey: name) else { return }
        nodeNames.removeAll { $0 == name }
        deletedNodes.insert(node.instance.instanceID)
        for reference in podOrder where podTable[reference]?.node == name { removePod(reference) }
        schedule()
    }

    // MARK: MetricsSource

    public func sample(at now: Timestamp) async throws(MetricsSourceError) -> MetricsSample {
        advance()
        let instant = clock.now
        let ready = nodeTable.values.filter { $0.readyAt <= instant && liveInstances.contains($0.instance.instanceID) }
        let capacity = ready.reduce(Resources.zero) { $0 + allocatable(of: $1.instance.instanceType) }
        let used = podTable.values.filter { $0.node != nil && $0.terminatingUntil == nil }.reduce(Resources.zero) {
            $0 + $1.requests
        }
        return MetricsSample(
            utilisation: Utilisation(
                cpu: capacity.cpuMillicores > 0
                    ? min(1, Double(used.cpuMillicores) / Double(capacity.cpuMillicores)) : 0,
                memory: capacity.memoryBytes > 0 ? min(1, Double(used.memoryBytes) / Double(capacity.memoryBytes)) : 0
            ),
            observedAt: now
        )
    }

    // MARK: The simulation

    private func allocatable(of type: String) -> Resources { allocatable[type] ?? defaultAllocatable }

    private func view(_ pod: Pod) -> KubePod {
        KubePod(
            reference: pod.reference,
            nodeName: pod.node,
            phase: pod.node == nil ? .pending : .running,
            unschedulable: pod.node == nil && pod.unschedulable,
            requests: pod.requests,
            isDaemonSetPod: pod.daemonSet,
            isTerminating: pod.terminatingUntil != nil
        )
    }

    /// A budgeted workload's pods that are not healthy: terminating, replacements not yet placed or not yet
    /// started (as a PodDisruptionBudget counts them: expected pods minus Ready ones).
    private func disruptedCount(of owner: String) -> Int {
        let now = clock.now
        let expected = workloads[owner]?.replicas ?? podTable.values.filter { $0.owner == owner }.count
        let healthy = podTable.values.filter {
            $0.owner == owner && $0.terminatingUntil == nil
                && ($0.boundAt.map { $0.advanced(by: podStartDelay) <= now } ?? false)
        }.count
        return max(0, expected - healthy)
    }

    /// Brings the cluster up to `clock.now`: nodes join and turn Ready, terminating pods go, demand sets replicas,
    /// DaemonSets cover every node, the scheduler places what fits.
    /// Calls made on the cluster so far: the simulator waits for it to stop moving before it steps the clock.
    public nonisolated var activity: Int { activityCounter.withLock { $0 } }
    private nonisolated let activityCounter = Mutex(0)

    private func advance() {
        activityCounter.withLock { $0 += 1 }
        let now = clock.now
        let cloudVersion = cloud.version
        if advancedAt == now && advancedCloudVersion == cloudVersion { return }
        // Nothing can have moved since the last full pass if no call changed the cluster, the cloud is at the same
        // version, no timed change (a pod's grace, a node turning Ready, a boot, a reclaim) has come due, and the
        // trace wants as many replicas as run: most instants the agents and policies look at are such.
        if advancedAt != nil && advancedCloudVersion == cloudVersion && changes == settledChanges
            && nextDue.map({ now < $0 }) ?? true && cloud.nextTimedChange().map({ now < $0 }) ?? true
            && (demand.map { workloads[$0.workload]?.replicas == replicasWanted($0, at: now) } ?? true)
        {
            advancedAt = now
            return
        }
        defer { settle(after: now) }
        advancedAt = now
        advancedCloudVersion = cloudVersion
        changes += 1
        let unixNow = clock.timestamp
        let listing = cloud.listing()
        liveInstances = Set(listing.map(\.instanceID))
        var joined = false
        for instance in listing where instance.state == .running && !deletedNodes.contains(instance.instanceID) {
            let name = "ip-\(instance.privateIP?.replacingDots ?? instance.instanceID)"
            guard nodeTable[name] == nil else { continue }
            joined = true
            nodeNames.append(name)
            let booted = cloud.bootTime(of: instance.instanceID) ?? now
            nodeTable[name] = Node(
                name: name,
                instance: instance,
                joinedAt: booted,
                createdAt: unixNow - (now - booted),
                readyAt: booted.advanced(by: instance.token == nil ? .zero : nodeReadyDelay)
            )
        }
        if joined { nodeNames.sort() }
        // A node whose instance is gone loses its pods (their controllers recreate them), in pod order.
        let lost = Set(nodeNames.filter { !liveInstances.contains(nodeTable[$0]?.instance.instanceID ?? "") })
        if !lost.isEmpty {
            for reference in podOrder {
                guard let pod = podTable[reference], let node = pod.node, lost.contains(node),
                    pod.terminatingUntil == nil
                else { continue }
                podTable[reference]?.terminatingUntil = now
                if workloads[pod.owner] != nil { createPod(owner: pod.owner) }
            }
        }
        let gone = Set(
            podOrder.filter { reference in podTable[reference]?.terminatingUntil.map { $0 <= now } ?? false }
        )
        removePods(gone)
        if let demand, let wanted = replicasWanted(demand, at: now), var workload = workloads[demand.workload] {
            workload.replicas = wanted
            workloads[demand.workload] = workload
        }
        var liveByOwner: [String: [KubePod.Reference]] = [:]
        var daemonPods: Set<String> = []
        for reference in podOrder {
            guard let pod = podTable[reference] else { continue }
            if pod.daemonSet, let node = pod.node { daemonPods.insert("\(pod.owner)/\(node)") }
            if pod.terminatingUntil == nil { liveByOwner[pod.owner, default: []].append(reference) }
        }
        for name in workloads.keys.sorted() {
            guard let workload = workloads[name] else { continue }
            let live = liveByOwner[name] ?? []
            if live.count < workload.replicas {
                for _ in live.count..<workload.replicas { createPod(owner: name) }
            } else if live.count > workload.replicas {
                // Scale down removes the unplaced pods first, then the newest.
                let surplus = live.count - workload.replicas
                let ordered =
                    live.filter { podTable[$0]?.node == nil } + live.filter { podTable[$0]?.node != nil }.reversed()
                removePods(Set(ordered.prefix(surplus)))
            }
        }
        for dsName in daemonSets.keys.sorted() {
            guard let request = daemonSets[dsName] else { continue }
            for node in nodeNames.compactMap({ nodeTable[$0] })
            where !daemonPods.contains("\(dsName)/\(node.name)") {
                let reference = KubePod.Reference(namespace: "kube-system", name: "\(dsName)-\(node.name)")
                podTable[reference] = Pod(
                    reference: reference,
                    owner: dsName,
                    requests: request,
                    node: node.name,
                    daemonSet: true,
                    terminatingUntil: nil,
                    unschedulable: false,
                    boundAt: now
                )
                podOrder.append(reference)
            }
        }
        schedule()
    }

    /// The replicas the trace asks for at `now` (an HPA's answer), or nil before the demand starts.
    private func replicasWanted(_ demand: TraceDemand, at now: FleetInstant) -> Int? {
        guard let started = demandStartedAt else { return nil }
        let minute = demand.startMinute + (now - started).minutes * demand.minutesPerSecond * 60
        return max(0, Int((demand.trace.requests(atMinute: minute) / demand.requestsPerPod).rounded(.up)))
    }

    /// After a full pass: the changes it saw, and the next instant something changes by itself (a terminating
    /// pod goes, a node turns Ready).
    private func settle(after now: FleetInstant) {
        settledChanges = changes
        var due: FleetInstant?
        for pod in podTable.values {
            if let until = pod.terminatingUntil, until > now, due.map({ until < $0 }) ?? true { due = until }
        }
        for node in nodeTable.values where node.readyAt > now && due.map({ node.readyAt < $0 }) ?? true {
            due = node.readyAt
        }
        nextDue = due
    }

    private func createPod(owner: String) {
        guard let workload = workloads[owner] else { return }
        let reference = KubePod.Reference(namespace: workload.namespace, name: "\(owner)-\(nextPod)")
        nextPod += 1
        podTable[reference] = Pod(
            reference: reference,
            owner: owner,
            requests: workload.podRequest,
            node: nil,
            daemonSet: false,
            terminatingUntil: nil,
            unschedulable: false,
            createdAt: clock.now
        )
        podOrder.append(reference)
    }

    private func removePod(_ reference: KubePod.Reference) {
        podTable[reference] = nil
        podOrder.removeAll { $0 == reference }
    }

    private func removePods(_ references: Set<KubePod.Reference>) {
        guard !references.isEmpty else { return }
        for reference in references { podTable[reference] = nil }
        podOrder.removeAll { references.contains($0) }
    }

    /// First fit, in node-name order, onto Ready and schedulable nodes.
    private func schedule() {
        let now = clock.now
        let candidates = nodeNames.compactMap { nodeTable[$0] }.filter {
            $0.readyAt <= now && !$0.unschedulable && liveInstances.contains($0.instance.instanceID)
        }
        var used: [String: Resources] = [:]
        var unplaced = false
        for pod in podTable.values {
            if let node = pod.node {
                used[node, default: .zero] = used[node, default: .zero] + pod.requests
            } else if pod.terminatingUntil == nil {
                unplaced = true
            }
        }
        guard unplaced else { return }
        var free: [String: Resources] = [:]
        for node in candidates {
            free[node.name] = allocatable(of: node.instance.instanceType) - (used[node.name] ?? .zero)
        }
        var roomless: Resources?  // The smallest request already found not to fit anywhere this pass.
        for reference in podOrder {
            guard let pod = podTable[reference], pod.node == nil, pod.terminatingUntil == nil else { continue }
            if let roomless, roomless.fits(in: pod.requests) {
                podTable[reference]?.unschedulable = true
                podTable[reference]?.waitedForRoom = true
                continue
            }
            if let node = candidates.first(where: { pod.requests.fits(in: free[$0.name] ?? .zero) }) {
                podTable[reference]?.node = node.name
                podTable[reference]?.boundAt = now
                podTable[reference]?.unschedulable = false
                free[node.name] = (free[node.name] ?? .zero) - pod.requests
                if !pod.daemonSet, let created = pod.createdAt {
                    let wait = now.advanced(by: podStartDelay) - created
                    podWaits.record(wait)
                    if pod.waitedForRoom { scaleUpWaits.record(wait) }
                }
            } else {
                podTable[reference]?.unschedulable = true
                podTable[reference]?.waitedForRoom = true
                roomless = pod.requests
            }
        }
    }
}

extension SimulatedCluster {
    /// The cluster at one instant, as the simulator's report counts it.
    public struct Measure: Sendable, Equatable {
        /// Pods the workloads want (their replicas).
        public var desiredPods: Int
        /// Workload pods bound to a node and not terminating (scheduled: starting or running).
        public var runningPods: Int
        /// Workload pods not bound to any node.
        public var pendingPods: Int
        public var readyNodes: Int
        /// CPU requested by the pods bound to Ready nodes (DaemonSets too), and those nodes' allocatable.
        public var requestedMillicores: Int
        public var allocatableMillicores: Int
        /// Requests a minute the trace asks of the cluster now (0 without trace demand).
        public var requestsPerMinute: Double
        /// Requests a minute one pod serves.
        public var requestsPerPod: Double
    }

    public func measure() -> Measure {
        advance()
        let now = clock.now
        var measure = Measure(
            desiredPods: workloads.values.reduce(0) { $0 + $1.replicas },
            runningPods: 0,
            pendingPods: 0,
            readyNodes: 0,
            requestedMillicores: 0,
            allocatableMillicores: 0,
            requestsPerMinute: 0,
            requestsPerPod: demand?.requestsPerPod ?? 1
        )
        var ready: Set<String> = []
        for node in nodeTable.values where node.readyAt <= now && liveInstances.contains(node.instance.instanceID) {
            ready.insert(node.name)
            measure.allocatableMillicores += allocatable(of: node.instance.instanceType).cpuMillicores
        }
        measure.readyNodes = ready.count
        for pod in podTable.values where pod.terminatingUntil == nil {
            if let node = pod.node {
                if ready.contains(node) { measure.requestedMillicores += pod.requests.cpuMillicores }
                if !pod.daemonSet { measure.runningPods += 1 }
            } else if !pod.daemonSet {
                measure.pendingPods += 1
            }
        }
        if let demand, let started = demandStartedAt {
            let minute = demand.startMinute + (now - started).minutes * demand.minutesPerSecond * 60
            measure.requestsPerMinute = demand.trace.requests(atMinute: minute)
        }
        return measure
    }
}

/// Waits counted in whole seconds up to two hours (longer ones in the last bucket): percentiles in constant
/// memory however many pods a run creates.
public struct WaitHistogram: Sendable, Equatable {
    private var buckets = [Int](repeating: 0, count: 7_201)
    public private(set) var count = 0

    public init() {}

    public mutating func record(_ wait: Duration) {
        let seconds = max(0, min(7_200, Int(wait.components.seconds)))
        buckets[seconds] += 1
        count += 1
    }

    public mutating func merge(_ other: WaitHistogram) {
        for index in buckets.indices { buckets[index] += other.buckets[index] }
        count += other.count
    }

    /// The smallest wait (seconds) at or above which a fraction `1 - p` of the waits lie; 0 when none.
    public func percentile(_ p: Double) -> Double {
        guard count > 0 else { return 0 }
        let rank = Int((p * Double(count)).rounded(.up))
        var seen = 0
        for (seconds, n) in buckets.enumerated() {
            seen += n
            if seen >= max(1, rank) { return Double(seconds) }
        }
        return 7_200
    }
}

extension String {
    fileprivate var replacingDots: String { split(separator: ".").joined(separator: "-") }
}

extension Duration {
    /// In minutes, as a floating-point number.
    fileprivate var minutes: Double {
        let (seconds, attoseconds) = components
        return (Double(seconds) + Double(attoseconds) / 1e18) / 60
    }
}
