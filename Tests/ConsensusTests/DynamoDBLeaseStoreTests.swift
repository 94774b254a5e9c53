import AWSClients
import AsyncHTTPClient
import BallastTestSupport
import Foundation
import Logging
import Testing

@testable import Consensus

/// A DynamoDB lease store on the suite's moto server, in a table of its own, with the client settings the
/// lease needs (no client retries, a short request timeout).
func withDynamoDBStore<T: Sendable>(
    endpoint: String? = nil,
    createTable: Bool = true,
    _ body: (DynamoDBLeaseStore, MotoServer) async throws -> T
) async throws -> T {
    let moto = try MotoServer.current
    let http = HTTPClient(eventLoopGroupProvider: .singleton)
    // The set-up keeps the default retries and timeout: on a busy machine moto can take over a second to
    // create a table, which says nothing about the lease.
    let setUp = AWSClient(
        httpClient: http,
        credentialsProvider: StaticCredentialsProvider(
            AWSCredentials(accessKeyID: moto.accessKeyID, secretAccessKey: moto.secretAccessKey)
        ),
        configuration: AWSClient.Configuration(region: moto.region, endpoints: ["dynamodb": endpoint ?? moto.endpoint]),
        logger: Logger(label: "test.dynamodb")
    )
    var configuration = setUp.configuration
    configuration.retry = RetryPolicy(maxAttempts: 1)
    configuration.requestTimeout = .seconds(1)
    let client = AWSClient(
        httpClient: http,
        credentialsProvider: setUp.credentialsProvider,
        configuration: configuration,
        logger: Logger(label: "test.dynamodb")
    )
    let table = "lease-\(UUID().uuidString.prefix(8).lowercased())"
    let result: Result<T, any Error>
    do {
        if createTable { try await DynamoDBLeaseStore.createTable(table, dynamoDB: DynamoDB(client: setUp)) }
        let store = DynamoDBLeaseStore(dynamoDB: DynamoDB(client: client), tableName: table)
        result = .success(try await body(store, moto))
    } catch {
        result = .failure(error)
    }
    try await http.shutdown()
    return try result.get()
}

private let alice = LeaseHolder(id: "alice", address: "127.0.0.1:1")
private let bob = LeaseHolder(id: "bob", address: "127.0.0.1:2")

private func lease(_ holder: LeaseHolder?, epoch: UInt64) -> LeaseRecord {
    LeaseRecord(
        fleet: "f",
        holder: holder,
        version: .random(),
        leaseDuration: .milliseconds(2500),
        epoch: FencingEpoch(epoch)
    )
}

@Suite("DynamoDBLeaseStore on moto", .moto, .serialized)
struct DynamoDBLeaseStoreTests {
    @Test("a conditional put succeeds only against the version it expects, and a read returns what was written")
    func compareAndSwap() async throws {
        try await withDynamoDBStore { (store: DynamoDBLeaseStore, _: MotoServer) async throws in
            #expect(try await store.read(fleet: "f") == nil)
            let first = lease(alice, epoch: 1)
            #expect(try await store.write(first, replacing: nil) == .written)
            #expect(try await store.write(lease(bob, epoch: 1), replacing: nil) == .versionMismatch)
            #expect(try await store.read(fleet: "f") == first)
            #expect(try await store.write(lease(bob, epoch: 2), replacing: .random()) == .versionMismatch)
            let free = lease(nil, epoch: 1)
            #expect(try await store.write(free, replacing: first.version) == .written)
            #expect(try await store.read(fleet: "f") == free)
            #expect(try await store.read(fleet: "other") == nil)
        }
    }

    @Test("of several clients racing to replace the same version, exactly one wins")
    func race() async throws {
        try await withDynamoDBStore { (store: DynamoDBLeaseStore, _: MotoServer) async throws in
            let initial = lease(nil, epoch: 3)
            #expect(try await store.write(initial, replacing: nil) == .written)
            let wins = try await withThrowingTaskGroup(of: LeaseWriteOutcome.self) { group in
                for index in 0..<5 {
                    group.addTask {
                        try await store.write(
                            lease(LeaseHolder(id: "h\(index)", address: ""), epoch: 4),
                            replacing: initial.version
                        )
                    }
                }
                return try await group.reduce(into: 0) { $0 += $1 == .written ? 1 : 0 }
            }
            #expect(wins == 1)
        }
    }

    @Test("a fenced write (TransactWriteItems with a ConditionCheck on the lease) is refused after a takeover")
    func fencedWrites() async throws {
        try await withDynamoDBStore { (store: DynamoDBLeaseStore, _: MotoServer) async throws in
            let aliceLease = lease(alice, epoch: 4)
            #expect(try await store.write(aliceLease, replacing: nil) == .written)
            let item = FencedStateItem(fleet: "f", key: "plan", value: "{\"generation\":1}")
            #expect(try await store.writeState(item, fencedBy: FencingEpoch(4), holder: "alice") == .written)
            #expect(
                try await store.readState(fleet: "f", key: "plan")
                    == FencedStateItem(fleet: "f", key: "plan", value: "{\"generation\":1}", epoch: FencingEpoch(4))
            )
            #expect(
                try await store.writeState(item, fencedBy: FencingEpoch(4), holder: "bob")
                    == .refused(currentEpoch: FencingEpoch(4))
            )
            #expect(try await store.write(lease(bob, epoch: 5), replacing: aliceLease.version) == .written)
            var late = item
            late.value = "{\"generation\":0}"
            #expect(
                try await store.writeState(late, fencedBy: FencingEpoch(4), holder: "alice")
                    == .refused(currentEpoch: FencingEpoch(5))
            )
            #expect(try await store.readState(fleet: "f", key: "plan")?.value == "{\"generation\":1}")
        }
    }

    @Test("a missing table is reported as a configuration error, an unreachable endpoint as ambiguous")
    func errors() async throws {
        try await withDynamoDBStore { (store: DynamoDBLeaseStore, _: MotoServer) async throws in
            let missing = DynamoDBLeaseStore(dynamoDB: store.dynamoDB, tableName: "no-such-table")
            let error = await #expect(throws: LeaseStoreError.self) { try await missing.read(fleet: "f") }
            #expect(error?.code == .misconfigured)
        }
        let closedPort = try FreePort.next()
        try await withDynamoDBStore(endpoint: "http://127.0.0.1:\(closedPort)", createTable: false) {
            (store: DynamoDBLeaseStore, _: MotoServer) async throws in
            let error = await #expect(throws: LeaseStoreError.self) {
                try await store.write(lease(alice, epoch: 1), replacing: nil)
            }
            #expect(error?.code == .ambiguous)
        }
    }
}
