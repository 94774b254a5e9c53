import Foundation
import Testing

@testable import Consensus

/// One lease-probe child process, its stdout captured in a file.
final class ProbeProcess {
    let process: Process
    let output: URL
    /// Standard error: why a probe that exited early did so.
    let errors: URL
    let name: String

    /// The lease-probe binary, built next to the test bundle (`swift build --build-tests` builds it).
    static var binary: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("lease-probe")
    }

    init(name: String, arguments: [String], environment: [String: String] = [:], directory: URL) throws {
        self.name = name
        output = directory.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments + ["--name", name, "--parent-pid", "\(getpid())"]
        process.standardOutput = try FileHandle(forWritingTo: output)
        errors = directory.appendingPathComponent("\(name).err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errors)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    var lines: [String] {
        guard let data = FileManager.default.contents(atPath: output.path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    func send(_ signal: Int32) { kill(pid, signal) }

    /// Waits for the process to exit (up to `timeout`), then kills it if it has not.
    func waitForExit(timeout: Duration = .seconds(5)) async {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// What the probes logged, parsed.
struct ProbeLog {
    struct Interval: CustomStringConvertible {
        var pid: Int32
        var epoch: UInt64
        var from: Double
        var to: Double
        var description: String { "pid \(pid) epoch \(epoch) \(String(format: "%.3f–%.3f", from, to))" }
    }

    var intervals: [Interval] = []
    /// (wall time, epoch, pid) of every "became leader" line.
    var elections: [(at: Double, epoch: UInt64, pid: Int32)] = []
    /// (pid, epoch, outcome, wall time the write started) of every stale write a deposed leader tried.
    var staleWrites: [(pid: Int32, epoch: UInt64, outcome: String, at: Double)] = []

    init(_ lines: [String]) {
        var byKey: [String: Interval] = [:]
        for line in lines {
            let words = line.split(separator: " ").map(String.init)
            if line.hasPrefix("acting as leader with epoch "), words.count == 12,
                let epoch = UInt64(words[5]), let from = Double(words[7]), let to = Double(words[9]),
                let pid = Int32(words[11])
            {
                let key = "\(pid)/\(epoch)/\(words[7])"
                var interval = byKey[key] ?? Interval(pid: pid, epoch: epoch, from: from, to: to)
                interval.to = max(interval.to, to)
                byKey[key] = interval
            } else if line.hasPrefix("became leader with epoch "), words.count == 9,
                let epoch = UInt64(words[4]), let pid = Int32(words[6]), let at = Double(words[8])
            {
                elections.append((at, epoch, pid))
            } else if line.hasPrefix("stale write with epoch "), words.count == 10,
                let epoch = UInt64(words[4]), let pid = Int32(words[7]), let at = Double(words[9])
            {
                staleWrites.append((pid, epoch, words[5], at))
            }
        }
        intervals = byKey.values.sorted { $0.from < $1.from }
        elections.sort { $0.at < $1.at }
    }

    /// Pairs of intervals of different processes that overlap in time.
    var overlaps: [(Interval, Interval)] {
        var found: [(Interval, Interval)] = []
        for (i, a) in intervals.enumerated() {
            for b in intervals[(i + 1)...] where b.pid != a.pid && b.from <= a.to {
                found.append((a, b))
            }
        }
        return found
    }

    /// The first instant any process other than `excluded` acted after `instant`.
    func firstAct(after instant: Double, excluding excluded: Int32) -> Double? {
        intervals.filter { $0.pid != excluded && $0.to > instant }.map { max($0.from, instant) }.min()
    }
}

/// Several probes campaigning on one lease (a SQLite file by default, or a DynamoDB table), with the short
/// durations the tests use.
final class ProbeFleet {
    static let leaseMs = 2000
    let directory: URL
    let storePath: String
    var probes: [ProbeProcess] = []
    var extraArguments: [String]
    var storeArguments: [String]
    var environment: [String: String] = [:]
    private var started = 0

    init(extraArguments: [String] = []) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ballast-probes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        storePath = directory.appendingPathComponent("lease.sqlite").path
        storeArguments = ["--sqlite", storePath, "--busy-timeout-ms", "100"]
        self.extraArguments = extraArguments
        #expect(
            FileManager.default.isExecutableFile(atPath: ProbeProcess.binary.path),
            "lease-probe not found at \(ProbeProcess.binary.path); build with `swift build --build-tests`"
        )
    }

    @discardableResult
    func start(_ count: Int = 1) throws -> [ProbeProcess] {
        var new: [ProbeProcess] = []
        for _ in 0..<count {
            started += 1
            let probe = try ProbeProcess(
                name: "probe\(started)",
                arguments: storeArguments + [
                    "--lease-ms", "\(Self.leaseMs)", "--renew-ms", "400", "--deadline-ms", "1400",
                    "--poll-ms", "100", "--op-timeout-ms", "300",
                ] + extraArguments,
                environment: environment,
                directory: directory
            )
            new.append(probe)
        }
        probes += new
        return new
    }

    var log: ProbeLog { ProbeLog(probes.flatMap(\.lines)) }

    static func wallNow() -> Double { Date().timeIntervalSince1970 }

    /// The probe acting right now (its last acting line is recent), waiting up to `timeout` for one.
    func currentLeader(
        timeout: Duration = .seconds(6),
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws
        -> ProbeProcess
    {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let now = Self.wallNow()
            if let recent = log.intervals.last(where: { now - $0.to < 0.1 }),
                let probe = probes.first(where: { $0.pid == recent.pid && $0.process.isRunning })
            {
                return probe
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("no probe acted within \(timeout)\n\(tails())", sourceLocation: sourceLocation)
        throw CancellationError()
    }

    /// Waits until a probe other than `excluded` acts after `instant`, and returns how long after `instant`.
    func takeover(
        after instant: Double,
        excluding excluded: Int32,
        timeout: Duration = .seconds(8)
    ) async throws -> Double {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let first = log.firstAct(after: instant, excluding: excluded) { return first - instant }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("nobody took over within \(timeout)\n\(tails())")
        throw CancellationError()
    }

    /// The last lines each probe logged, for a failure message: what the campaigns were doing when time ran out.
    func tails(_ count: Int = 12) -> String {
        probes.map { probe in
            let state = probe.process.isRunning ? "running" : "exited"
            let errors = FileManager.default.contents(atPath: probe.errors.path).map {
                String(decoding: $0, as: UTF8.self).split(separator: "\n").suffix(4).joined(separator: "\n")
            }
            return "--- \(probe.name) pid \(probe.pid) (\(state))\n"
                + probe.lines.suffix(count).joined(separator: "\n")
                + (errors.map { $0.isEmpty ? "" : "\n  stderr: \($0)" } ?? "")
        }.joined(separator: "\n")
    }

    func stopAll() async {
        for probe in probes where probe.process.isRunning {
            probe.send(SIGCONT)
            probe.send(SIGTERM)
        }
        for probe in probes { await probe.waitForExit() }
    }

    func checkSafety(sourceLocation: SourceLocation = #_sourceLocation) {
        let log = log
        for (a, b) in log.overlaps {
            Issue.record("acting intervals overlap: \(a) and \(b)", sourceLocation: sourceLocation)
        }
        let epochs = log.elections.map(\.epoch)
        #expect(
            zip(epochs, epochs.dropFirst()).allSatisfy { $0 < $1 },
            "epochs not increasing: \(epochs)",
            sourceLocation: sourceLocation
        )
        // A leader that stepped down may still hold the lease in the store (its last renewal landed although
        // it could not tell): its write is then rightly accepted. Fencing promises that once a newer epoch has
        // been elected, a write under an older one is refused.
        for write in log.staleWrites where write.outcome == "ACCEPTED" {
            if let newer = log.elections.first(where: { $0.epoch > write.epoch && $0.at < write.at }) {
                Issue.record(
                    "a write with epoch \(write.epoch) was accepted at \(write.at), after epoch \(newer.epoch) was elected at \(newer.at)",
                    sourceLocation: sourceLocation
                )
            }
        }
    }

    /// Kills any probe still running (a test that failed half-way leaves some) and deletes the directory.
    func remove() {
        for probe in probes where probe.process.isRunning {
            probe.send(SIGCONT)
            probe.send(SIGKILL)
            probe.process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

/// The fault scenarios, run against any store the fleet is configured for.
enum ProbeScenario {
    /// kill -9 of the leader, three times; returns the takeover times in seconds.
    static func crashTakeovers(_ fleet: ProbeFleet, rounds: Int = 3) async throws -> [Double] {
        try fleet.start(3)
        var samples: [Double] = []
        for _ in 0..<rounds {
            let leader = try await fleet.currentLeader()
            try await Task.sleep(for: .milliseconds(300))
            let killedAt = ProbeFleet.wallNow()
            leader.send(SIGKILL)
            samples.append(try await fleet.takeover(after: killedAt, excluding: leader.pid))
            try fleet.start()
        }
        await fleet.stopAll()
        fleet.checkSafety()
        #expect(fleet.log.elections.count >= rounds + 1)
        return samples
    }

    /// SIGTERM of the leader, three times; returns the takeover times in seconds.
    static func gracefulTakeovers(_ fleet: ProbeFleet, rounds: Int = 3) async throws -> [Double] {
        try fleet.start(3)
        var samples: [Double] = []
        for _ in 0..<rounds {
            let leader = try await fleet.currentLeader()
            try await Task.sleep(for: .milliseconds(300))
            let stoppedAt = ProbeFleet.wallNow()
            leader.send(SIGTERM)
            samples.append(try await fleet.takeover(after: stoppedAt, excluding: leader.pid))
            await leader.waitForExit()
            #expect(leader.process.terminationStatus == 0)
            #expect(leader.lines.contains { $0.hasPrefix("stopped acting") && $0.hasSuffix("reason shutdown") })
            try fleet.start()
        }
        await fleet.stopAll()
        fleet.checkSafety()
        return samples
    }

    /// SIGSTOP of the leader for longer than the lease, then SIGCONT.
    static func pausedLeader(_ fleet: ProbeFleet) async throws {
        try fleet.start(3)
        let leader = try await fleet.currentLeader()
        try await Task.sleep(for: .milliseconds(300))
        let stoppedAt = ProbeFleet.wallNow()
        leader.send(SIGSTOP)
        _ = try await fleet.takeover(after: stoppedAt, excluding: leader.pid)
        try await Task.sleep(for: .milliseconds(500))
        let continuedAt = ProbeFleet.wallNow()
        leader.send(SIGCONT)
        try await Task.sleep(for: .milliseconds(800))
        await fleet.stopAll()
        fleet.checkSafety()
        let log = fleet.log
        let oldEpoch = try #require(log.elections.first { $0.pid == leader.pid }?.epoch)
        #expect(log.elections.contains { $0.epoch > oldEpoch && $0.pid != leader.pid })
        // After resuming it noticed the lost lease and tried once to write under its old epoch: refused.
        #expect(log.staleWrites.contains { $0.pid == leader.pid && $0.epoch == oldEpoch && $0.outcome == "refused" })
        // Once resumed, its clock says the deadline has passed: it must not act again under the old epoch.
        #expect(!log.intervals.contains { $0.pid == leader.pid && $0.to >= continuedAt })
    }

    /// The store unavailable (`makeUnavailable`) for longer than the lease, then back (`restore`).
    static func storeUnavailable(
        _ fleet: ProbeFleet,
        makeUnavailable: () async throws -> Void,
        restore: () async throws -> Void
    ) async throws {
        try fleet.start(3)
        let leader = try await fleet.currentLeader()
        try await makeUnavailable()
        let lostAt = ProbeFleet.wallNow()
        try await Task.sleep(for: .milliseconds(3500))  // longer than the lease
        let restoredAt = ProbeFleet.wallNow()
        try await restore()
        _ = try await fleet.takeover(after: restoredAt, excluding: -1)
        try await Task.sleep(for: .milliseconds(800))
        let now = ProbeFleet.wallNow()
        await fleet.stopAll()
        fleet.checkSafety()
        let log = fleet.log
        // The leader stopped by its renew deadline (1.4 s) after the store went away, with scheduling slack.
        let lastAct = log.intervals.filter { $0.pid == leader.pid && $0.from < lostAt }.map(\.to).max() ?? 0
        #expect(lastAct - lostAt <= 1.5, "acted \(lastAct - lostAt) s after the store went away")
        #expect(!log.intervals.contains { $0.to > lostAt + 1.5 && $0.from < restoredAt }, "someone acted meanwhile")
        let acting = Set(log.intervals.filter { now - $0.to < 1.0 }.map(\.pid))
        #expect(acting.count == 1, "acting at the end: \(acting)")
    }

    /// Injected lost replies, 503s (before and after applying) and late writes, with two leader crashes.
    static func ambiguousRenewals(_ fleet: ProbeFleet) async throws {
        try fleet.start(3)
        for _ in 0..<2 {
            let leader = try await fleet.currentLeader(timeout: .seconds(10))
            try await Task.sleep(for: .seconds(2))
            let killedAt = ProbeFleet.wallNow()
            leader.send(SIGKILL)
            _ = try await fleet.takeover(after: killedAt, excluding: leader.pid, timeout: .seconds(15))
            try fleet.start()
        }
        try await Task.sleep(for: .seconds(3))
        await fleet.stopAll()
        fleet.checkSafety()
        #expect(fleet.log.elections.count >= 3)
        // The faults must actually have reached the campaigns, lost replies to writes among them.
        let failures = fleet.probes.flatMap(\.lines).filter { $0.hasPrefix("store call failed: ") }
        #expect(failures.count >= 10, "only \(failures.count) failed store calls")
        #expect(
            failures.contains {
                $0.hasPrefix("store call failed: write ambiguous") || $0.hasPrefix("store call failed: write timedOut")
            }
        )
    }
}
