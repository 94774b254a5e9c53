import BallastTestSupport
import Testing

@testable import Consensus

/// Several campaigns against one in-memory store in virtual time, with drifting clocks, slow and lost replies,
/// 503s, writes that land after their reply was lost, pauses longer than the lease (SIGSTOP) and crashes.
/// Deterministic for a seed; no sleeps.
private struct Simulation {
    struct Participant {
        var machine: LeaseCampaign<VirtualInstant>
        /// Local clock = real × rate + offset.
        var rate: Double
        var offset: Duration
        var pausedUntil: Duration = .zero
        var incarnation: Int
        var leadership: (epoch: FencingEpoch, validUntilReal: Duration)?
    }

    enum Delivery {
        case timer(LeaseCampaign<VirtualInstant>.Timer)
        /// A read answered when delivered (it sees the store as it is then), or failed with a 503.
        case read(LeaseCampaign<VirtualInstant>.OperationID, fails: Bool)
        case write(LeaseCampaign<VirtualInstant>.OperationID, Result<LeaseWriteOutcome, LeaseStoreError>)
        case apply(LeaseCampaign<VirtualInstant>.OperationID, LeaseRecord, RecordVersion?, Fault)
        case pause(Duration)
        case crash
    }

    enum Fault { case none, dropReply, unavailable503, applyThen503 }

    struct Pending {
        var at: Duration
        var sequence: Int
        var participant: Int
        var incarnation: Int
        var delivery: Delivery
    }

    var random: SplitMix64
    let timing: LeaseTiming
    var stored: LeaseRecord?
    var participants: [Participant] = []
    var queue: [Pending] = []
    var sequence = 0
    var now: Duration = .zero
    /// Acting intervals in real time: (participant, epoch, from, to).
    var acting: [(participant: Int, epoch: FencingEpoch, from: Duration, to: Duration)] = []
    var epochsHandedOut: [FencingEpoch] = []
    /// Per store call, in percent: a read failing with 503; a write whose reply is lost, answered 503 without
    /// being applied, and answered 503 after being applied (each).
    let faultPercent: UInt64

    init(seed: UInt64, participants count: Int, timing: LeaseTiming, faultPercent: UInt64 = 5) {
        random = SplitMix64(seed: seed)
        self.timing = timing
        self.faultPercent = faultPercent
        for index in 0..<count {
            let rate = 1 + Double(Int(random.next() % 1001) - 500) / 100_000  // ±0.5 %
            participants.append(
                Participant(
                    machine: LeaseCampaign(fleet: "sim", holder: Self.holder(index, 0), timing: timing),
                    rate: rate,
                    offset: .milliseconds(Int(random.next() % 100_000)),
                    incarnation: 0
                )
            )
        }
    }

    static func holder(_ index: Int, _ incarnation: Int) -> LeaseHolder {
        LeaseHolder(id: "p\(index).\(incarnation)", address: "127.0.0.1:\(7000 + index)")
    }

    func local(_ index: Int, _ real: Duration) -> VirtualInstant {
        VirtualInstant(offset: real * participants[index].rate + participants[index].offset)
    }

    func real(_ index: Int, _ instant: VirtualInstant) -> Duration {
        (instant.offset - participants[index].offset) / participants[index].rate
    }

    mutating func schedule(_ participant: Int, at: Duration, _ delivery: Delivery, incarnation: Int? = nil) {
        sequence += 1
        queue.append(
            Pending(
                at: at,
                sequence: sequence,
                participant: participant,
                incarnation: incarnation ?? participants[participant].incarnation,
                delivery: delivery
            )
        )
    }

    mutating func latency() -> Duration {
        // Mostly fast, sometimes slow, rarely slower than the operation timeout.
        switch random.next() % 100 {
        case 0..<80: .milliseconds(Int(random.next() % 20))
        case 80..<97: .milliseconds(Int(random.next() % 400))
        default: .milliseconds(Int(random.next() % 3000))
        }
    }

    mutating func perform(_ index: Int, _ actions: [LeaseCampaign<VirtualInstant>.Action]) {
        for action in actions {
            switch action {
            case .read(let id):
                schedule(index, at: now + latency(), .read(id, fails: random.next() % 100 < faultPercent))
            case .write(let id, let record, let replacing):
                let fault: Fault
                let roll = random.next() % 100
                if roll < faultPercent {
                    fault = .dropReply
                } else if roll < 2 * faultPercent {
                    fault = .unavailable503
                } else if roll < 3 * faultPercent {
                    fault = .applyThen503
                } else {
                    fault = .none
                }
                schedule(index, at: now + latency(), .apply(id, record, replacing, fault))
            case .scheduleTimer(let timer, let instant):
                // Like LeaderElection, deliver a fire no earlier than the armed instant on the local clock
                // (converting to real time and back may round down by a nanosecond).
                var at = max(now, real(index, instant))
                while local(index, at) < instant { at += .nanoseconds(1) }
                schedule(index, at: at, .timer(timer))
            case .becomeLeader(let epoch, let validUntil):
                if let last = epochsHandedOut.last { #expect(epoch > last, "epoch \(epoch) after \(last)") }
                epochsHandedOut.append(epoch)
                participants[index].leadership = (epoch, real(index, validUntil))
            case .extendLeadership(let epoch, let validUntil):
                participants[index].leadership = (epoch, real(index, validUntil))
            case .stepDown:
                participants[index].leadership = nil
            case .finished:
                break
            }
        }
    }

    /// Records the interval during which `index` may act from now until its next event or its deadline.
    mutating func recordActing(_ index: Int, until next: Duration) {
        guard let leadership = participants[index].leadership else { return }
        let end = min(next, leadership.validUntilReal)
        if end > now { acting.append((index, leadership.epoch, now, end)) }
    }

    /// Whether participants are also paused (SIGSTOP) for up to 15 s; crashes happen either way.
    var pauses = true

    mutating func run(for total: Duration) {
        for index in participants.indices {
            perform(index, participants[index].machine.start(now: local(index, .zero)))
            schedule(index, at: .seconds(Int(random.next() % 120) + 5), .crash)
            guard pauses else { continue }
            schedule(index, at: .seconds(Int(random.next() % 60) + 5), .pause(.seconds(Int(random.next() % 15) + 1)))
            schedule(index, at: .seconds(Int(random.next() % 120) + 5), .crash)
        }
        while now < total, !queue.isEmpty {
            let next = queue.indices.min { (queue[$0].at, queue[$0].sequence) < (queue[$1].at, queue[$1].sequence) }!
            var pending = queue.remove(at: next)
            let index = pending.participant
            let isApply = if case .apply = pending.delivery { true } else { false }
            // A write already sent still lands after its sender crashed; everything else dies with the process.
            guard isApply || pending.incarnation == participants[index].incarnation else { continue }
            if !isApply, pending.at < participants[index].pausedUntil {
                // A stopped process handles nothing until it resumes; its events wait in order.
                pending.at = participants[index].pausedUntil
                queue.append(pending)
                continue
            }
            now = pending.at
            let here = local(index, now)
            switch pending.delivery {
            case .timer(let timer):
                perform(index, participants[index].machine.timerFired(timer, now: here))
            case .read(let id, let fails):
                let answer: Result<LeaseRecord?, LeaseStoreError> =
                    fails ? .failure(LeaseStoreError(.ambiguous, context: "sim", message: "503")) : .success(stored)
                perform(index, participants[index].machine.readCompleted(id, answer, now: here))
            case .write(let id, let result):
                perform(index, participants[index].machine.writeCompleted(id, result, now: here))
            case .apply(let id, let record, let replacing, let fault):
                // The store applies (or not) at this instant; the reply travels back afterwards.
                var outcome = LeaseWriteOutcome.versionMismatch
                if fault != .unavailable503, stored?.version == replacing {
                    stored = record
                    outcome = .written
                }
                let reply = now + latency()
                switch fault {
                case .none:
                    schedule(index, at: reply, .write(id, .success(outcome)), incarnation: pending.incarnation)
                case .dropReply:
                    break
                case .unavailable503, .applyThen503:
                    let error = LeaseStoreError(.ambiguous, context: "sim", message: "503")
                    schedule(index, at: reply, .write(id, .failure(error)), incarnation: pending.incarnation)
                }
            case .pause(let length):
                participants[index].pausedUntil = now + length
                schedule(
                    index,
                    at: now + .seconds(Int(random.next() % 60) + 20),
                    .pause(.seconds(Int(random.next() % 15) + 1))
                )
            case .crash:
                participants[index].leadership = nil
                participants[index].incarnation += 1
                let incarnation = participants[index].incarnation
                participants[index].machine = LeaseCampaign(
                    fleet: "sim",
                    holder: Self.holder(index, incarnation),
                    timing: timing
                )
                participants[index].pausedUntil = .zero
                perform(index, participants[index].machine.start(now: here))
                schedule(index, at: now + .seconds(Int(random.next() % 90) + 10), .crash)
            }
            let following = queue.filter { $0.participant == index }.map(\.at).min() ?? total
            recordActing(index, until: following)
        }
    }
}

@Suite("Lease protocol under simulated faults")
struct LeaseSimulationTests {
    @Test(
        "three participants with drifting clocks, lost and 503 replies, pauses and crashes never act at once",
        arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64]
    )
    func neverTwoLeaders(seed: UInt64) {
        let timing = LeaseTiming(
            leaseDuration: .seconds(10),
            renewInterval: .seconds(2),
            renewDeadline: .seconds(7),
            pollInterval: .milliseconds(250),
            operationTimeout: .seconds(1)
        )
        var simulation = Simulation(seed: seed, participants: 3, timing: timing)
        simulation.run(for: .seconds(900))
        let intervals = simulation.acting.sorted { $0.from < $1.from }
        for (i, a) in intervals.enumerated() {
            for b in intervals[(i + 1)...] where b.from < a.to && b.participant != a.participant {
                Issue.record(
                    "participant \(a.participant) (epoch \(a.epoch)) acted \(a.from)–\(a.to) while \(b.participant) (epoch \(b.epoch)) acted from \(b.from)"
                )
            }
        }
        // The run must have exercised takeovers, or the check above proves nothing.
        #expect(simulation.epochsHandedOut.count >= 10, "only \(simulation.epochsHandedOut.count) takeovers")
        #expect(zip(simulation.epochsHandedOut, simulation.epochsHandedOut.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test(
        "with every participant crashing now and then under 8 % faults of each kind, a leader acts again within 3 lease durations",
        arguments: Array(1...20) as [UInt64]
    )
    func leaderAgainAfterCrashes(seed: UInt64) {
        // The probe tests' short durations: a stalled campaign shows as a gap of tens of seconds.
        let timing = LeaseTiming(
            leaseDuration: .milliseconds(2000),
            renewInterval: .milliseconds(400),
            renewDeadline: .milliseconds(1400),
            pollInterval: .milliseconds(100),
            operationTimeout: .milliseconds(300)
        )
        var simulation = Simulation(seed: seed, participants: 3, timing: timing, faultPercent: 8)
        simulation.pauses = false
        simulation.run(for: .seconds(300))
        var coveredUntil = Duration.zero
        var worst = (gap: Duration.zero, from: Duration.zero)
        for interval in simulation.acting.sorted(by: { $0.from < $1.from }) {
            if interval.from - coveredUntil > worst.gap { worst = (interval.from - coveredUntil, coveredUntil) }
            coveredUntil = max(coveredUntil, interval.to)
        }
        #expect(simulation.epochsHandedOut.count >= 5, "only \(simulation.epochsHandedOut.count) takeovers")
        #expect(worst.gap <= timing.leaseDuration * 3, "nobody acted for \(worst.gap) from \(worst.from)")
    }
}
