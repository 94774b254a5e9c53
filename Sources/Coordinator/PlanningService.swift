import Clocks
import Consensus
import Cost
import Logging
import ServiceLifecycle

/// Runs the leader's round (plan, then command) every `interval` until graceful shutdown, the first one interval
/// after start (so reports have arrived), and at once when this replica becomes leader (hot standby: its registry
/// is already warm). On a follower a round does nothing but refresh spot prices.
public struct PlanningService: Service {
    private let coordinator: CoordinatorActor
    private let interval: Duration
    private let spotPrices: (any SpotPriceSource)?
    private let leadershipEvents: AsyncStream<LeaderElectionEvent>?
    private let roundRequests: AsyncStream<Void>?
    private let clock: any FleetClock
    private let logger: Logger

    /// - Parameter clock: the rounds' schedule (`SystemClock` in production; virtual time in the simulator).
    /// - Parameter spotPrices: refreshed before every round; nil plans with no spot prices (on-demand only).
    /// - Parameter leadershipEvents: the election's events (`LeaderElection.events`); a round runs at once on
    ///   `becameLeader`. Nil: rounds on the schedule only.
    /// - Parameter roundRequests: asks for a round now (`makeRoundRequests()`: the coordinator asks when a report
    ///   that matters arrives); requests made while a round runs are folded into one.
    public init(
        coordinator: CoordinatorActor,
        interval: Duration,
        spotPrices: (any SpotPriceSource)? = nil,
        leadershipEvents: AsyncStream<LeaderElectionEvent>? = nil,
        roundRequests: AsyncStream<Void>? = nil,
        clock: any FleetClock,
        logger: Logger
    ) {
        self.roundRequests = roundRequests
        self.coordinator = coordinator
        self.interval = interval
        self.spotPrices = spotPrices
        self.leadershipEvents = leadershipEvents
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                if let events = leadershipEvents {
                    group.addTask {
                        for await event in events {
                            switch event {
                            case .becameLeader(let epoch):
                                logger.notice("leading: planning at once", metadata: ["ballast.epoch": "\(epoch)"])
                                await round()
                            case .mustStopActing(let epoch, let reason):
                                logger.notice(
                                    "stopped leading: no more commands",
                                    metadata: ["ballast.epoch": "\(epoch)", "reason": "\(reason)"]
                                )
                            }
                        }
                    }
                }
                if let requests = roundRequests {
                    group.addTask {
                        for await _ in requests { await round() }
                    }
                }
                group.addTask { await schedule() }
            }
        }
    }

    /// A stream of round requests and the function that makes one; at most one request waits, so a burst of
    /// reports costs one extra round.
    public static func makeRoundRequests() -> (requests: AsyncStream<Void>, request: @Sendable () -> Void) {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        return (stream, { continuation.yield() })
    }

    private func schedule() async {
        var next = clock.now.advanced(by: interval)
        while !Task.isCancelled {
            do {
                try await clock.sleep(until: next, tolerance: nil)
            } catch {
                return  // Shutdown or cancellation while waiting: stop planning.
            }
            await round()
            next = next.advanced(by: interval)
            if next < clock.now { next = clock.now.advanced(by: interval) }  // Fell behind: skip, never burst.
        }
    }

    private func round() async {
        let started = clock.now
        let spotPrices = self.spotPrices
        let plan = await coordinator.whenLocal { coordinator in
            if let spotPrices { await coordinator.refreshSpotPrices(from: spotPrices) }
            return await coordinator.planAndCommand()
        }
        if let plan = plan ?? nil {
            logger.debug(
                "planned",
                metadata: [
                    "ballast.generation": "\(plan.generation)",
                    "clusters": "\(plan.clusters.count)",
                    "duration": "\(clock.now - started)",
                ]
            )
        }
    }
}
