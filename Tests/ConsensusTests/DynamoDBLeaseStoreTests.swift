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

@Suite("DynamoDBLeaseStore on moto", .moto, .serialized)
struct DynamoDBLeaseStoreTests {
    @Test("a conditional put succeeds only against the version it expects, and a read returns what was written")
    func compareAndSwap() async throws {
        try await withDynamoDBStore { (store: DynamoDBLeaseStore, _: MotoServer) async throws in
            try await LeaseStoreContract.compareAndSwap(store)
        }
    }

    @Test("of several clients racing to replace the same version, exactly one wins")
    func race() async throws {
        try await withDynamoDBStore { (store: DynamoDBLeaseStore, _: MotoServer) async throws in
            try await LeaseStoreContract.race(setUp: store, contenders: Array(repeating: store, count: 5))
        }
    }

    @Test("a fenced write (TransactWriteItems with a ConditionCheck on the lease) is refused after a takeover")
    func fencedWrites() async throws {
        try await withDynamoDBStore { (store: DynamoDBLeaseStore, _: MotoServer) async throws in
            try await LeaseStoreContract.fencedWrites(store)
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
                try await store.write(LeaseStoreContract.lease(LeaseStoreContract.alice, epoch: 1), replacing: nil)
            }
            #expect(error?.code == .ambiguous)
        }
    }
}
