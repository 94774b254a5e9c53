// lease-probe: campaigns for a fleet's lease and logs, one flushed line at a time, when it acts as leader, so
// multi-process tests can check that acting intervals never overlap and measure takeover times.
//
// Lines (wall-clock seconds since 1970 with microseconds; one host, so comparable across processes):
//   started pid P holder H
//   became leader with epoch E pid P at T
//   acting as leader with epoch E from T1 to T2 pid P          (every tick while acting; T2 = this tick)
//   fenced write with epoch E ok|refused|failed pid P at T
//   stopped acting with epoch E pid P at T reason R
//   stale write with epoch E refused|ACCEPTED|failed pid P at T  (after losing the lease, one write with the old
//                                                                epoch, started at T; fencing must refuse it once
//                                                                a newer epoch has been elected)
//   store call failed: read|write CODE pid P                    (every failed lease read or write)
//   exiting pid P at T
import AWSClients
import ArgumentParser
import AsyncHTTPClient
import Consensus
import Foundation
import Logging
import ServiceLifecycle

@main
struct LeaseProbe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lease-probe",
        abstract: "Campaign for a fleet lease and log acting intervals."
    )

    @Option(help: "Path of the SQLite lease store.") var sqlite: String?
    @Option(help: "DynamoDB endpoint URL (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).")
    var dynamodbEndpoint: String?
    @Option(help: "DynamoDB table holding the lease.") var dynamodbTable = "ballast-lease"
    @Option(help: "AWS region to sign for.") var region = "us-east-1"
    @Option(help: "Fleet key.") var fleet = "probe"
    @Option(help: "Holder name (a random suffix is added).") var name = "probe"
    @Option(help: "Lease duration in ms.") var leaseMs = 2000
    @Option(help: "Renew interval in ms.") var renewMs = 400
    @Option(help: "Renew deadline in ms.") var deadlineMs = 1400
    @Option(help: "Poll interval in ms.") var pollMs = 100
    @Option(help: "Store operation timeout in ms.") var opTimeoutMs = 300
    @Option(help: "SQLite busy timeout in ms.") var busyTimeoutMs = 100
    @Option(help: "Acting tick in ms.") var actMs = 20
    @Option(help: "Interval between fenced state writes while acting, in ms.") var writeEveryMs = 100
    @Option(help: "Fault: probability that a write is applied but its reply dropped.") var dropReplyRate = 0.0
    @Option(help: "Fault: probability that a call is answered 503 without reaching the store.")
    var unavailableRate = 0.0
    @Option(help: "Fault: probability that a write is applied and then answered 503.") var applyThen503Rate = 0.0
    @Option(help: "Fault: probability that a call hangs for --hang-ms before reaching the store.") var hangRate = 0.0
    @Option(help: "Fault: how long a hanging call waits, in ms.") var hangMs = 1000
    @Option(help: "Exit when this process is no longer our parent (tests pass their pid).") var parentPid: Int32?
    @Option(help: "Log level of the library (trace, debug, info, notice, warning, error).") var logLevel = "warning"

    func run() async throws {
        let out = ProbeOutput()
        var logger = Logger(label: "lease-probe") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .warning

        let timing = LeaseTiming(
            leaseDuration: .milliseconds(leaseMs),
            renewInterval: .milliseconds(renewMs),
            renewDeadline: .milliseconds(deadlineMs),
            pollInterval: .milliseconds(pollMs),
            operationTimeout: .milliseconds(opTimeoutMs)
        )
        // Refuse bad durations before anything needs shutting down.
        try timing.validate()
        var http: HTTPClient?
        let backing: any LeaseStore
        if let sqlite {
            backing = try SQLiteLeaseStore(path: sqlite, busyTimeout: .milliseconds(busyTimeoutMs))
        } else if let dynamodbEndpoint {
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            http = client
            var configuration = AWSClient.Configuration(region: region, endpoints: ["dynamodb": dynamodbEndpoint])
            // The campaign retries on its own schedule; each call must fail within its operation timeout.
            configuration.retry = RetryPolicy(maxAttempts: 1)
            configuration.requestTimeout = .milliseconds(opTimeoutMs)
            let aws = AWSClient(
                httpClient: client,
                credentialsProvider: EnvironmentCredentialsProvider(),
                configuration: configuration,
                logger: logger
            )
            backing = DynamoDBLeaseStore(dynamoDB: DynamoDB(client: aws), tableName: dynamodbTable)
        } else {
            throw ValidationError("give --sqlite PATH or --dynamodb-endpoint URL")
        }
        let faults = FaultRates(
            dropReply: dropReplyRate,
            unavailable: unavailableRate,
            applyThen503: applyThen503Rate,
            hang: hangRate,
            hangFor: .milliseconds(hangMs)
        )
        let store = ObservedLeaseStore(
            base: faults.isNone ? backing : FaultInjectingLeaseStore(base: backing, rates: faults),
            out: out
        )

        let holder = LeaseHolder.unique(name: name, address: "127.0.0.1:\(getpid())")
        let election = try LeaderElection(
            store: store,
            configuration: .init(fleet: fleet, holder: holder, timing: timing),
            clock: ContinuousClock(),
            logger: logger
        )
        out.line("started pid \(getpid()) holder \(holder.id)")

        if let parentPid {
            // Never outlive the test that started us, even if it dies without stopping us.
            Thread.detachNewThread {
                while getppid() == parentPid { usleep(100_000) }
                Foundation.exit(3)
            }
        }

        // Shutdown runs in reverse order: stop acting first, then release the lease, then stop logging events.
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(
                        service: EventLog(election: election, unfencedStore: backing, out: out),
                        successTerminationBehavior: .ignore
                    ),
                    .init(service: election),
                    .init(
                        service: ActingLoop(
                            election: election,
                            out: out,
                            tick: .milliseconds(actMs),
                            writeEvery: .milliseconds(writeEveryMs)
                        )
                    ),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        let failure: (any Error)?
        do {
            try await group.run()
            failure = nil
        } catch {
            failure = error
        }
        try await http?.shutdown()
        if let failure { throw failure }
        out.line("exiting pid \(getpid()) at \(ProbeOutput.wallClock())")
    }
}

/// Writes whole lines to stdout with one write(2) each, so nothing is lost when the process is killed.
struct ProbeOutput: Sendable {
    func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func wallClock() -> String {
        String(format: "%.6f", Date().timeIntervalSince1970)
    }
}

/// Acts while the election permits it: every tick logs the acting interval so far, and periodically writes
/// fenced state under the acting epoch.
struct ActingLoop: Service {
    let election: LeaderElection<ContinuousClock>
    let out: ProbeOutput
    let tick: Duration
    let writeEvery: Duration

    func run() async throws {
        let (pid, clock, election, out, tick, writeEvery) = (
            getpid(), ContinuousClock(), election, out, tick, writeEvery
        )
        await cancelWhenGracefulShutdown {
            var since: (epoch: FencingEpoch, wall: String)?
            var lastWrite: ContinuousClock.Instant?
            while !Task.isCancelled {
                // Wall time first, then the permission check: an act is dated no later than it was permitted.
                let wall = ProbeOutput.wallClock()
                if let epoch = election.actingEpoch() {
                    if since?.epoch != epoch { since = (epoch, wall) }
                    out.line("acting as leader with epoch \(epoch) from \(since!.wall) to \(wall) pid \(pid)")
                    if lastWrite.map({ clock.now - $0 >= writeEvery }) ?? true {
                        lastWrite = clock.now
                        let outcome: String
                        do {
                            let result = try await election.writeState(
                                key: "probe",
                                value: "pid \(pid) at \(wall)",
                                epoch: epoch
                            )
                            outcome = result == .written ? "ok" : "refused"
                        } catch {
                            outcome = "failed"
                        }
                        out.line("fenced write with epoch \(epoch) \(outcome) pid \(pid) at \(ProbeOutput.wallClock())")
                    }
                } else {
                    since = nil
                }
                do { try await Task.sleep(for: tick) } catch { break }
            }
        }
    }
}

/// Logs the election's events; after losing the lease (not on shutdown) it tries one state write under the old
/// epoch through the store without faults, which fencing must refuse once someone else holds the lease.
struct EventLog: Service {
    let election: LeaderElection<ContinuousClock>
    let unfencedStore: any LeaseStore
    let out: ProbeOutput

    func run() async throws {
        let pid = getpid()
        for await event in election.events {
            switch event {
            case .becameLeader(let epoch):
                out.line("became leader with epoch \(epoch) pid \(pid) at \(ProbeOutput.wallClock())")
            case .mustStopActing(let epoch, let reason):
                out.line("stopped acting with epoch \(epoch) pid \(pid) at \(ProbeOutput.wallClock()) reason \(reason)")
                guard reason != "shutdown", reason != "election stopped" else { continue }
                let outcome: String
                // The time the write starts: a newer epoch elected before it means the write must be refused.
                let startedAt = ProbeOutput.wallClock()
                do {
                    let result = try await unfencedStore.writeState(
                        FencedStateItem(fleet: election.configuration.fleet, key: "probe", value: "stale from \(pid)"),
                        fencedBy: epoch,
                        holder: election.configuration.holder.id
                    )
                    outcome = result == .written ? "ACCEPTED" : "refused"
                } catch {
                    outcome = "failed"
                }
                out.line("stale write with epoch \(epoch) \(outcome) pid \(pid) at \(startedAt)")
            }
        }
        // The events end when the election stops, which during a graceful shutdown can happen before the group
        // has asked this service to stop; returning then would count as an unexpected exit and fail the process.
        try await gracefulShutdown()
    }
}
