import Clocks
import Cost
import FleetAPI
import Logging
import ServiceLifecycle

/// The agent on its own: when no leader has reached it for `autonomousAfter`, it may add on-demand nodes for the
/// cluster's pending pods, up to `maxNodes` for the whole time it is autonomous, and it never removes any. It
/// leaves the mode as soon as a leader reaches it again (an acknowledgement from a leader, or an accepted command).
///
/// Promises: it launches only while pods are pending and nothing it launched is still booting; its launches are
/// on-demand, of the type and in the zones the cluster's Ready nodes already use, tagged with a token of their own
/// (never one a leader could derive); every entry, exit and launch is logged with its reason.
public actor AutonomyService: Service {
    public struct Settings: Sendable {
        /// Silence from every leader after which the agent acts alone. Default 2 minutes.
        public var autonomousAfter: Duration
        /// How many nodes it may add while autonomous. Default 5.
        public var maxNodes: Int
        /// How often it looks. Default 10 s.
        public var checkInterval: Duration

        public init(
            autonomousAfter: Duration = .seconds(120),
            maxNodes: Int = 5,
            checkInterval: Duration = .seconds(10)
        ) {
            self.autonomousAfter = autonomousAfter
            self.maxNodes = maxNodes
            self.checkInterval = checkInterval
        }
    }

    private let settings: Settings
    private let clusterID: ClusterID
    private let kube: any KubeAPI
    private let cloud: any CloudProvider
    private let ledger: AgentLedger
    private let clock: any FleetClock
    private let logger: Logger
    private let startedAt: FleetInstant
    /// Whether the agent is autonomous now.
    public private(set) var isAutonomous = false
    /// Nodes launched in the current (or last) autonomous period.
    public private(set) var launchedWhileAutonomous = 0
    private var booting: Set<String> = []

    public init(
        settings: Settings,
        clusterID: ClusterID,
        kube: any KubeAPI,
        cloud: any CloudProvider,
        ledger: AgentLedger,
        clock: any FleetClock,
        logger: Logger
    ) {
        self.settings = settings
        self.clusterID = clusterID
        self.kube = kube
        self.cloud = cloud
        self.ledger = ledger
        self.clock = clock
        self.logger = logger
        self.startedAt = clock.now
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await check()
            do {
                try await cancelWhenGracefulShutdown { [clock, settings] in
                    try await clock.sleep(until: clock.now.advanced(by: settings.checkInterval), tolerance: nil)
                }
            } catch {
                return
            }
        }
    }

    /// Looks once: enters or leaves the mode, and while in it launches for pending pods if allowed.
    public func check() async {
        let now = clock.now
        let silence = now - (ledger.lastLeaderContact ?? startedAt)
        defer { AgentMetrics(cluster: clusterID).record(autonomous: isAutonomous) }
        if silence < settings.autonomousAfter {
            if isAutonomous {
                isAutonomous = false
                logger.notice(
                    "autonomous mode left: a leader reached the agent",
                    metadata: ["launched": "\(launchedWhileAutonomous)"]
                )
            }
            return
        }
        if !isAutonomous {
            isAutonomous = true
            launchedWhileAutonomous = 0
            booting = []
            logger.warning(
                "autonomous mode entered: no leader for \(silence); adding on-demand nodes for pending pods only, up to \(settings.maxNodes), removing none"
            )
        }
        do {
            try await launchForPendingPods()
        } catch {
            logger.warning("autonomous launch not made", metadata: ["error": "\(error)"])
        }
    }

    private func launchForPendingPods() async throws {
        let nodes = try await kube.nodes()
        let pods = try await kube.pods()
        let instances = try await cloud.instances()
        let map = NodeInstanceMap(nodes: nodes, instances: instances)
        // Wait for what was launched to join before judging whether pods still pend.
        let stillBooting = Set(map.instancesWithoutNode.map(\.instanceID)).intersection(booting)
        booting = stillBooting
        guard stillBooting.isEmpty else { return }
        let pending = pods.filter(\.isPendingUnschedulable)
        guard !pending.isEmpty else { return }
        let room = settings.maxNodes - launchedWhileAutonomous
        guard room > 0 else {
            logger.warning("autonomous cap reached; pods still pending", metadata: ["pending": "\(pending.count)"])
            return
        }
        let ready = nodes.filter { $0.ready && !$0.unschedulable && map.instanceByNode[$0.name] != nil }
        let types = Dictionary(grouping: ready, by: { map.instanceByNode[$0.name]!.instanceType })
        guard let (instanceType, sameType) = types.max(by: { $0.value.count < $1.value.count }),
            let allocatable = sameType.first?.allocatable, allocatable.cpuMillicores > 0, allocatable.memoryBytes > 0
        else {
            logger.warning("autonomous launch impossible: no Ready node to copy the type from")
            return
        }
        let total = pending.reduce(Resources.zero) { $0 + $1.requests }
        let needed = max(
            1,
            (total.cpuMillicores + allocatable.cpuMillicores - 1) / allocatable.cpuMillicores,
            (total.memoryBytes + allocatable.memoryBytes - 1) / allocatable.memoryBytes
        )
        let count = min(needed, room)
        // The least-used zone among the type's nodes.
        let zones = Dictionary(grouping: sameType, by: { map.instanceByNode[$0.name]!.availabilityZone })
        let zone = zones.min(by: {
            $0.value.count < $1.value.count || ($0.value.count == $1.value.count && $0.key < $1.key)
        })!.key
        let seconds = UInt64(max(0, clock.timestamp.millisecondsSinceEpoch / 1_000))
        // Epoch none: no leader's token can collide with it (leaders hold epochs from 1).
        let token = LaunchToken.derive(
            cluster: clusterID,
            epoch: .none,
            generation: seconds,
            slot: launchedWhileAutonomous
        )
        let launched = try await cloud.launch(
            InstanceLaunchRequest(
                instanceType: instanceType,
                market: .onDemand,
                availabilityZone: zone,
                count: count,
                token: token,
                generation: 0
            )
        )
        launchedWhileAutonomous += count
        booting.formUnion(launched.map(\.instanceID))
        ledger.recordLaunch(
            AgentLedger.Launch(
                token: token,
                instanceIDs: launched.map(\.instanceID),
                instanceType: instanceType,
                availabilityZone: zone,
                launchedAt: launched.map(\.launchedAt).min() ?? clock.timestamp
            )
        )
        logger.warning(
            "autonomous launch",
            metadata: [
                "count": "\(count)", "pool": "\(instanceType) on-demand \(zone)", "token": "\(token)",
                "reason": "\(pending.count) pods pending (\(total)) with no leader",
            ]
        )
    }
}
