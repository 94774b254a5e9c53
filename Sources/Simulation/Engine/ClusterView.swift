import Clocks
import ClusterAgent
import Cost

/// One look at a cluster as an autoscaler takes it each loop: its nodes with what their pods request, the workload
/// pods waiting for room, the instances launched that have no Ready node yet (what Cluster Autoscaler calls
/// upcoming nodes and Karpenter in-flight NodeClaims), and the drains under way. The baselines decide from this
/// alone, as the real autoscalers decide from their informers' cache.
struct ClusterView: Sendable {
    /// A node and the pods bound to it.
    struct Node: Sendable {
        var name: String
        var instanceID: String
        var instanceType: String
        var zone: String
        var market: Market
        var allocatable: Resources
        /// Requests of every pod bound to it and not terminating, DaemonSet pods included.
        var requested: Resources
        /// Requests of the workload pods (not DaemonSet, not terminating) a removal would have to move.
        var movable: [Resources]
        var ready: Bool
        /// Cordoned: the scheduler places nothing new on it.
        var cordoned: Bool
        /// A drain is accepted and not ended.
        var draining: Bool

        var free: Resources { allocatable - requested }
        /// No workload pod runs on it.
        var isEmpty: Bool { movable.isEmpty }
        /// Requests over allocatable in the tighter dimension (as Cluster Autoscaler counts utilisation).
        var utilisation: Double {
            max(
                Double(requested.cpuMillicores) / Double(max(1, allocatable.cpuMillicores)),
                Double(requested.memoryBytes) / Double(max(1, allocatable.memoryBytes))
            )
        }
        /// Takes new pods: Ready, not cordoned, not draining.
        var schedulable: Bool { ready && !cordoned && !draining }
    }

    var nodes: [Node]
    /// Requests of workload pods no node has room for.
    var pending: [Resources]
    /// The same pods by name, to tell a new one from one seen before.
    var pendingPods: Set<KubePod.Reference>
    /// Instances not terminated (pending ones too).
    var live: [CloudInstance]
    /// Live instances with no Ready node yet: capacity on its way.
    var upcoming: [CloudInstance]
    /// Nodes with a drain accepted and not ended.
    var draining: Set<String>

    /// Reads the cluster; nil when the API does not answer.
    static func look(at cluster: WorldCluster) async -> ClusterView? {
        guard let kubeNodes = try? await cluster.kube.nodes(), let pods = try? await cluster.kube.pods() else {
            return nil
        }
        let draining = await cluster.drains.draining
        let live = cluster.cloud.liveInstances()
        let byID = Dictionary(live.map { ($0.instanceID, $0) }, uniquingKeysWith: { first, _ in first })
        var requested: [String: Resources] = [:]
        var movable: [String: [Resources]] = [:]
        var pending: [Resources] = []
        var pendingPods: Set<KubePod.Reference> = []
        for pod in pods where !pod.isTerminating {
            if let node = pod.nodeName {
                requested[node, default: .zero] += pod.requests
                if !pod.isDaemonSetPod { movable[node, default: []].append(pod.requests) }
            } else if pod.phase == .pending && !pod.isDaemonSetPod {
                pending.append(pod.requests)
                pendingPods.insert(pod.reference)
            }
        }
        var nodes: [Node] = []
        var withReadyNode: Set<String> = []
        for node in kubeNodes {
            guard let instanceID = node.labels[instanceIDLabel], let instance = byID[instanceID] else { continue }
            if node.ready { withReadyNode.insert(instanceID) }
            nodes.append(
                Node(
                    name: node.name,
                    instanceID: instanceID,
                    instanceType: instance.instanceType,
                    zone: instance.availabilityZone,
                    market: instance.market,
                    allocatable: node.allocatable,
                    requested: requested[node.name] ?? .zero,
                    movable: movable[node.name] ?? [],
                    ready: node.ready,
                    cordoned: node.unschedulable,
                    draining: draining.contains(node.name)
                )
            )
        }
        return ClusterView(
            nodes: nodes,
            pending: pending,
            pendingPods: pendingPods,
            live: live,
            upcoming: live.filter { !withReadyNode.contains($0.instanceID) },
            draining: draining
        )
    }

    /// The pending pods that will not fit on the upcoming instances (first fit, largest first), each upcoming
    /// instance offering what one node of its type offers the workload.
    func pendingBeyondUpcoming(in cluster: WorldCluster) -> [Resources] {
        var free = upcoming.map { cluster.workloadRoom(of: $0.instanceType) }
        var left: [Resources] = []
        for pod in pending.sorted(by: Self.largerFirst) {
            if let index = free.firstIndex(where: { pod.fits(in: $0) }) {
                free[index] -= pod
            } else {
                left.append(pod)
            }
        }
        return left
    }

    /// Places `pods` (largest first) into the free room of the nodes named in `order`, first fit, taking the room
    /// they use; returns false, leaving `free` as it was, when one does not fit.
    static func place(_ pods: [Resources], into free: inout [String: Resources], order: [String]) -> Bool {
        var trial = free
        for pod in pods.sorted(by: largerFirst) {
            guard let node = order.first(where: { pod.fits(in: trial[$0] ?? .zero) }) else { return false }
            trial[node] = (trial[node] ?? .zero) - pod
        }
        free = trial
        return true
    }

    /// How many nodes of `room` a set of pods needs, packed first fit largest first (the binpacking estimate both
    /// autoscalers make for new nodes); 0 for no pods, and pods larger than a node are left out.
    static func nodesNeeded(for pods: [Resources], room: Resources) -> Int {
        var nodes: [Resources] = []
        for pod in pods.sorted(by: largerFirst) where pod.fits(in: room) {
            if let index = nodes.firstIndex(where: { pod.fits(in: $0) }) {
                nodes[index] -= pod
            } else {
                nodes.append(room - pod)
            }
        }
        return nodes.count
    }

    static func largerFirst(_ a: Resources, _ b: Resources) -> Bool {
        (a.cpuMillicores, a.memoryBytes) > (b.cpuMillicores, b.memoryBytes)
    }
}
