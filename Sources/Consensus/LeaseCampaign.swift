/// The campaign/renew/release logic of one participant as a value-type state machine: it takes events (start,
/// timer fired, read and write results, shutdown), each stamped with the participant's monotonic `now`, and
/// returns the actions to perform. It never reads a clock and performs no I/O, so it runs in virtual time.
///
/// Promise: `becomeLeader`/`extendLeadership` carry `validUntil` = start of the last confirmed write +
/// `renewDeadline`; a `.deadline` timer is always armed at that instant, and when it fires without a newer
/// confirmed renewal the machine emits `stepDown` — whatever store call is still outstanding.
public struct LeaseCampaign<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// Identifies one store call, so late answers to abandoned calls are ignored.
    public struct OperationID: Hashable, Sendable, CustomStringConvertible {
        public var rawValue: UInt64
        public var description: String { "op\(rawValue)" }
    }

    /// The timers the machine arms. Arming a timer again replaces the earlier instant; a fire before the armed
    /// instant, or of a timer not armed, is ignored, so drivers may deliver stale fires freely; they must never
    /// deliver a fire before its instant (a sleep that ends early must sleep again), or the fire is lost and the
    /// campaign waits for an event that never comes.
    public enum Timer: Hashable, Sendable {
        /// Candidate: read the record again. Releasing: retry.
        case poll
        /// Leader: write the next renewal (or verify an ambiguous one).
        case renew
        /// Leader: the instant it must stop acting unless a later renewal was confirmed.
        case deadline
        /// The outstanding store call took too long.
        case operationTimeout
    }

    public enum StepDownReason: Hashable, Sendable {
        /// No renewal was confirmed within renewDeadline of the last confirmed renewal's start.
        case renewDeadlinePassed
        /// The record shows a write that is not ours: someone else holds the lease.
        case leaseLost(newHolder: LeaseHolder?)
        /// Graceful shutdown: stop acting, then release.
        case shutdown
    }

    public enum Action: Sendable {
        case read(OperationID)
        case write(OperationID, LeaseRecord, replacing: RecordVersion?)
        case becomeLeader(FencingEpoch, validUntil: Instant)
        case extendLeadership(FencingEpoch, validUntil: Instant)
        case stepDown(FencingEpoch, StepDownReason)
        case scheduleTimer(Timer, at: Instant)
        /// Shut down completed (released if possible); nothing more will be asked.
        case finished
    }

    private enum Operation: Sendable {
        case read
        case write(LeaseRecord)
    }

    private struct InFlight: Sendable {
        var id: OperationID
        var operation: Operation
    }

    private struct Observation: Sendable {
        var version: RecordVersion
        var since: Instant
    }

    private struct Candidate: Sendable {
        /// The version of a record held by someone else, and when we first saw it.
        var observed: Observation?
        /// An acquire write whose outcome is unknown (it timed out or failed ambiguously), with its start.
        var pendingAcquire: (record: LeaseRecord, start: Instant)?
    }

    private struct Leader: Sendable {
        /// The last record we know to be stored.
        var record: LeaseRecord
        /// When the write that stored `record` was sent.
        var confirmedStart: Instant
        /// Renewals sent since, by version, with the instant each was sent.
        var attempts: [RecordVersion: Instant]
        /// After an ambiguous answer, the next store call is a read.
        var mustVerify: Bool
    }

    private struct Releasing: Sendable {
        var epoch: FencingEpoch
        /// Versions that, if stored, were written by us (so we may release them).
        var ourVersions: Set<RecordVersion>
        var triesLeft: Int
    }

    private enum State: Sendable {
        case idle
        case candidate(Candidate)
        case leader(Leader)
        case releasing(Releasing)
        case finished
    }

    public let fleet: String
    public let holder: LeaseHolder
    public let timing: LeaseTiming
    private var state: State = .idle
    private var inFlight: InFlight?
    private var armed: [Timer: Instant] = [:]
    private var nextOperation: UInt64 = 1
    /// The highest epoch this participant has seen in the store, so that a record deleted by hand is never
    /// recreated with an epoch it already saw handed out.
    private var highestEpochSeen = FencingEpoch(0)

    /// How many read-then-release rounds a graceful shutdown tries before giving up (the lease then expires).
    static var releaseTries: Int { 3 }

    public init(fleet: String, holder: LeaseHolder, timing: LeaseTiming) {
        self.fleet = fleet
        self.holder = holder
        self.timing = timing
    }

    /// The epoch and the instant until which this participant may act, when it is the leader.
    public var leadership: (epoch: FencingEpoch, validUntil: Instant)? {
        guard case .leader(let leader) = state else { return nil }
        return (leader.record.epoch, leader.confirmedStart.advanced(by: timing.renewDeadline))
    }

    public var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }

    // MARK: Events

    public mutating func start(now: Instant) -> [Action] {
        guard case .idle = state else { return [] }
        state = .candidate(Candidate())
        return startRead(now: now)
    }

    public mutating func timerFired(_ timer: Timer, now: Instant) -> [Action] {
        guard let due = armed[timer], now >= due else { return [] }
        armed[timer] = nil
        switch timer {
        case .operationTimeout:
            guard let flight = inFlight else { return [] }
            let error = LeaseStoreError(
                .timedOut,
                context: "lease of fleet \(fleet)",
                message: "no answer within \(timing.operationTimeout)"
            )
            switch flight.operation {
            case .read: return readCompleted(flight.id, .failure(error), now: now)
            case .write: return writeCompleted(flight.id, .failure(error), now: now)
            }
        case .poll:
            switch state {
            case .candidate, .releasing:
                return inFlight == nil ? startRead(now: now) : []
            case .idle, .leader, .finished:
                return []
            }
        case .renew:
            guard case .leader(var leader) = state, inFlight == nil else { return [] }
            if leader.mustVerify { return startRead(now: now) }
            var next = leader.record
            next.version = .random()
            next.holder = holder
            next.leaseDuration = timing.leaseDuration
            leader.attempts[next.version] = now
            let replacing = leader.record.version
            state = .leader(leader)
            return startWrite(next, replacing: replacing, now: now)
        case .deadline:
            guard case .leader(let leader) = state else { return [] }
            guard now >= leader.confirmedStart.advanced(by: timing.renewDeadline) else { return [] }
            // Abandon whatever call is outstanding: a late answer cannot make us leader again under this epoch.
            cancelInFlight()
            state = .candidate(Candidate())
            return [
                .stepDown(leader.record.epoch, .renewDeadlinePassed),
                arm(.poll, at: now.advanced(by: timing.pollInterval)),
            ]
        }
    }

    public mutating func readCompleted(
        _ id: OperationID,
        _ result: Result<LeaseRecord?, LeaseStoreError>,
        now: Instant
    ) -> [Action] {
        guard let flight = inFlight, flight.id == id, case .read = flight.operation else { return [] }
        cancelInFlight()
        if case .success(let record?) = result { highestEpochSeen = max(highestEpochSeen, record.epoch) }
        switch state {
        case .idle, .finished:
            return []
        case .candidate(var candidate):
            guard case .success(let record) = result else {
                return [arm(.poll, at: now.advanced(by: timing.pollInterval))]
            }
            if let pending = candidate.pendingAcquire, record?.version == pending.record.version {
                return becomeLeader(pending.record, start: pending.start, now: now)
            }
            candidate.pendingAcquire = nil
            return consider(record, candidate: candidate, now: now)
        case .leader(var leader):
            guard case .success(let record) = result else {
                leader.mustVerify = true
                state = .leader(leader)
                return [arm(.renew, at: now.advanced(by: timing.pollInterval))]
            }
            if let record, record.version == leader.record.version {
                // None of our renewals is stored (yet): try again soon, still before the deadline.
                leader.mustVerify = false
                state = .leader(leader)
                return [arm(.renew, at: now.advanced(by: timing.pollInterval))]
            }
            if let record, record.holder?.id == holder.id, let start = leader.attempts[record.version] {
                // An ambiguous renewal did land: it counts from when it was sent, never from when we learned it.
                return confirmRenewal(leader, record: record, start: start, now: now)
            }
            state = .candidate(Candidate(observed: record.map { Observation(version: $0.version, since: now) }))
            return [
                .stepDown(leader.record.epoch, .leaseLost(newHolder: record?.holder)),
                arm(.poll, at: now.advanced(by: timing.pollInterval)),
            ]
        case .releasing(var releasing):
            guard case .success(let record) = result else { return retryRelease(&releasing, now: now) }
            guard let record, record.holder?.id == holder.id, releasing.ourVersions.contains(record.version) else {
                // Free already, or someone else's: nothing of ours to release.
                return finish()
            }
            var free = record
            free.holder = nil
            free.version = .random()
            releasing.ourVersions.insert(free.version)
            state = .releasing(releasing)
            return startWrite(free, replacing: record.version, now: now)
        }
    }

    public mutating func writeCompleted(
        _ id: OperationID,
        _ result: Result<LeaseWriteOutcome, LeaseStoreError>,
        now: Instant
    ) -> [Action] {
        guard let flight = inFlight, flight.id == id, case .write(let written) = flight.operation else { return [] }
        cancelInFlight()
        switch state {
        case .idle, .finished:
            return []
        case .candidate(var candidate):
            switch result {
            case .success(.written):
                guard let pending = candidate.pendingAcquire else { return startRead(now: now) }
                return becomeLeader(pending.record, start: pending.start, now: now)
            case .success(.versionMismatch):
                candidate.pendingAcquire = nil
                state = .candidate(candidate)
                return startRead(now: now)
            case .failure:
                // Maybe stored, maybe not: the next read tells (pendingAcquire is kept for it).
                return startRead(now: now)
            }
        case .leader(var leader):
            switch result {
            case .success(.written):
                guard let start = leader.attempts[written.version] else { return startRead(now: now) }
                return confirmRenewal(leader, record: written, start: start, now: now)
            case .success(.versionMismatch), .failure:
                // A mismatch may be an earlier ambiguous renewal of ours that landed; a failure (timeout, 5xx,
                // 503) is never taken as success. Either way, read before deciding.
                leader.mustVerify = true
                state = .leader(leader)
                return startRead(now: now)
            }
        case .releasing(var releasing):
            switch result {
            case .success(.written):
                return finish()
            case .success(.versionMismatch), .failure:
                return retryRelease(&releasing, now: now)
            }
        }
    }

    /// Graceful shutdown: a leader stops acting at once, then releases the lease so a standby can take over
    /// within one poll.
    public mutating func shutdown(now: Instant) -> [Action] {
        switch state {
        case .idle:
            return finish()
        case .finished, .releasing:
            return []
        case .candidate(let candidate):
            guard let pending = candidate.pendingAcquire else { return finish() }
            cancelInFlight()
            state = .releasing(
                Releasing(
                    epoch: pending.record.epoch,
                    ourVersions: [pending.record.version],
                    triesLeft: Self.releaseTries
                )
            )
            return startRead(now: now)
        case .leader(let leader):
            cancelInFlight()
            armed[.renew] = nil
            armed[.deadline] = nil
            state = .releasing(
                Releasing(
                    epoch: leader.record.epoch,
                    ourVersions: Set(leader.attempts.keys).union([leader.record.version]),
                    triesLeft: Self.releaseTries
                )
            )
            return [.stepDown(leader.record.epoch, .shutdown)] + startRead(now: now)
        }
    }

    // MARK: Transitions

    private mutating func consider(_ record: LeaseRecord?, candidate: Candidate, now: Instant) -> [Action] {
        var candidate = candidate
        guard let record else {
            return acquire(
                LeaseRecord(
                    fleet: fleet,
                    holder: holder,
                    version: .random(),
                    leaseDuration: timing.leaseDuration,
                    epoch: highestEpochSeen.next
                ),
                replacing: nil,
                candidate: candidate,
                now: now
            )
        }
        // Free, or ours from before we stepped down (nobody else wrote since): take it at once.
        if record.holder == nil || record.holder?.id == holder.id {
            return acquire(takeover(of: record), replacing: record.version, candidate: candidate, now: now)
        }
        if let observed = candidate.observed, observed.version == record.version {
            let expiry = observed.since.advanced(by: record.leaseDuration)
            if now >= expiry {
                return acquire(takeover(of: record), replacing: record.version, candidate: candidate, now: now)
            }
            state = .candidate(candidate)
            return [arm(.poll, at: min(now.advanced(by: timing.pollInterval), expiry))]
        }
        candidate.observed = Observation(version: record.version, since: now)
        state = .candidate(candidate)
        return [arm(.poll, at: min(now.advanced(by: timing.pollInterval), now.advanced(by: record.leaseDuration)))]
    }

    private func takeover(of record: LeaseRecord) -> LeaseRecord {
        LeaseRecord(
            fleet: fleet,
            holder: holder,
            version: .random(),
            leaseDuration: timing.leaseDuration,
            epoch: record.epoch.next
        )
    }

    private mutating func acquire(
        _ record: LeaseRecord,
        replacing: RecordVersion?,
        candidate: Candidate,
        now: Instant
    ) -> [Action] {
        var candidate = candidate
        // Counted as handed out as soon as it is sent: it may land even if we never learn it did.
        highestEpochSeen = max(highestEpochSeen, record.epoch)
        candidate.pendingAcquire = (record, now)
        state = .candidate(candidate)
        armed[.poll] = nil
        return startWrite(record, replacing: replacing, now: now)
    }

    private mutating func becomeLeader(_ record: LeaseRecord, start: Instant, now: Instant) -> [Action] {
        let validUntil = start.advanced(by: timing.renewDeadline)
        armed[.poll] = nil
        guard now < validUntil else {
            // Stored, but confirmed too late to act on; the next read shows it ours and we take it anew.
            state = .candidate(Candidate())
            return startRead(now: now)
        }
        state = .leader(Leader(record: record, confirmedStart: start, attempts: [:], mustVerify: false))
        return [
            .becomeLeader(record.epoch, validUntil: validUntil),
            arm(.deadline, at: validUntil),
            arm(.renew, at: start.advanced(by: timing.renewInterval)),
        ]
    }

    private mutating func confirmRenewal(
        _ leader: Leader,
        record: LeaseRecord,
        start: Instant,
        now: Instant
    ) -> [Action] {
        var leader = leader
        let validUntil = start.advanced(by: timing.renewDeadline)
        guard now < validUntil else {
            // Confirmed after its own deadline would have passed: acting now could overlap a successor's view.
            state = .candidate(Candidate())
            return [.stepDown(leader.record.epoch, .renewDeadlinePassed)] + startRead(now: now)
        }
        leader.record = record
        leader.confirmedStart = start
        leader.attempts = [:]
        leader.mustVerify = false
        state = .leader(leader)
        let nextRenewal = max(start.advanced(by: timing.renewInterval), now)
        return [
            .extendLeadership(record.epoch, validUntil: validUntil),
            arm(.deadline, at: validUntil),
            arm(.renew, at: nextRenewal),
        ]
    }

    private mutating func retryRelease(_ releasing: inout Releasing, now: Instant) -> [Action] {
        releasing.triesLeft -= 1
        guard releasing.triesLeft > 0 else { return finish() }
        state = .releasing(releasing)
        return [arm(.poll, at: now.advanced(by: timing.pollInterval))]
    }

    private mutating func finish() -> [Action] {
        cancelInFlight()
        armed = [:]
        state = .finished
        return [.finished]
    }

    // MARK: Store calls and timers

    private mutating func startRead(now: Instant) -> [Action] {
        let id = takeOperationID()
        inFlight = InFlight(id: id, operation: .read)
        return [.read(id), arm(.operationTimeout, at: now.advanced(by: timing.operationTimeout))]
    }

    private mutating func startWrite(_ record: LeaseRecord, replacing: RecordVersion?, now: Instant) -> [Action] {
        let id = takeOperationID()
        inFlight = InFlight(id: id, operation: .write(record))
        return [
            .write(id, record, replacing: replacing),
            arm(.operationTimeout, at: now.advanced(by: timing.operationTimeout)),
        ]
    }

    private mutating func cancelInFlight() {
        inFlight = nil
        armed[.operationTimeout] = nil
    }

    private mutating func takeOperationID() -> OperationID {
        defer { nextOperation += 1 }
        return OperationID(rawValue: nextOperation)
    }

    private mutating func arm(_ timer: Timer, at instant: Instant) -> Action {
        armed[timer] = instant
        return .scheduleTimer(timer, at: instant)
    }
}
