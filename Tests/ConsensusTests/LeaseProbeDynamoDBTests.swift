import AWSClients
import BallastTestSupport
import Foundation
import Testing

@testable import Consensus

/// Runs `body` with a probe fleet whose store is a fresh table on the suite's moto server, reached through a
/// fault proxy (no faults until the test sets some).
private func withMotoFleet(
    extraArguments: [String] = [],
    _ body: (ProbeFleet, FaultProxy) async throws -> Void
) async throws {
    let fleet = try ProbeFleet(extraArguments: extraArguments)
    defer { fleet.remove() }
    try await withDynamoDBStore { (store: DynamoDBLeaseStore, moto: MotoServer) async throws in
        let proxy = try await FaultProxy.start(upstreamPort: moto.port, directory: fleet.directory)
        fleet.storeArguments = [
            "--dynamodb-endpoint", proxy.endpoint, "--dynamodb-table", store.tableName, "--region", moto.region,
        ]
        fleet.environment = ["AWS_ACCESS_KEY_ID": moto.accessKeyID, "AWS_SECRET_ACCESS_KEY": moto.secretAccessKey]
        do {
            try await body(fleet, proxy)
        } catch {
            await fleet.stopAll()
            await proxy.stop()
            throw error
        }
        await fleet.stopAll()
        await proxy.stop()
    }
}

extension RealTimeSuites {
    @Suite("lease-probe processes on a DynamoDB lease (moto)", .moto)
    struct LeaseProbeDynamoDBTests {
        @Test("kill -9 of the leader: another process acts within leaseDuration + one poll, never overlapping")
        func crashTakeover() async throws {
            try await withMotoFleet { fleet, _ in
                let samples = try await ProbeScenario.crashTakeovers(fleet)
                print(
                    "dynamodb crash takeover seconds: \(samples.map { String(format: "%.3f", $0) }) median \(median(samples))"
                )
                #expect(samples.allSatisfy { $0 <= 4.0 }, "takeovers: \(samples) (goal: leaseDuration + 2 s)")
                // The protocol bound, leaseDuration + one poll (2.1 s) plus store round trips, for the typical run.
                #expect(median(samples) <= 2.6, "takeovers: \(samples)")
            }
        }

        @Test("SIGTERM of the leader: it releases and another process acts within 1 s")
        func gracefulTakeover() async throws {
            try await withMotoFleet { fleet, _ in
                let samples = try await ProbeScenario.gracefulTakeovers(fleet)
                print(
                    "dynamodb graceful takeover seconds: \(samples.map { String(format: "%.3f", $0) }) median \(median(samples))"
                )
                #expect(samples.allSatisfy { $0 <= 1.0 }, "takeovers: \(samples)")
            }
        }

        @Test(
            "a leader stopped (SIGSTOP) past its lease stops acting before the next leader starts, and its old epoch is fenced"
        )
        func pausedLeader() async throws {
            try await withMotoFleet { fleet, _ in try await ProbeScenario.pausedLeader(fleet) }
        }

        @Test(
            "with DynamoDB unreachable the leader stops by its renew deadline, nobody acts, and exactly one leads after"
        )
        func unreachable() async throws {
            try await withMotoFleet { fleet, proxy in
                try await ProbeScenario.storeUnavailable(
                    fleet,
                    makeUnavailable: { try proxy.set(.init(blackhole: true)) },
                    restore: { try proxy.set(.init()) }
                )
            }
        }

        @Test(
            "through a proxy that loses replies, answers 503 and delivers writes late, acting intervals never overlap"
        )
        func ambiguousRenewals() async throws {
            try await withMotoFleet { fleet, proxy in
                try proxy.set(.init(drop: 0.08, before503: 0.08, after503: 0.08, late: 0.04))
                try await ProbeScenario.ambiguousRenewals(fleet)
            }
        }
    }
}
