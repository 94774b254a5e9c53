import AsyncHTTPClient
import BallastTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import AWSClients

@Suite("DynamoDB against moto (signatures checked)", .moto)
struct DynamoDBTests {
    /// Creates a table keyed by pk (string) and sk (number), waits until ACTIVE, returns its name.
    func makeTable(_ dynamo: DynamoDB) async throws -> String {
        let name = uniqueName("t")
        let created = try await dynamo.createTable(
            .init(
                tableName: name,
                keySchema: [.init("pk", .hash), .init("sk", .range)],
                attributeDefinitions: [.init("pk", .string), .init("sk", .number)]
            )
        )
        #expect(created.tableName == name)
        let table = try await dynamo.waitUntilActive(name, pollInterval: .milliseconds(10))
        #expect(table.tableStatus == .active)
        #expect(table.keySchema == [.init("pk", .hash), .init("sk", .range)])
        return name
    }

    @Test("put, consistent get, update and delete round-trip every attribute type")
    func itemRoundTrip() async throws {
        let moto = try MotoServer.current
        try await withClient(for: moto) { client in
            let dynamo = DynamoDB(client: client)
            let table = try await makeTable(dynamo)
            let key: DynamoDBItem = ["pk": .string("lease"), "sk": .int(1)]
            let item: DynamoDBItem = key.merging([
                "holder": .string("replica-a"), "epoch": .number("7"), "blob": .binary(Data([0, 1, 254, 255])),
                "free": .bool(false), "nothing": .null,
                "list": .list([.string("x"), .int(2), .map(["nested": .bool(true)])]),
                "tags": .stringSet(["a", "b"]), "ports": .numberSet(["80", "443"]),
                "keys": .binarySet([Data([1]), Data([2])]),
            ]) { a, _ in a }
            _ = try await dynamo.putItem(.init(tableName: table, item: item))
            let read = try await dynamo.getItem(.init(tableName: table, key: key, consistentRead: true))
            #expect(read.item?["holder"] == .string("replica-a"))
            #expect(read.item?["blob"] == .binary(Data([0, 1, 254, 255])))
            #expect(read.item?["list"] == item["list"])
            #expect(
                Set(read.item?["ports"].flatMap { if case .numberSet(let v) = $0 { v } else { nil } } ?? []) == [
                    "80", "443",
                ]
            )
            #expect(read.item?["nothing"] == .null)

            let updated = try await dynamo.updateItem(
                .init(
                    tableName: table,
                    key: key,
                    updateExpression: "SET #e = #e + :one, #h = :h",
                    conditionExpression: "#e = :seen",
                    expressionAttributeNames: ["#e": "epoch", "#h": "holder"],
                    expressionAttributeValues: [":one": .int(1), ":h": .string("replica-b"), ":seen": .int(7)],
                    returnValues: .allNew
                )
            )
            #expect(updated.attributes?["epoch"] == .number("8"))
            #expect(updated.attributes?["holder"] == .string("replica-b"))

            let deleted = try await dynamo.deleteItem(
                .init(tableName: table, key: key, conditionExpression: "attribute_exists(pk)", returnValues: .allOld)
            )
            #expect(deleted.attributes?["holder"] == .string("replica-b"))
            let gone = try await dynamo.getItem(.init(tableName: table, key: key, consistentRead: true))
            #expect(gone.item == nil)
        }
    }

    @Test("a false condition throws conditionalCheckFailed carrying the old item when asked")
    func conditionalCheckFailed() async throws {
        let moto = try MotoServer.current
        try await withClient(for: moto) { client in
            let dynamo = DynamoDB(client: client)
            let table = try await makeTable(dynamo)
            let item: DynamoDBItem = ["pk": .string("lease"), "sk": .int(0), "version": .string("v1")]
            _ = try await dynamo.putItem(
                .init(tableName: table, item: item, conditionExpression: "attribute_not_exists(pk)")
            )
            // A second acquire of an existing lease must fail, and say what is there.
            let error = await #expect(throws: AWSError.self) {
                try await dynamo.putItem(
                    .init(
                        tableName: table,
                        item: item.merging(["version": .string("v2")]) { _, b in b },
                        conditionExpression: "attribute_not_exists(pk) OR #v = :expected",
                        expressionAttributeNames: ["#v": "version"],
                        expressionAttributeValues: [":expected": .string("v0")],
                        returnValuesOnConditionCheckFailure: .allOld
                    )
                )
            }
            #expect(error?.code == .conditionalCheckFailed)
            #expect(error?.serviceCode == "ConditionalCheckFailedException")
            #expect(error?.httpStatus == 400)
            #expect(error?.oldItem?["version"] == .string("v1"))
            #expect(error?.attempts == 1)

            let noOld = await #expect(throws: AWSError.self) {
                try await dynamo.deleteItem(
                    .init(
                        tableName: table,
                        key: ["pk": .string("lease"), "sk": .int(0)],
                        conditionExpression: "#v = :x",
                        expressionAttributeNames: ["#v": "version"],
                        expressionAttributeValues: [":x": .string("nope")]
                    )
                )
            }
            #expect(noOld?.code == .conditionalCheckFailed)
            #expect(noOld?.oldItem == nil)
        }
    }

    @Test("transactWriteItems applies a condition check, put, update and delete together")
    func transactionApplies() async throws {
        let moto = try MotoServer.current
        try await withClient(for: moto) { client in
            let dynamo = DynamoDB(client: client)
            let table = try await makeTable(dynamo)
            func key(_ name: String) -> DynamoDBItem { ["pk": .string(name), "sk": .int(0)] }
            for name in ["lease", "counter", "old"] {
                _ = try await dynamo.putItem(
                    .init(tableName: table, item: key(name).merging(["n": .int(1)]) { a, _ in a })
                )
            }
            try await dynamo.transactWriteItems(
                .init([
                    .conditionCheck(
                        .init(
                            tableName: table,
                            key: key("lease"),
                            conditionExpression: "#n = :one",
                            expressionAttributeNames: ["#n": "n"],
                            expressionAttributeValues: [":one": .int(1)]
                        )
                    ),
                    .put(
                        .init(
                            tableName: table,
                            item: key("new").merging(["n": .int(9)]) { a, _ in a },
                            conditionExpression: "attribute_not_exists(pk)"
                        )
                    ),
                    .update(
                        .init(
                            tableName: table,
                            key: key("counter"),
                            updateExpression: "SET #n = #n + :one",
                            conditionExpression: "#n = :one",
                            expressionAttributeNames: ["#n": "n"],
                            expressionAttributeValues: [":one": .int(1)]
                        )
                    ),
                    .delete(.init(tableName: table, key: key("old"), conditionExpression: "attribute_exists(pk)")),
                ])
            )
            func read(_ name: String) async throws -> DynamoDBItem? {
                try await dynamo.getItem(.init(tableName: table, key: key(name), consistentRead: true)).item
            }
            #expect(try await read("lease")?["n"] == .number("1"))
            #expect(try await read("new")?["n"] == .number("9"))
            #expect(try await read("counter")?["n"] == .number("2"))
            #expect(try await read("old") == nil)
        }
    }

    @Test("a cancelled transaction writes nothing and throws TransactionCanceled with a reason per item")
    func transactionCancelled() async throws {
        let moto = try MotoServer.current
        try await withClient(for: moto) { client in
            let dynamo = DynamoDB(client: client)
            let table = try await makeTable(dynamo)
            let lease: DynamoDBItem = ["pk": .string("lease"), "sk": .int(0), "epoch": .int(4)]
            _ = try await dynamo.putItem(.init(tableName: table, item: lease))
            let state: DynamoDBItem = ["pk": .string("state"), "sk": .int(0), "value": .string("x")]
            let canceled = await #expect(throws: DynamoDB.TransactionCanceled.self) {
                try await dynamo.transactWriteItems(
                    .init([
                        .put(.init(tableName: table, item: state)),
                        .conditionCheck(
                            .init(
                                tableName: table,
                                key: ["pk": .string("lease"), "sk": .int(0)],
                                conditionExpression: "#e = :epoch",
                                expressionAttributeNames: ["#e": "epoch"],
                                expressionAttributeValues: [":epoch": .int(3)],
                                returnValuesOnConditionCheckFailure: .allOld
                            )
                        ),
                    ])
                )
            }
            #expect(canceled?.reasons.map(\.code) == [.none, .conditionalCheckFailed])
            #expect(canceled?.reasons.last?.item?["epoch"] == .number("4"))
            #expect(canceled?.conditionFailed == true)
            #expect(canceled?.error.serviceCode == "TransactionCanceledException")
            #expect(canceled?.error.httpStatus == 400)
            let written = try await dynamo.getItem(
                .init(tableName: table, key: ["pk": .string("state"), "sk": .int(0)], consistentRead: true)
            )
            #expect(written.item == nil)
        }
    }

    @Test("query follows LastEvaluatedKey across pages")
    func queryPagination() async throws {
        let moto = try MotoServer.current
        try await withClient(for: moto) { client in
            let dynamo = DynamoDB(client: client)
            let table = try await makeTable(dynamo)
            for n in 0..<7 {
                _ = try await dynamo.putItem(
                    .init(tableName: table, item: ["pk": .string("metrics"), "sk": .int(n), "v": .int(n * n)])
                )
            }
            _ = try await dynamo.putItem(.init(tableName: table, item: ["pk": .string("other"), "sk": .int(0)]))
            let query = DynamoDB.QueryInput(
                tableName: table,
                keyConditionExpression: "pk = :p AND sk >= :from",
                expressionAttributeValues: [":p": .string("metrics"), ":from": .int(1)],
                consistentRead: true,
                limit: 2
            )
            let first = try await dynamo.query(query)
            #expect(first.items.count == 2)
            #expect(first.lastEvaluatedKey?["sk"] == .int(2))
            let all = try await dynamo.queryAll(query)
            #expect(all.map { $0["sk"]?.intValue } == [1, 2, 3, 4, 5, 6])
            var reversed = query
            reversed.scanIndexForward = false
            reversed.limit = nil
            #expect(try await dynamo.queryAll(reversed).first?["v"] == .int(36))
        }
    }

    @Test("a missing table is resourceNotFound with the request id")
    func missingTable() async throws {
        let moto = try MotoServer.current
        try await withClient(for: moto) { client in
            let dynamo = DynamoDB(client: client)
            let error = await #expect(throws: AWSError.self) { try await dynamo.describeTable("does-not-exist") }
            #expect(error?.code == .resourceNotFound)
            #expect(error?.operation == "DescribeTable")
            #expect(error?.service == "dynamodb")
            #expect(error?.requestID?.isEmpty == false)
        }
    }

    @Test("a wrong secret is refused by moto's signature check, and the error does not show the secret")
    func wrongSecret() async throws {
        let moto = try MotoServer.current
        let wrong = "wrong-secret-\(UUID().uuidString)"
        try await withClient(for: moto, secret: wrong) { client in
            let error = await #expect(throws: AWSError.self) {
                try await DynamoDB(client: client).getItem(.init(tableName: "t", key: ["pk": .string("x")]))
            }
            #expect(error?.code == .authenticationFailed)
            #expect(error?.serviceCode == "SignatureDoesNotMatch")
            #expect(error?.httpStatus == 403)
            #expect(error?.attempts == 1)
            #expect(!"\(String(describing: error))".contains(wrong))
        }
    }
}

@Suite("DynamoDB replies from a scripted peer")
struct DynamoDBScriptedTests {
    static func table(_ status: String) -> ScriptedHTTPServer.Reply {
        .init(
            body:
                #"{"Table":{"TableName":"leases","TableStatus":"\#(status)","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}]}}"#
        )
    }

    /// Runs waitUntilActive against scripted DescribeTable replies, recording the waits instead of sleeping.
    func wait(
        replies: [ScriptedHTTPServer.Reply],
        maxPolls: Int
    ) async throws -> (Result<DynamoDB.TableDescription, AWSError>, [Duration]) {
        try await ScriptedHTTPServer.with(routes: ["POST /": replies]) { server in
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            let sleeps = Mutex<[Duration]>([])
            var configuration = AWSClient.Configuration(region: "us-east-1", endpoints: ["dynamodb": server.endpoint])
            configuration.sleep = { duration in sleeps.withLock { $0.append(duration) } }
            let client = AWSClient(
                httpClient: http,
                credentialsProvider: StaticCredentialsProvider(.init(accessKeyID: "AKID", secretAccessKey: "s")),
                configuration: configuration,
                logger: Logger(label: "test")
            )
            let result: Result<DynamoDB.TableDescription, AWSError>
            do {
                result = .success(
                    try await DynamoDB(client: client).waitUntilActive(
                        "leases",
                        pollInterval: .seconds(2),
                        maxPolls: maxPolls
                    )
                )
            } catch let error as AWSError {
                result = .failure(error)
            }
            try await http.shutdown()
            return (result, sleeps.withLock { $0 })
        }
    }

    @Test("waitUntilActive polls through CREATING until ACTIVE, waiting the poll interval between")
    func waitsForActive() async throws {
        let (result, sleeps) = try await wait(
            replies: [Self.table("CREATING"), Self.table("CREATING"), Self.table("ACTIVE")],
            maxPolls: 10
        )
        #expect(try result.get().tableStatus == .active)
        #expect(sleeps == [.seconds(2), .seconds(2)])
    }

    @Test("waitUntilActive gives up after maxPolls with the status it last saw")
    func givesUp() async throws {
        let (result, sleeps) = try await wait(replies: [Self.table("CREATING")], maxPolls: 3)
        guard case .failure(let error) = result else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .service(code: "TableNotActive", message: "table leases is creating"))
        #expect(sleeps.count == 2)
    }
}
