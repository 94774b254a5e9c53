import BallastConfig
import Clocks
import Cost
import Logging
import ServiceLifecycle

/// What the agent does with a rebalance recommendation.
public enum RebalancePolicy: String, Sendable, Hashable, ConfigChoice {
    /// Log it and nothing else.
    case ignore
    /// Report it as a notice, so the leader launches a replacement and later drains the node (the agent does not
    /// drain on a recommendation itself).
    case replace
}

/// Acts on one interruption notice for the cluster, whichever queue it came from (the agent's own, or the
/// account-wide one the leader routes from): a spot interruption warning for one of the cluster's instances drains
/// its node at once (deadline: the warning's), records an interruption notice and asks for a report at once; a
/// rebalance recommendation follows the `RebalancePolicy`; a state change to stopping, shutting-down or terminated
/// asks for a report (a node is being lost); a scheduled change is logged and reported.
///
/// Promise: a notice for an instance that is not the cluster's changes nothing.
public struct InterruptionHandler: Sendable {
    let kube: any KubeAPI
    let cloud: any CloudProvider
    let drains: DrainService
    let ledger: AgentLedger
    let trigger: ReportTrigger?
    let rebalance: RebalancePolicy
    let clock: any FleetClock
    let logger: Logger
    /// Counts the notices for the cluster's instances (`ballast_interruptions_total`).
    let metrics: AgentMetrics?

    public init(
        kube: any KubeAPI,
        cloud: any CloudProvider,
        drains: DrainService,
        ledger: AgentLedger,
        trigger: ReportTrigger?,
        rebalance: RebalancePolicy,
        clock: any FleetClock,
        logger: Logger,
        metrics: AgentMetrics? = nil
    ) {
        self.kube = kube
        self.cloud = cloud
        self.drains = drains
        self.ledger = ledger
        self.trigger = trigger
        self.rebalance = rebalance
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
    }

    /// Acts on `event`, from the message `messageID`. Returns the instances it acted on (none for an unreadable
    /// event, or a warning or recommendation about another cluster's instance). Throws when a port fails: the
    /// message is then left on its queue, to come again.
    @discardableResult
    public func handle(_ event: InterruptionEvent, messageID: String) async throws -> [String] {
        switch event {
        case .spotInterruption(let instanceID, let deadline):
            guard let (node, instance) = try await locate(instanceID) else { return [] }
            metrics?.interruption(kind: "spot_interruption")
            let now = clock.timestamp
            ledger.recordNotice(
                InterruptionNotice(
                    kind: .interruption,
                    nodeName: node ?? instance.instanceID,
                    instanceType: instance.instanceType,
                    availabilityZone: instance.availabilityZone,
                    receivedAt: now
                )
            )
            if let node {
                let already = await drains.submit(
                    DrainService.Request(
                        nodeName: node,
                        instanceID: instanceID,
                        epoch: nil,
                        deadline: max(deadline - now, .seconds(1)),
                        reason: "spot interruption warning (message \(messageID))",
                        urgent: true
                    )
                )
                logger.notice(
                    "spot interruption: draining",
                    metadata: ["node": "\(node)", "instance": "\(instanceID)", "alreadyDraining": "\(already)"]
                )
            } else {
                logger.notice(
                    "spot interruption of an instance with no node yet",
                    metadata: ["instance": "\(instanceID)"]
                )
            }
            trigger?.fire()
            return [instanceID]
        case .rebalanceRecommendation(let instanceID):
            guard rebalance == .replace else {
                logger.info("rebalance recommendation ignored (policy)", metadata: ["instance": "\(instanceID)"])
                return [instanceID]
            }
            guard let (node, instance) = try await locate(instanceID) else { return [] }
            metrics?.interruption(kind: "rebalance")
            ledger.recordNotice(
                InterruptionNotice(
                    kind: .rebalanceRecommendation,
                    nodeName: node ?? instance.instanceID,
                    instanceType: instance.instanceType,
                    availabilityZone: instance.availabilityZone,
                    receivedAt: clock.timestamp
                )
            )
            logger.notice("rebalance recommendation reported for replacement", metadata: ["instance": "\(instanceID)"])
            trigger?.fire()
            return [instanceID]
        case .stateChange(let instanceID, let state):
            if ["stopping", "stopped", "shutting-down", "terminated"].contains(state) {
                logger.info("instance state change", metadata: ["instance": "\(instanceID)", "state": "\(state)"])
                trigger?.fire()
            }
            return [instanceID]
        case .scheduledChange(let instanceIDs, let start):
            metrics?.interruption(kind: "scheduled_change")
            logger.notice(
                "scheduled change announced",
                metadata: [
                    "instances": "\(instanceIDs.joined(separator: ","))",
                    "start": "\(start.map { "\($0)" } ?? "unknown")",
                ]
            )
            trigger?.fire()
            return instanceIDs
        case .unreadable:
            return []
        }
    }

    /// The node (if any) and instance of one of this cluster's instances; nil for an instance not ours.
    private func locate(_ instanceID: String) async throws -> (String?, CloudInstance)? {
        let instances = try await cloud.instances()
        guard let instance = instances.first(where: { $0.instanceID == instanceID }) else {
            logger.debug("interruption for an instance of another cluster", metadata: ["instance": "\(instanceID)"])
            return nil
        }
        let nodes = try await kube.nodes()
        let map = NodeInstanceMap(nodes: nodes, instances: instances)
        let node = map.instanceByNode.first(where: { $0.value.instanceID == instanceID })?.key
        return (node, instance)
    }
}

/// Reads the interruption queue and acts on each message through its `InterruptionHandler`.
///
/// Promises: a message is acknowledged only after it is handled (a failure leaves it on the queue for redelivery);
/// an unreadable message is logged with its id and never acknowledged (the queue's redrive policy keeps it).
public struct InterruptionService: Service {
    let source: any InterruptionSource
    /// What acts on each message; the agent actor acts on notices the leader routes with the same one.
    public let handler: InterruptionHandler
    let clock: any FleetClock
    let logger: Logger
    /// Wait after the source fails before asking again. Default 5 s.
    let retryDelay: Duration

    public init(
        source: any InterruptionSource,
        kube: any KubeAPI,
        cloud: any CloudProvider,
        drains: DrainService,
        ledger: AgentLedger,
        trigger: ReportTrigger?,
        rebalance: RebalancePolicy,
        clock: any FleetClock,
        logger: Logger,
        retryDelay: Duration = .seconds(5),
        metrics: AgentMetrics? = nil
    ) {
        self.init(
            source: source,
            handler: InterruptionHandler(
                kube: kube,
                cloud: cloud,
                drains: drains,
                ledger: ledger,
                trigger: trigger,
                rebalance: rebalance,
                clock: clock,
                logger: logger,
                metrics: metrics
            ),
            clock: clock,
            logger: logger,
            retryDelay: retryDelay
        )
    }

    public init(
        source: any InterruptionSource,
        handler: InterruptionHandler,
        clock: any FleetClock,
        logger: Logger,
        retryDelay: Duration = .seconds(5)
    ) {
        self.source = source
        self.handler = handler
        self.clock = clock
        self.logger = logger
        self.retryDelay = retryDelay
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let messages = try await cancelWhenGracefulShutdown { try await source.receive() }
                for message in messages { await handleAndAcknowledge(message) }
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                logger.warning("interruption queue unreadable; retrying", metadata: ["error": "\(error)"])
                do {
                    try await cancelWhenGracefulShutdown { [clock, retryDelay] in
                        try await clock.sleep(until: clock.now.advanced(by: retryDelay), tolerance: nil)
                    }
                } catch {
                    return
                }
            }
        }
    }

    /// Handles one message and, if that succeeded, acknowledges it.
    public func handleAndAcknowledge(_ message: InterruptionMessage) async {
        if case .unreadable(let reason) = message.event {
            logger.error(
                "interruption message unreadable; left on the queue for its redrive policy",
                metadata: ["message": "\(message.id)", "reason": "\(reason)"]
            )
            return
        }
        do {
            try await handler.handle(message.event, messageID: message.id)
        } catch {
            logger.warning(
                "interruption message not handled; left on the queue",
                metadata: ["message": "\(message.id)", "error": "\(error)"]
            )
            return
        }
        do {
            try await source.acknowledge(message)
        } catch {
            logger.warning(
                "interruption message not acknowledged",
                metadata: ["message": "\(message.id)", "error": "\(error)"]
            )
        }
    }
}
