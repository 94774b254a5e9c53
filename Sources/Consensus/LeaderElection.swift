import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// What a `LeaderElection` tells its owner. `mustStopActing` is sent at the latest at the renew deadline of the
/// last confirmed renewal, even while a store call is still outstanding.
public enum LeaderElectionEvent: Hashable, Sendable {
    /// This participant now holds the lease: it may act, stamping every command with `epoch`.
    case becameLeader(FencingEpoch)
    /// Stop acting under `epoch` at once: the renew deadline passed, the lease was lost, or shutdown began.
    case mustStopActing(FencingEpoch, reason: String)
}

/// A participant's current right to act: the epoch to stamp commands with and the instant (on the
/// election's clock) after which it must not act even if it has not yet processed a `mustStopActing` event.
public struct LeaderTerm<Instant: InstantProtocol & Sendable>: Sendable {
    public var epoch: FencingEpoch
    public var validUntil: Instant

    /// True while `now` is before `validUntil`; check this right before every command.
    public func permitsActing(at now: Instant) -> Bool { now < validUntil }
}

/// Campaigns for a fleet's lease, renews it while leading, steps down when it cannot renew in time, and releases
/// it on graceful shutdown (a swift-service-lifecycle `Service`). It drives a `LeaseCampaign`: every store call
/// and timer runs as a child task whose result comes back as an event, so the deadline timer fires on time even
/// when a store call hangs.
public actor LeaderElection<C: Clock>: Service where C.Duration == Duration, C.Instant: Sendable {
    public struct Configuration: Sendable {
        /// The fleet whose lease this participant campaigns for (the store key).
        public var fleet: String
        /// This participant; its id must be unique per process incarnation (`LeaseHolder.unique`).
        public var holder: LeaseHolder
        public var timing: LeaseTiming

        public init(fleet: String, holder: LeaseHolder, timing: LeaseTiming = LeaseTiming()) {
            self.fleet = fleet
            self.holder = holder
            self.timing = timing
        }
    }

    private enum Input: Sendable {
        case timer(LeaseCampaign<C.Instant>.Timer, C.Instant)
        case read(LeaseCampaign<C.Instant>.OperationID, Result<LeaseRecord?, LeaseStoreError>, C.Instant)
        case write(LeaseCampaign<C.Instant>.OperationID, Result<LeaseWriteOutcome, LeaseStoreError>, C.Instant)
        case shutdown
    }

    public nonisolated let configuration: Configuration
    public nonisolated let store: any LeaseStore
    /// Leadership changes, in order. Finishes when `run()` returns.
    public nonisolated let events: AsyncStream<LeaderElectionEvent>
    private nonisolated let eventSink: AsyncStream<LeaderElectionEvent>.Continuation
    private nonisolated let clock: C
    private nonisolated let current: Mutex<LeaderTerm<C.Instant>?>
    private let logger: Logger
    private nonisolated let metrics: LeaseMetrics

    /// - Parameter metricsFactory: where the election's metrics go (see `LeaseMetrics` in docs/consensus.md);
    ///   nil: the process-wide `MetricsSystem.factory`.
    public init(
        store: any LeaseStore,
        configuration: Configuration,
        clock: C,
        logger: Logger,
        metricsFactory: (any MetricsFactory)? = nil
    )
        throws(LeaseConfigurationError)
    {
        try configuration.timing.validate()
        self.store = store
        self.configuration = configuration
        self.clock = clock
        self.current = Mutex(nil)
        self.metrics = LeaseMetrics(fleet: configuration.fleet, factory: metricsFactory ?? MetricsSystem.factory)
        (events, eventSink) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        var logger = logger
        logger[metadataKey: "ballast.fleet"] = "\(configuration.fleet)"
        logger[metadataKey: "ballast.holder"] = "\(configuration.holder.id)"
        self.logger = logger
    }

    /// The current leadership, or nil when this participant must not act. Readable from any context without
    /// waiting for the actor, so a command path can check it right before sending.
    public nonisolated var leadership: LeaderTerm<C.Instant>? { current.withLock { $0 } }

    /// The epoch to act under now, or nil when this participant must not act at this instant.
    public nonisolated func actingEpoch() -> FencingEpoch? {
        guard let leadership, leadership.permitsActing(at: clock.now) else { return nil }
        return leadership.epoch
    }

    /// Writes a piece of leader state only if `epoch` is still the lease's current epoch and this participant
    /// its holder (atomically in the store), so a deposed leader's write is refused.
    public nonisolated func writeState(
        key: String,
        value: String,
        epoch: FencingEpoch
    ) async throws(LeaseStoreError)
        -> FencedWriteOutcome
    {
        try await store.writeState(
            FencedStateItem(fleet: configuration.fleet, key: key, value: value, epoch: epoch),
            fencedBy: epoch,
            holder: configuration.holder.id
        )
    }

    /// Campaigns until graceful shutdown (then releases the lease) or cancellation (then just stops). Run it
    /// once: `events` finishes when it returns.
    public func run() async throws {
        let (inputs, input) = AsyncStream.makeStream(of: Input.self, bufferingPolicy: .unbounded)
        var machine = LeaseCampaign<C.Instant>(
            fleet: configuration.fleet,
            holder: configuration.holder,
            timing: configuration.timing
        )
        defer {
            if let leadership = current.withLock({ state in
                defer { state = nil }
                return state
            }) {
                eventSink.yield(.mustStopActing(leadership.epoch, reason: "election stopped"))
                metrics.leader.record(0)
            }
            eventSink.finish()
        }
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                perform(machine.start(now: clock.now), group: &group, input: input)
                for await event in inputs {
                    let actions: [LeaseCampaign<C.Instant>.Action]
                    switch event {
                    case .timer(let timer, let now): actions = machine.timerFired(timer, now: now)
                    case .read(let id, let result, let now): actions = machine.readCompleted(id, result, now: now)
                    case .write(let id, let result, let now): actions = machine.writeCompleted(id, result, now: now)
                    case .shutdown: actions = machine.shutdown(now: clock.now)
                    }
                    perform(actions, group: &group, input: input)
                    if machine.isFinished { break }
                }
                // Abandon outstanding timers and store calls; a late answer no longer matters.
                group.cancelAll()
            }
        } onGracefulShutdown: {
            input.yield(.shutdown)
        }
    }

    private func perform(
        _ actions: [LeaseCampaign<C.Instant>.Action],
        group: inout DiscardingTaskGroup,
        input: AsyncStream<Input>.Continuation
    ) {
        for action in actions {
            switch action {
            case .read(let id):
                let (store, clock, fleet, metrics) = (store, clock, configuration.fleet, metrics)
                group.addTask {
                    let start = clock.now
                    let result: Result<LeaseRecord?, LeaseStoreError>
                    do throws(LeaseStoreError) {
                        result = .success(try await store.read(fleet: fleet))
                    } catch {
                        result = .failure(error)
                    }
                    let now = clock.now
                    let outcome = if case .failure(let error) = result { error.code.rawValue } else { "ok" }
                    metrics.storeCall("read", outcome: outcome, took: start.duration(to: now))
                    input.yield(.read(id, result, now))
                }
            case .write(let id, let record, let replacing):
                let (store, clock, metrics) = (store, clock, metrics)
                group.addTask {
                    let start = clock.now
                    let result: Result<LeaseWriteOutcome, LeaseStoreError>
                    do throws(LeaseStoreError) {
                        result = .success(try await store.write(record, replacing: replacing))
                    } catch {
                        result = .failure(error)
                    }
                    let now = clock.now
                    let outcome =
                        switch result {
                        case .success(.written): "ok"
                        case .success(.versionMismatch): "version_mismatch"
                        case .failure(let error): error.code.rawValue
                        }
                    metrics.storeCall("write", outcome: outcome, took: start.duration(to: now))
                    input.yield(.write(id, result, now))
                }
            case .scheduleTimer(let timer, let instant):
                let clock = clock
                group.addTask {
                    // The machine ignores a fire it sees before the armed instant (it takes it for a stale one),
                    // so a sleep that returns even a little early must not be delivered: it would leave the
                    // campaign with no timer armed.
                    var now = clock.now
                    while now < instant {
                        do { try await clock.sleep(until: instant, tolerance: nil) } catch { return }
                        now = clock.now
                    }
                    input.yield(.timer(timer, now))
                }
            case .becomeLeader(let epoch, let validUntil):
                current.withLock { $0 = LeaderTerm(epoch: epoch, validUntil: validUntil) }
                metrics.ledAs(epoch)
                logger.info("became leader", metadata: ["ballast.epoch": "\(epoch)"])
                eventSink.yield(.becameLeader(epoch))
            case .extendLeadership(let epoch, let validUntil):
                current.withLock { $0 = LeaderTerm(epoch: epoch, validUntil: validUntil) }
                logger.trace("renewed lease", metadata: ["ballast.epoch": "\(epoch)"])
            case .stepDown(let epoch, let reason):
                // Withdraw the right to act before telling anyone, so no command slips out after this point.
                current.withLock { $0 = nil }
                let why = Self.describe(reason)
                metrics.steppedDown(reason: Self.metricReason(reason))
                logger.notice("stepping down", metadata: ["ballast.epoch": "\(epoch)", "reason": "\(why)"])
                eventSink.yield(.mustStopActing(epoch, reason: why))
            case .finished:
                logger.info("left the election")
            }
        }
    }

    private static func metricReason(_ reason: LeaseCampaign<C.Instant>.StepDownReason) -> String {
        switch reason {
        case .renewDeadlinePassed: "renew_deadline"
        case .leaseLost: "lease_lost"
        case .shutdown: "shutdown"
        }
    }

    private static func describe(_ reason: LeaseCampaign<C.Instant>.StepDownReason) -> String {
        switch reason {
        case .renewDeadlinePassed: "renew deadline passed"
        case .leaseLost(let holder): "lease taken by \(holder.map { $0.id } ?? "nobody (released)")"
        case .shutdown: "shutdown"
        }
    }
}
