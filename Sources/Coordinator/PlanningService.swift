import Clocks
import Cost
import Logging
import ServiceLifecycle

/// Runs the coordinator's planning round every `interval` until graceful shutdown, the first round one
/// interval after start (so reports have arrived).
public struct PlanningService: Service {
    private let coordinator: CoordinatorActor
    private let interval: Duration
    private let spotPrices: (any SpotPriceSource)?
    private let clock: any FleetClock
    private let logger: Logger

    /// - Parameter clock: the rounds' schedule (`SystemClock` in production; virtual time in the simulator).
    /// - Parameter spotPrices: refreshed before every round; nil plans with no spot prices (on-demand only).
    public init(
        coordinator: CoordinatorActor,
        interval: Duration,
        spotPrices: (any SpotPriceSource)? = nil,
        clock: any FleetClock,
        logger: Logger
    ) {
        self.coordinator = coordinator
        self.interval = interval
        self.spotPrices = spotPrices
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        let clock = self.clock
        var next = clock.now.advanced(by: interval)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let wakeUp = next
            do {
                try await cancelWhenGracefulShutdown {
                    try await clock.sleep(until: wakeUp, tolerance: nil)
                }
            } catch {
                return  // Shutdown or cancellation while waiting: stop planning.
            }
            let started = clock.now
            let spotPrices = self.spotPrices
            let plan = await coordinator.whenLocal { coordinator in
                if let spotPrices { await coordinator.refreshSpotPrices(from: spotPrices) }
                return coordinator.plan()
            }
            if let plan {
                logger.debug(
                    "planned",
                    metadata: [
                        "ballast.generation": "\(plan.generation)",
                        "clusters": "\(plan.clusters.count)",
                        "duration": "\(clock.now - started)",
                    ]
                )
            }
            next = next.advanced(by: interval)
            if next < clock.now { next = clock.now.advanced(by: interval) }  // Fell behind: skip, never burst.
        }
    }
}
