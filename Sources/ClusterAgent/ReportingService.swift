import Clocks
import Cost
import FleetAPI
import Logging
import ServiceLifecycle
import Wire
import WireFormat

/// Sends the cluster's report to every connected coordinator replica every `interval`, so followers stay as warm
/// as the leader. Remembers the highest fencing epoch the replicas acknowledge. A replica that fails is logged
/// once per change of state, not once per round.
public actor ReportingService: Service {
    private let system: WireActorSystem
    private let observer: any ClusterObserver
    private let interval: Duration
    private let clock: any FleetClock
    private let logger: Logger
    private var failing: Set<String> = []
    /// The highest epoch any replica has acknowledged.
    public private(set) var highestEpochSeen = FencingEpoch.none
    /// Reports delivered, for tests and metrics.
    public private(set) var delivered = 0

    /// - Parameter clock: the reporting schedule and the reports' timestamps (`SystemClock` in production).
    public init(
        system: WireActorSystem,
        observer: any ClusterObserver,
        interval: Duration,
        clock: any FleetClock,
        logger: Logger
    ) {
        self.system = system
        self.observer = observer
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        let clock = self.clock
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await reportOnce()
            do {
                let interval = self.interval
                try await cancelWhenGracefulShutdown {
                    try await clock.sleep(until: clock.now.advanced(by: interval), tolerance: nil)
                }
            } catch {
                return
            }
        }
    }

    /// Observes the cluster once and sends the report to every coordinator connected now.
    public func reportOnce() async {
        let report: AgentReport
        do {
            report = AgentReport(
                cluster: try await observer.observe(at: clock.timestamp),
                highestEpochSeen: highestEpochSeen
            )
        } catch {
            logger.warning("cannot observe the cluster", metadata: ["error": "\(error)"])
            return
        }
        for node in system.connectedPeers.sorted() {
            do {
                let coordinator = try $CoordinatorEndpoint.resolve(
                    id: WireActorSystem.wellKnownID(node: node, name: WireActorSystem.WellKnownName.coordinator),
                    using: system
                )
                let acknowledgement = try await coordinator.report(report)
                delivered += 1
                highestEpochSeen = max(highestEpochSeen, acknowledgement.epoch)
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
