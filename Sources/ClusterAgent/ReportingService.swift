import Clocks
import Cost
import FleetAPI
import Logging
import ServiceLifecycle
import Wire
import WireFormat

/// Sends the cluster's report to every connected coordinator replica every `interval`, and at once when its
/// `ReportTrigger` fires (`reportNow()`), so followers stay as warm as the leader. Remembers the highest fencing
/// epoch the replicas acknowledge (persisted through the agent's `EpochFence` when it has one) and tells the
/// agent's ledger when a leader answered. A replica that fails is logged once per change of state, not once per
/// round.
public actor ReportingService: Service {
    private let system: WireActorSystem
    private let observer: any ClusterObserver
    private let interval: Duration
    private let clock: any FleetClock
    private let logger: Logger
    private let trigger: ReportTrigger
    private let fence: EpochFence?
    private let ledger: AgentLedger?
    private var failing: Set<String> = []
    /// The highest epoch any replica has acknowledged.
    public private(set) var highestEpochSeen = FencingEpoch.none
    /// Reports delivered, for tests and metrics.
    public private(set) var delivered = 0

    /// - Parameter clock: the reporting schedule and the reports' timestamps (`SystemClock` in production).
    /// - Parameter trigger: fired by the agent's parts on a change that matters; a report goes out at once.
    /// - Parameter fence: where acknowledged epochs are kept (the agent's); nil for an observer-only agent.
    /// - Parameter ledger: told when a leader acknowledges a report (the end of autonomy).
    public init(
        system: WireActorSystem,
        observer: any ClusterObserver,
        interval: Duration,
        clock: any FleetClock,
        logger: Logger,
        trigger: ReportTrigger = ReportTrigger(),
        fence: EpochFence? = nil,
        ledger: AgentLedger? = nil
    ) {
        self.system = system
        self.observer = observer
        self.interval = interval
        self.clock = clock
        self.logger = logger
        self.trigger = trigger
        self.fence = fence
        self.ledger = ledger
        if let fence { highestEpochSeen = fence.highestSeen }
    }

    /// Sends a report now, outside the schedule.
    public nonisolated func reportNow() { trigger.fire() }

    public func run() async throws {
        let clock = self.clock
        let interval = self.interval
        let trigger = self.trigger
        await withDiscardingTaskGroup { group in
            // The schedule is one more reason to report; a report asked for meanwhile coalesces with it.
            group.addTask {
                while !Task.isCancelled {
                    trigger.fire()
                    do {
                        try await clock.sleep(until: clock.now.advanced(by: interval), tolerance: nil)
                    } catch {
                        return
                    }
                }
            }
            await cancelWhenGracefulShutdown {
                for await _ in trigger.requests {
                    await self.reportOnce()
                }
            }
            group.cancelAll()
        }
    }

    /// Observes the cluster once and sends the report to every coordinator connected now.
    public func reportOnce() async {
        let report: AgentReport
        do {
            report = AgentReport(
                cluster: try await observer.observe(at: clock.timestamp),
                highestEpochSeen: max(highestEpochSeen, fence?.highestSeen ?? .none)
            )
        } catch {
            logger.warning("cannot observe the cluster", metadata: ["error": "\(error)"])
            return
        }
        let coordinators = system.connectedPeers(role: .coordinator).sorted()
        AgentMetrics(cluster: report.cluster.clusterID).record(connectedCoordinators: coordinators.count)
        for node in coordinators {
            do {
                let coordinator = try $CoordinatorEndpoint.resolve(
                    id: WireActorSystem.wellKnownID(node: node, name: WireActorSystem.WellKnownName.coordinator),
                    using: system
                )
                let acknowledgement = try await coordinator.report(report)
                delivered += 1
                highestEpochSeen = max(highestEpochSeen, acknowledgement.epoch)
                if let fence {
                    do {
                        try fence.observe(acknowledgement.epoch)
                    } catch {
                        logger.error("cannot persist an acknowledged epoch", metadata: ["error": "\(error)"])
                    }
                }
                if acknowledgement.isLeader { ledger?.leaderReached(at: clock.now) }
                if failing.remove(node) != nil {
                    logger.notice("reports reach the coordinator again", metadata: ["ballast.peer": "\(node)"])
                }
            } catch {
                if failing.insert(node).inserted {
                    logger.warning("report not delivered", metadata: ["ballast.peer": "\(node)", "error": "\(error)"])
                }
            }
        }
    }
}
