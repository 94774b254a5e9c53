import Clocks
import Cost
import Distributed
import FleetAPI
import Logging
import Wire

/// The agent of one cluster as the coordinator leader sees it: it executes `launch`, `drain` and
/// `terminateOrphans`, and takes the interruption notices the leader routes (`acceptInterruption`), all fenced by
/// epoch.
/// Register it under `WireActorSystem.WellKnownName.agent`
/// (`system.withWellKnownName(WireActorSystem.WellKnownName.agent) { ClusterAgentActor(…) }`).
///
/// Promises:
/// - a command for another cluster is refused (`CommandRejectedError(.wrongCluster)`);
/// - a command whose epoch is lower than the highest seen is refused (`StaleEpochError`) and runs nothing; a higher
///   epoch is persisted before the command is acted on;
/// - a launch runs once per token: a repeated or concurrent command with the same token gets the first receipt
///   without a second cloud call (across restarts the cloud's ClientToken, and `recover()`, give the same);
/// - a launch the cloud refuses is answered with `LaunchFailedError` and reported as a `LaunchFailure` at once;
/// - a drain is answered once accepted; a node that is not a worker of this cluster, or maps to no instance, is
///   refused with `CommandRejectedError(.unknownNode)` and nothing is touched;
/// - a routed interruption notice is handled exactly as one from the agent's own queue (`InterruptionHandler`);
/// - an orphan termination terminates only instances that are orphans when it runs (booting, past
///   `maxNodeProvisionTime`, no node maps to them); any other is kept and named in the receipt with why.
public distributed actor ClusterAgentActor: ClusterAgentEndpoint {
    public typealias ActorSystem = WireActorSystem

    /// What the actor checks commands against.
    public struct Settings: Sendable {
        public var clusterID: ClusterID
        /// The most instances one launch command may ask for. Default 100.
        public var maxLaunchCount: Int
        /// The longest drain deadline a command may set (`drain-deadline`). Default 10 minutes.
        public var maxDrainDeadline: Duration
        /// An instance with no node this long after launch is an orphan; the same as the observer's
        /// (`PortsObserver.Settings.maxNodeProvisionTime`), so the agent terminates only what it reported. Default
        /// 15 minutes.
        public var maxNodeProvisionTime: Duration

        public init(
            clusterID: ClusterID,
            maxLaunchCount: Int = 100,
            maxDrainDeadline: Duration = .seconds(600),
            maxNodeProvisionTime: Duration = .seconds(900)
        ) {
            self.clusterID = clusterID
            self.maxLaunchCount = maxLaunchCount
            self.maxDrainDeadline = maxDrainDeadline
            self.maxNodeProvisionTime = maxNodeProvisionTime
        }
    }

    let settings: Settings
    let fence: EpochFence
    let ledger: AgentLedger
    let cloud: any CloudProvider
    let kube: any KubeAPI
    let drains: DrainService
    let clock: any FleetClock
    let trigger: ReportTrigger?
    let logger: Logger
    /// Acts on the interruption notices the leader routes, as on those of the agent's own queue.
    let interruptions: InterruptionHandler
    /// Launches under way, with the calls that joined one (the same token) waiting for its result. The cloud call
    /// runs in the task of the call that started it, so it runs wherever its caller runs (the simulator's
    /// executor, too).
    private var inFlight: [LaunchToken: [CheckedContinuation<[CloudInstance], any Error>]] = [:]

    public init(
        actorSystem: WireActorSystem,
        settings: Settings,
        fence: EpochFence,
        ledger: AgentLedger,
        cloud: any CloudProvider,
        kube: any KubeAPI,
        drains: DrainService,
        clock: any FleetClock,
        trigger: ReportTrigger?,
        logger: Logger,
        interruptions: InterruptionHandler? = nil
    ) {
        self.actorSystem = actorSystem
        self.settings = settings
        self.fence = fence
        self.ledger = ledger
        self.cloud = cloud
        self.kube = kube
        self.drains = drains
        self.clock = clock
        self.trigger = trigger
        self.logger = logger
        // Without the interruption service's own handler, one with the configuration's default policy.
        self.interruptions =
            interruptions
            ?? InterruptionHandler(
                kube: kube,
                cloud: cloud,
                drains: drains,
                ledger: ledger,
                trigger: trigger,
                rebalance: .replace,
                clock: clock,
                logger: logger,
                metrics: AgentMetrics(cluster: settings.clusterID)
            )
    }

    // MARK: ClusterAgentEndpoint

    public distributed func launch(_ command: LaunchCommand) async throws -> LaunchReceipt {
        try admit(command.cluster, command.stamp, what: "launch")
        guard command.count > 0, command.count <= settings.maxLaunchCount else {
            throw CommandRejectedError(
                .invalid,
                "a launch asks for 1 to \(settings.maxLaunchCount) instances, not \(command.count)"
            )
        }
        if let earlier = ledger.launch(for: command.token) {
            logger.info("launch repeated; answering with its first receipt", metadata: ["token": "\(command.token)"])
            return LaunchReceipt(token: command.token, instanceIDs: earlier.instanceIDs)
        }
        // Only the call that started the cloud call records and logs its result; one that joined it answers alike.
        let joined = inFlight[command.token] != nil
        let instances: [CloudInstance]
        do {
            if joined {
                instances = try await withCheckedThrowingContinuation {
                    inFlight[command.token, default: []].append($0)
                }
            } else {
                inFlight[command.token] = []
                let request = InstanceLaunchRequest(
                    instanceType: command.instanceType,
                    market: command.market,
                    availabilityZone: command.availabilityZone,
                    count: command.count,
                    token: command.token,
                    generation: command.stamp.generation
                )
                do {
                    instances = try await cloud.launch(request)
                } catch {
                    for waiter in inFlight.removeValue(forKey: command.token) ?? [] { waiter.resume(throwing: error) }
                    throw error
                }
            }
        } catch {
            if joined, let cloudError = error as? CloudError {
                throw LaunchFailedError(
                    code: cloudError.code.rawValue,
                    cloudCode: cloudError.cloudCode,
                    message: cloudError.message
                )
            }
            throw recordFailure(error, of: command)
        }
        if joined {
            return LaunchReceipt(token: command.token, instanceIDs: instances.map(\.instanceID))
        }
        let launch = AgentLedger.Launch(
            token: command.token,
            instanceIDs: instances.map(\.instanceID),
            instanceType: command.instanceType,
            availabilityZone: command.availabilityZone,
            launchedAt: instances.map(\.launchedAt).min() ?? clock.timestamp
        )
        ledger.recordLaunch(launch)
        // Cleared only once the ledger answers for the token, so no call in between launches it again.
        for waiter in inFlight.removeValue(forKey: command.token) ?? [] { waiter.resume(returning: instances) }
        logger.info(
            "launched",
            metadata: [
                "ballast.epoch": "\(command.stamp.epoch)", "ballast.generation": "\(command.stamp.generation)",
                "token": "\(command.token)",
                "pool": "\(command.instanceType) \(command.market) \(command.availabilityZone)",
                "instances": "\(launch.instanceIDs.joined(separator: ","))", "reason": "\(command.reason)",
            ]
        )
        return LaunchReceipt(token: command.token, instanceIDs: ledger.launch(for: command.token)?.instanceIDs ?? [])
    }

    public distributed func drain(_ command: DrainCommand) async throws -> DrainReceipt {
        try admit(command.cluster, command.stamp, what: "drain")
        guard command.deadlineSeconds > 0 else {
            throw CommandRejectedError(.invalid, "a drain needs a positive deadline, not \(command.deadlineSeconds) s")
        }
        let nodes: [KubeNode]
        let instances: [CloudInstance]
        do {
            nodes = try await kube.nodes()
            instances = try await cloud.instances()
        } catch {
            throw CommandRejectedError(.unavailable, "cannot look up node \(command.nodeName): \(error)")
        }
        guard nodes.contains(where: { $0.name == command.nodeName }) else {
            throw CommandRejectedError(
                .unknownNode,
                "\(command.nodeName) is not a node of cluster \(settings.clusterID)"
            )
        }
        guard let instance = NodeInstanceMap(nodes: nodes, instances: instances).instanceByNode[command.nodeName] else {
            throw CommandRejectedError(
                .unknownNode,
                "\(command.nodeName) maps to no instance of cluster \(settings.clusterID); it is not drained on a guess"
            )
        }
        let already = await drains.submit(
            DrainService.Request(
                nodeName: command.nodeName,
                instanceID: instance.instanceID,
                epoch: command.stamp.epoch,
                deadline: min(.seconds(command.deadlineSeconds), settings.maxDrainDeadline),
                reason: command.reason
            )
        )
        return DrainReceipt(nodeName: command.nodeName, alreadyDraining: already)
    }

    public distributed func terminateOrphans(
        _ command: TerminateOrphansCommand
    ) async throws -> OrphanTerminationReceipt {
        try admit(command.cluster, command.stamp, what: "terminate-orphans")
        guard !command.instanceIDs.isEmpty, command.instanceIDs.count <= settings.maxLaunchCount else {
            throw CommandRejectedError(
                .invalid,
                "a termination names 1 to \(settings.maxLaunchCount) instances, not \(command.instanceIDs.count)"
            )
        }
        let nodes: [KubeNode]
        let instances: [CloudInstance]
        do {
            nodes = try await kube.nodes()
            instances = try await cloud.instances()
        } catch {
            throw CommandRejectedError(.unavailable, "cannot look the orphans up again: \(error)")
        }
        // The leader saw two reports; the cluster may have moved since. Only what is an orphan now, by the same
        // rule the observer reports by, is terminated: an instance whose node appeared meanwhile is the planner's
        // (a node with pods leaves only through a drain).
        let map = NodeInstanceMap(nodes: nodes, instances: instances)
        let nodeByInstance = Dictionary(
            map.instanceByNode.map { ($0.value.instanceID, $0.key) },
            uniquingKeysWith: { first, _ in first }
        )
        let live = Dictionary(
            instances.filter { $0.state != .terminated }.map { ($0.instanceID, $0) },
            uniquingKeysWith: { first, _ in first }
        )
        let now = clock.timestamp
        var doomed: [CloudInstance] = []
        var gone: [String] = []
        var kept: [OrphanTerminationReceipt.Kept] = []
        for instanceID in Array(Set(command.instanceIDs)).sorted() {
            guard let instance = live[instanceID] else {
                gone.append(instanceID)
                continue
            }
            if let node = nodeByInstance[instanceID] {
                kept.append(.init(instanceID: instanceID, reason: "node \(node) runs on it now"))
            } else if instance.state != .pending && instance.state != .running {
                kept.append(.init(instanceID: instanceID, reason: "it is \(instance.state.rawValue), not booting"))
            } else if now - instance.launchedAt <= settings.maxNodeProvisionTime {
                kept.append(
                    .init(
                        instanceID: instanceID,
                        reason: "launched \(now - instance.launchedAt) ago, within provision time"
                    )
                )
            } else {
                doomed.append(instance)
            }
        }
        for keptOne in kept {
            logger.notice(
                "orphan kept: no longer an orphan",
                metadata: [
                    "instance": "\(keptOne.instanceID)", "reason": "\(keptOne.reason)",
                    "ballast.epoch": "\(command.stamp.epoch)",
                ]
            )
        }
        if !doomed.isEmpty {
            do {
                try await cloud.terminate(doomed.map(\.instanceID))
            } catch {
                throw CommandRejectedError(.unavailable, "the cloud did not terminate the orphans: \(error)")
            }
        }
        let metrics = AgentMetrics(cluster: settings.clusterID)
        for instance in doomed {
            metrics.orphanTerminated()
            logger.notice(
                "orphan terminated",
                metadata: [
                    "instance": "\(instance.instanceID)",
                    "pool": "\(instance.instanceType) \(instance.market) \(instance.availabilityZone)",
                    "age": "\(now - instance.launchedAt)",
                    "reason": "no Ready node within \(settings.maxNodeProvisionTime); \(command.reason)",
                    "ballast.epoch": "\(command.stamp.epoch)", "ballast.generation": "\(command.stamp.generation)",
                ]
            )
        }
        if !doomed.isEmpty { trigger?.fire() }
        return OrphanTerminationReceipt(terminated: doomed.map(\.instanceID), gone: gone, kept: kept)
    }

    public distributed func acceptInterruption(_ notice: RoutedInterruption) async throws -> RoutedInterruptionReceipt {
        try admit(notice.cluster, notice.stamp, what: "interruption")
        let event: InterruptionEvent
        switch notice.kind {
        case .spotInterruption:
            guard notice.instanceIDs.count == 1, let instanceID = notice.instanceIDs.first, let deadline = notice.time
            else {
                throw CommandRejectedError(.invalid, "a spot interruption names one instance and its deadline")
            }
            event = .spotInterruption(instanceID: instanceID, deadline: deadline)
        case .rebalanceRecommendation:
            guard notice.instanceIDs.count == 1, let instanceID = notice.instanceIDs.first else {
                throw CommandRejectedError(.invalid, "a rebalance recommendation names one instance")
            }
            event = .rebalanceRecommendation(instanceID: instanceID)
        case .stateChange:
            guard notice.instanceIDs.count == 1, let instanceID = notice.instanceIDs.first, let state = notice.state
            else {
                throw CommandRejectedError(.invalid, "a state change names one instance and its state")
            }
            event = .stateChange(instanceID: instanceID, state: state)
        case .scheduledChange:
            guard !notice.instanceIDs.isEmpty else {
                throw CommandRejectedError(.invalid, "a scheduled change names its instances")
            }
            event = .scheduledChange(instanceIDs: notice.instanceIDs, start: notice.time)
        }
        logger.info(
            "interruption notice routed by the leader",
            metadata: [
                "message": "\(notice.messageID)", "kind": "\(notice.kind.rawValue)",
                "instances": "\(notice.instanceIDs.joined(separator: ","))", "ballast.epoch": "\(notice.stamp.epoch)",
            ]
        )
        let handled: [String]
        do {
            handled = try await interruptions.handle(event, messageID: notice.messageID)
        } catch {
            throw CommandRejectedError(.unavailable, "the notice could not be handled now: \(error)")
        }
        return RoutedInterruptionReceipt(messageID: notice.messageID, handled: handled)
    }

    // MARK: Restart

    /// Rebuilds what the agent must know after a restart: instances tagged with a launch token are remembered under
    /// it (a resent launch answers with them), and every node our drain had marked (`ballast.io/draining-until`)
    /// and that is still cordoned has its drain resumed, with what is left of its deadline, as the agent's own.
    public func recover() async throws {
        let instances = try await cloud.instances()
        ledger.adopt(instances)
        let nodes = try await kube.nodes()
        let map = NodeInstanceMap(nodes: nodes, instances: instances)
        let now = clock.timestamp
        for node in nodes where node.unschedulable {
            guard let until = node.drainingUntil, let instance = map.instanceByNode[node.name] else { continue }
            _ = await drains.submit(
                DrainService.Request(
                    nodeName: node.name,
                    instanceID: instance.instanceID,
                    epoch: nil,
                    deadline: max(until - now, .zero),
                    reason: "resumed after the agent restarted"
                )
            )
        }
    }

    // MARK: Fencing

    private func admit(_ cluster: ClusterID, _ stamp: CommandStamp, what: String) throws {
        guard cluster == settings.clusterID else {
            throw CommandRejectedError(.wrongCluster, "this agent runs cluster \(settings.clusterID), not \(cluster)")
        }
        do {
            if try fence.admit(stamp.epoch) {
                logger.notice(
                    "new fencing epoch",
                    metadata: ["ballast.epoch": "\(stamp.epoch)", "leader": "\(stamp.leader)"]
                )
            }
        } catch let stale as StaleEpochError {
            logger.warning(
                "command refused: stale epoch",
                metadata: [
                    "command": "\(what)", "ballast.epoch": "\(stamp.epoch)", "highest": "\(stale.highestSeen)",
                    "leader": "\(stamp.leader)",
                ]
            )
            throw stale
        } catch {
            logger.error("command refused: epoch not persisted", metadata: ["error": "\(error)"])
            throw CommandRejectedError(.unavailable, "the agent cannot persist epoch \(stamp.epoch): \(error)")
        }
        ledger.leaderReached(at: clock.now)
    }

    private func recordFailure(_ error: any Error, of command: LaunchCommand) -> any Error {
        guard let cloudError = error as? CloudError else {
            return CommandRejectedError(.unavailable, "launch failed: \(error)")
        }
        if cloudError.code != .unavailable {
            ledger.recordFailure(
                LaunchFailure(
                    instanceType: command.instanceType,
                    market: command.market,
                    availabilityZone: command.availabilityZone,
                    failedAt: clock.timestamp,
                    reason: cloudError.cloudCode ?? cloudError.code.rawValue
                )
            )
            trigger?.fire()
        }
        AgentMetrics(cluster: command.cluster).launchFailed(
            instanceType: command.instanceType,
            zone: command.availabilityZone,
            market: command.market,
            reason: AgentMetrics.reason(cloudError)
        )
        logger.warning(
            "launch failed",
            metadata: [
                "token": "\(command.token)",
                "pool": "\(command.instanceType) \(command.market) \(command.availabilityZone)",
                "error": "\(cloudError)",
            ]
        )
        return LaunchFailedError(
            code: cloudError.code.rawValue,
            cloudCode: cloudError.cloudCode,
            message: cloudError.message
        )
    }
}
