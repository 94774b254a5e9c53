import Foundation
import Logging
import MetricsTestKit
import ServiceLifecycle
import Synchronization
import Testing

@testable import Consensus

private let fastTiming = LeaseTiming(
    leaseDuration: .milliseconds(600),
    renewInterval: .milliseconds(100),
    renewDeadline: .milliseconds(400),
    pollInterval: .milliseconds(25),
    operationTimeout: .milliseconds(150)
)

/// One running election: its service group (for graceful shutdown) and the events it emitted, with the instant
/// each was received.
private final class RunningElection: Sendable {
    let election: LeaderElection<ContinuousClock>
    let group: ServiceGroup
    private let task: Task<Void, any Error>
    private let recorder: Task<Void, Never>
    private let received = Received()

    private final class Received: Sendable {
        let events = Mutex<[(LeaderElectionEvent, ContinuousClock.Instant)]>([])
    }

    let metrics = TestMetrics()

    init(store: any LeaseStore, name: String, timing: LeaseTiming = fastTiming) throws {
        var logger = Logger(label: "test.\(name)")
        logger.logLevel = .critical
        election = try LeaderElection(
            store: store,
            configuration: .init(fleet: "fleet", holder: .unique(name: name, address: name), timing: timing),
            clock: ContinuousClock(),
            logger: logger,
            metricsFactory: metrics
        )
        group = ServiceGroup(services: [election], logger: logger)
        let (group, election, received) = (group, election, received)
        task = Task { try await group.run() }
        recorder = Task {
            for await event in election.events { received.events.withLock { $0.append((event, .now)) } }
        }
    }

    var events: [(LeaderElectionEvent, ContinuousClock.Instant)] { received.events.withLock { $0 } }

    var epochsLed: [FencingEpoch] {
        events.compactMap { if case .becameLeader(let epoch) = $0.0 { epoch } else { nil } }
    }

    var isLeader: Bool {
        guard let last = events.last else { return false }
        if case .becameLeader = last.0 { return true }
        return false
    }

    /// Waits (polling every 5 ms) until `condition` holds, or fails the test after `timeout`.
    func wait(
        for what: String,
        timeout: Duration = .seconds(3),
        sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: () -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            if ContinuousClock.now >= deadline {
                Issue.record("timed out waiting for \(what)", sourceLocation: sourceLocation)
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Ends the election without a graceful shutdown, as a crash would: no release.
    func crash() async {
        task.cancel()
        _ = try? await task.value
        await recorder.value
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        await recorder.value
    }
}

/// A store whose writes can be made to hang until cancelled, as a call to an unreachable endpoint does.
private final class HangingStore: LeaseStore {
    let base: any LeaseStore
    let hangWrites = Mutex(false)

    init(base: any LeaseStore) { self.base = base }

    func read(fleet: String) async throws(LeaseStoreError) -> LeaseRecord? {
        try await hangIfAsked()
        return try await base.read(fleet: fleet)
    }

    func write(
        _ record: LeaseRecord,
        replacing expected: RecordVersion?
    ) async throws(LeaseStoreError) -> LeaseWriteOutcome {
        try await hangIfAsked()
        return try await base.write(record, replacing: expected)
    }

    func writeState(
        _ item: FencedStateItem,
        fencedBy epoch: FencingEpoch,
        holder: String
    ) async throws(LeaseStoreError)
        -> FencedWriteOutcome
    {
        try await base.writeState(item, fencedBy: epoch, holder: holder)
    }

    func readState(fleet: String, key: String) async throws(LeaseStoreError) -> FencedStateItem? {
        try await base.readState(fleet: fleet, key: key)
    }

    private func hangIfAsked() async throws(LeaseStoreError) {
        guard hangWrites.withLock({ $0 }) else { return }
        do {
            try await Task.sleep(for: .seconds(3600))
        } catch {
            throw LeaseStoreError(.timedOut, context: "hanging store", message: "cancelled")
        }
    }
}

extension RealTimeSuites {
    @Suite("LeaderElection")
    struct LeaderElectionTests {
        @Test("of two participants exactly one leads, and after its graceful shutdown the other leads within a poll")
        func gracefulHandover() async throws {
            let file = try TemporaryStoreFile()
            defer { file.remove() }
            let first = try RunningElection(store: try SQLiteLeaseStore(path: file.path), name: "a")
            try await first.wait(for: "a to lead") { first.isLeader }
            let second = try RunningElection(store: try SQLiteLeaseStore(path: file.path), name: "b")
            try await Task.sleep(for: .milliseconds(300))
            #expect(second.events.isEmpty, "b must not lead while a renews")
            #expect(first.election.actingEpoch() == FencingEpoch(1))

            let stoppedAt = ContinuousClock.now
            await first.stop()
            try await second.wait(for: "b to lead") { second.isLeader }
            let takeover = second.events[0].1 - stoppedAt
            #expect(takeover < .milliseconds(500), "graceful takeover took \(takeover)")
            #expect(second.epochsLed == [FencingEpoch(2)])
            // The released lease kept the epoch; the store shows b's epoch now.
            #expect(try await SQLiteLeaseStore(path: file.path).read(fleet: "fleet")?.epoch == FencingEpoch(2))
            await second.stop()
        }

        @Test("the metrics show who leads under which epoch, why it stepped down, and how store calls fared")
        func metrics() async throws {
            let file = try TemporaryStoreFile()
            defer { file.remove() }
            let first = try RunningElection(store: try SQLiteLeaseStore(path: file.path), name: "a")
            try await first.wait(for: "a to lead") { first.isLeader }
            let second = try RunningElection(store: try SQLiteLeaseStore(path: file.path), name: "b")
            try await Task.sleep(for: .milliseconds(250))
            let fleet = [("fleet", "fleet")]
            #expect(try first.metrics.expectGauge("ballast_lease_leader", fleet).lastValue == 1)
            #expect(try first.metrics.expectGauge("ballast_lease_epoch", fleet).lastValue == 1)
            #expect(try first.metrics.expectCounter("ballast_lease_became_leader_total", fleet).totalValue == 1)
            #expect(try second.metrics.expectGauge("ballast_lease_leader", fleet).lastValue == 0)
            let renewals = first.metrics.counterTotal(
                label: "ballast_lease_store_calls_total",
                dimensions: fleet + [("operation", "write"), ("outcome", "ok")]
            )
            #expect(renewals >= 2, "the acquire and at least one renewal")
            #expect(
                second.metrics.counterTotal(
                    label: "ballast_lease_store_calls_total",
                    dimensions: fleet + [("operation", "read"), ("outcome", "ok")]
                ) >= 2
            )
            #expect(
                try first.metrics.expectTimer(
                    "ballast_lease_store_call_duration_seconds",
                    fleet + [("operation", "write")]
                ).values.count >= 2
            )

            await first.stop()
            try await second.wait(for: "b to lead") { second.isLeader }
            #expect(try first.metrics.expectGauge("ballast_lease_leader", fleet).lastValue == 0)
            #expect(
                try first.metrics.expectCounter(
                    "ballast_lease_step_downs_total",
                    fleet + [("reason", "shutdown")]
                ).totalValue == 1
            )
            #expect(try second.metrics.expectGauge("ballast_lease_leader", fleet).lastValue == 1)
            #expect(try second.metrics.expectGauge("ballast_lease_epoch", fleet).lastValue == 2)
            await second.stop()
        }

        @Test("a leader whose renewals hang is told to stop at its renew deadline, not when the call returns")
        func stepsDownAtDeadlineWhileCallHangs() async throws {
            let file = try TemporaryStoreFile()
            defer { file.remove() }
            let store = HangingStore(base: try SQLiteLeaseStore(path: file.path))
            let running = try RunningElection(store: store, name: "a")
            try await running.wait(for: "a to lead") { running.isLeader }
            store.hangWrites.withLock { $0 = true }
            let validUntil = try #require(running.election.leadership?.validUntil)
            try await running.wait(for: "the step-down") { !running.isLeader }
            let stoppedAt = try #require(running.events.last?.1)
            // Told at the deadline (plus scheduling slack on a loaded machine), not when the call returns (never).
            #expect(stoppedAt >= validUntil - .milliseconds(fastTiming.renewInterval.wholeMilliseconds))
            #expect(
                stoppedAt - validUntil < .milliseconds(300),
                "stop came \(stoppedAt - validUntil) after the deadline"
            )
            #expect(running.election.actingEpoch() == nil)
            await running.stop()
        }

        @Test(
            "with the store locked the leader steps down by its deadline, nobody leads, and one leads once it unlocks"
        )
        func lockedStore() async throws {
            let file = try TemporaryStoreFile()
            defer { file.remove() }
            let a = try RunningElection(
                store: try SQLiteLeaseStore(path: file.path, busyTimeout: .milliseconds(50)),
                name: "a"
            )
            try await a.wait(for: "a to lead") { a.isLeader }
            let b = try RunningElection(
                store: try SQLiteLeaseStore(path: file.path, busyTimeout: .milliseconds(50)),
                name: "b"
            )
            let lock = try StoreLock(path: file.path)
            try lock.lock()
            let lockedAt = ContinuousClock.now
            try await a.wait(for: "a to step down") { !a.isLeader }
            let stepDown = try #require(a.events.last?.1) - lockedAt
            #expect(
                stepDown <= fastTiming.renewDeadline + .milliseconds(300),
                "stepped down \(stepDown) after the lock"
            )
            // Well past the lease duration: nobody may lead while every write fails.
            try await Task.sleep(for: fastTiming.leaseDuration + .milliseconds(200))
            #expect(!a.isLeader && !b.isLeader)
            #expect(b.epochsLed.isEmpty)
            try lock.unlock()
            try await a.wait(for: "a leader again") { a.isLeader || b.isLeader }
            try await Task.sleep(for: .milliseconds(200))
            #expect([a.isLeader, b.isLeader].filter { $0 }.count == 1)
            #expect((a.epochsLed + b.epochsLed).max() == FencingEpoch(2))
            await a.stop()
            await b.stop()
        }

        @Test("over 120 takeovers, by release and by expiry, the epochs handed out strictly increase")
        func epochsIncrease() async throws {
            let file = try TemporaryStoreFile()
            defer { file.remove() }
            let quick = LeaseTiming(
                leaseDuration: .milliseconds(150),
                renewInterval: .milliseconds(30),
                renewDeadline: .milliseconds(100),
                pollInterval: .milliseconds(5),
                operationTimeout: .milliseconds(50)
            )
            var epochs: [FencingEpoch] = []
            for round in 0..<120 {
                let running = try RunningElection(
                    store: try SQLiteLeaseStore(path: file.path),
                    name: "p\(round)",
                    timing: quick
                )
                try await running.wait(for: "round \(round) to lead") { running.isLeader }
                epochs += running.epochsLed
                if round % 10 == 9 {
                    // A crash: no release, so the next one must wait for the lease to expire.
                    await running.crash()
                } else {
                    await running.stop()
                }
            }
            #expect(epochs.count == 120)
            #expect(zip(epochs, epochs.dropFirst()).allSatisfy { $0 < $1 }, "epochs: \(epochs)")
        }
    }
}
