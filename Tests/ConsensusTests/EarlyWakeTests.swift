import Logging
import ServiceLifecycle
import Testing

@testable import Consensus

/// ContinuousClock, except that every sleep returns a little before its deadline, as a timer that fires early
/// does (the deadline converted between clock domains, a coarse timer wheel).
private struct EarlyWakingClock: Clock {
    typealias Instant = ContinuousClock.Instant
    let early: Duration
    var now: Instant { ContinuousClock.now }
    var minimumResolution: Duration { ContinuousClock().minimumResolution }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let wake = deadline.advanced(by: .zero - early)
        if wake > now { try await ContinuousClock().sleep(until: wake, tolerance: nil) }
    }
}

extension RealTimeSuites {
    @Suite("LeaderElection on a clock whose sleeps end early")
    struct EarlyWakeTests {
        @Test("a candidate whose poll timer wakes early still polls, and takes over an expired lease")
        func earlyWakesDoNotStallTheCampaign() async throws {
            let file = try TemporaryStoreFile()
            defer { file.remove() }
            let store = try SQLiteLeaseStore(path: file.path)
            // Someone else holds the lease and has vanished: only polling until it expires leads anywhere.
            let gone = LeaseRecord(
                fleet: "fleet",
                holder: LeaseHolder(id: "gone", address: "10.0.0.1:7000"),
                version: .random(),
                leaseDuration: .milliseconds(400),
                epoch: FencingEpoch(4)
            )
            #expect(try await store.write(gone, replacing: nil) == .written)

            var logger = Logger(label: "test.early")
            logger.logLevel = .critical
            let election = try LeaderElection(
                store: store,
                configuration: .init(
                    fleet: "fleet",
                    holder: .unique(name: "early", address: "early"),
                    timing: LeaseTiming(
                        leaseDuration: .milliseconds(400),
                        renewInterval: .milliseconds(100),
                        renewDeadline: .milliseconds(300),
                        pollInterval: .milliseconds(25),
                        operationTimeout: .milliseconds(150)
                    )
                ),
                clock: EarlyWakingClock(early: .milliseconds(3)),
                logger: logger
            )
            let group = ServiceGroup(services: [election], logger: logger)
            let running = Task { try await group.run() }
            defer { running.cancel() }

            // Polled, not awaited on the event stream: a stalled campaign emits nothing at all.
            let deadline = ContinuousClock.now + .seconds(5)
            var led: FencingEpoch?
            while led == nil, ContinuousClock.now < deadline {
                led = election.leadership?.epoch
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(led == FencingEpoch(5))
            // It keeps renewing on the same early clock: still (or, on a machine too busy to renew in time, again)
            // leading a few renew intervals later.
            try await Task.sleep(for: .milliseconds(500))
            var still: FencingEpoch?
            let again = ContinuousClock.now + .seconds(3)
            while still == nil, ContinuousClock.now < again {
                still = election.actingEpoch()
                if still == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(still.map { $0 >= FencingEpoch(5) } == true, "acting epoch \(String(describing: still))")
            await group.triggerGracefulShutdown()
            _ = try? await running.value
        }
    }
}
