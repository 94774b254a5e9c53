import Foundation
import Logging

/// A DynamoDB client over the JSON 1.0 protocol (`X-Amz-Target: DynamoDB_20120810.<Operation>`): the item
/// operations with conditions, Query with pagination, and table bootstrap.
///
/// A failed condition throws `AWSError` with code `.conditionalCheckFailed` and, when the request asked for
/// `returnValuesOnConditionCheckFailure: .allOld`, the item as it was in `oldItem`.
public struct DynamoDB: Sendable {
    public let client: AWSClient

    public init(client: AWSClient) { self.client = client }

    // MARK: Inputs and outputs

    /// Which attributes a write returns; nil (DynamoDB's `NONE`) returns none. There is no `.none` case on
    /// purpose: it would read as `Optional.none` at call sites.
    public enum ReturnValues: String, Sendable, Codable {
        case allOld = "ALL_OLD"
        case updatedOld = "UPDATED_OLD"
        case allNew = "ALL_NEW"
        case updatedNew = "UPDATED_NEW"
    }

    /// Whether a failed condition returns the item as it was; nil (`NONE`) does not.
    public enum ReturnValuesOnConditionCheckFailure: String, Sendable, Codable {
        case allOld = "ALL_OLD"
    }

    public struct GetItemInput: Sendable, Encodable {
        public var tableName: String
        public var key: DynamoDBItem
        /// Strongly consistent read (reads every write acknowledged before it). Default false.
        public var consistentRead: Bool?
        public var projectionExpression: String?
        public var expressionAttributeNames: [String: String]?

        public init(
            tableName: String,
            key: DynamoDBItem,
            consistentRead: Bool? = nil,
            projectionExpression: String? = nil,
            expressionAttributeNames: [String: String]? = nil
        ) {
            self.tableName = tableName
            self.key = key
            self.consistentRead = consistentRead
            self.projectionExpression = projectionExpression
            self.expressionAttributeNames = expressionAttributeNames
        }

        enum CodingKeys: String, CodingKey {
            case tableName = "TableName"
            case key = "Key"
            case consistentRead = "ConsistentRead"
            case projectionExpression = "ProjectionExpression"
            case expressionAttributeNames = "ExpressionAttributeNames"
        }
    }

    public struct GetItemOutput: Sendable, Decodable {
        /// Nil when no item has that key.
        public var item: DynamoDBItem?
        enum CodingKeys: String, CodingKey { case item = "Item" }
    }

    public struct PutItemInput: Sendable, Encodable {
        public var tableName: String
        public var item: DynamoDBItem
        public var conditionExpression: String?
        public var expressionAttributeNames: [String: String]?
        public var expressionAttributeValues: DynamoDBItem?
        public var returnValues: ReturnValues?
        public var returnValuesOnConditionCheckFailure: ReturnValuesOnConditionCheckFailure?

        public init(
            tableName: String,
            item: DynamoDBItem,
            conditionExpression: String? = nil,
            expressionAttributeNames: [String: String]? = nil,
            expressionAttributeValues: DynamoDBItem? = nil,
            returnValues: ReturnValues? = nil,
            returnValuesOnConditionCheckFailure: ReturnValuesOnConditionCheckFailure? = nil
        ) {
            self.tableName = tableName
            self.item = item
            self.conditionExpression = conditionExpression
            self.expressionAttributeNames = expressionAttributeNames
            self.expressionAttributeValues = expressionAttributeValues
            self.returnValues = returnValues
            self.returnValuesOnConditionCheckFailure = returnValuesOnConditionCheckFailure
        }

        enum CodingKeys: String, CodingKey {
            case tableName = "TableName"
            case item = "Item"
            case conditionExpression = "ConditionExpression"
            case expressionAttributeNames = "ExpressionAttributeNames"
            case expressionAttributeValues = "ExpressionAttributeValues"
            case returnValues = "ReturnValues"
            case returnValuesOnConditionCheckFailure = "ReturnValuesOnConditionCheckFailure"
        }
    }

    /// The attributes a write returned (per its `returnValues`), empty when it asked for none.
    public struct WriteOutput: Sendable, Decodable {
        public var attributes: DynamoDBItem?
        enum CodingKeys: String, CodingKey { case attributes = "Attributes" }
    }

    public struct UpdateItemInput: Sendable, Encodable {
        public var tableName: String
        public var key: DynamoDBItem
        public var updateExpression: String
        public var conditionExpression: String?
        public var expressionAttributeNames: [String: String]?
        public var expressionAttributeValues: DynamoDBItem?
        public var returnValues: ReturnValues?
        public var returnValuesOnConditionCheckFailure: ReturnValuesOnConditionCheckFailure?

        public init(
            tableName: String,
            key: DynamoDBItem,
            updateExpression: String,
            conditionExpression: String? = nil,
            expressionAttributeNames: [String: String]? = nil,
            expressionAttributeValues: DynamoDBItem? = nil,
            returnValues: ReturnValues? = nil,
            returnValuesOnConditionCheckFailure: ReturnValuesOnConditionCheckFailure? = nil
        ) {
            self.tableName = tableName
            self.key = key
            self.updateExpression = updateExpression
            self.conditionExpression = conditionExpression
            self.expressionAttributeNames = expressionAttributeNames
            self.expressionAttributeValues = expressionAttributeValues
            self.returnValues = returnValues
            self.returnValuesOnConditionCheckFailure = returnValuesOnConditionCheckFailure
        }

        enum CodingKeys: String, CodingKey {
            case tableName = "TableName"
            case key = "Key"
            case updateExpression = "UpdateExpression"
            case conditionExpression = "ConditionExpression"
            case expressionAttributeNames = "ExpressionAttributeNames"
            case expressionAttributeValues = "ExpressionAttributeValues"
            case returnValues = "ReturnValues"
            case returnValuesOnConditionCheckFailure = "ReturnValuesOnConditionCheckFailure"
        }
    }

    public struct DeleteItemInput: Sendable, Encodable {
        public var tableName: String
        public var key: DynamoDBItem
        public var conditionExpression: String?
        public var expressionAttributeNames: [String: String]?
        public var expressionAttributeValues: DynamoDBItem?
        public var returnValues: ReturnValues?
        public var returnValuesOnConditionCheckFailure: ReturnValuesOnConditionCheckFailure?

        public init(
            tableName: String,
            key: DynamoDBItem,
            conditionExpression: String? = nil,
            expressionAttributeNames: [String: String]? = nil,
            expressionAttributeValues: DynamoDBItem? = nil,
            returnValues: ReturnValues? = nil,
            returnValuesOnConditionCheckFailure: ReturnValuesOnConditionCheckFailure? = nil
        ) {
            self.tableName = tableName
            self.key = key
            self.conditionExpression = conditionExpression
            self.expressionAttributeNames = expressionAttributeNames
            self.expressionAttributeValues = expressionAttributeValues
            self.returnValues = returnValues
            self.returnValuesOnConditionCheckFailure = returnValuesOnConditionCheckFailure
        }

        enum CodingKeys: String, CodingKey {
            case tableName = "TableName"
            case key = "Key"
            case conditionExpression = "ConditionExpression"
            case expressionAttributeNames = "ExpressionAttributeNames"
            case expressionAttributeValues = "ExpressionAttributeValues"
            case returnValues = "ReturnValues"
            case returnValuesOnConditionCheckFailure = "ReturnValuesOnConditionCheckFailure"
        }
    }

    public struct QueryInput: Sendable, Encodable {
        public var tableName: String
        public var indexName: String?
        public var keyConditionExpression: String
        public var filterExpression: String?
        public var projectionExpression: String?
        public var expressionAttributeNames: [String: String]?
        public var expressionAttributeValues: DynamoDBItem?
        public var consistentRead: Bool?
        /// Ascending sort-key order when true or nil.
        public var scanIndexForward: Bool?
        /// The most items evaluated per page.
        public var limit: Int?
        /// Where the page starts: the previous page's `lastEvaluatedKey`.
        public var exclusiveStartKey: DynamoDBItem?

        public init(
            tableName: String,
            indexName: String? = nil,
            keyConditionExpression: String,
            filterExpression: String? = nil,
            projectionExpression: String? = nil,
            expressionAttributeNames: [String: String]? = nil,
            expressionAttributeValues: DynamoDBItem? = nil,
            consistentRead: Bool? = nil,
            scanIndexForward: Bool? = nil,
            limit: Int? = nil,
            exclusiveStartKey: DynamoDBItem? = nil
        ) {
            self.tableName = tableName
            self.indexName = indexName
            self.keyConditionExpression = keyConditionExpression
            self.filterExpression = filterExpression
            self.projectionExpression = projectionExpression
            self.expressionAttributeNames = expressionAttributeNames
            self.expressionAttributeValues = expressionAttributeValues
            self.consistentRead = consistentRead
            self.scanIndexForward = scanIndexForward
            self.limit = limit
            self.exclusiveStartKey = exclusiveStartKey
        }

        enum CodingKeys: String, CodingKey {
            case tableName = "TableName"
            case indexName = "IndexName"
            case keyConditionExpression = "KeyConditionExpression"
            case filterExpression = "FilterExpression"
            case projectionExpression = "ProjectionExpression"
            case expressionAttributeNames = "ExpressionAttributeNames"
            case expressionAttributeValues = "ExpressionAttributeValues"
            case consistentRead = "ConsistentRead"
            case scanIndexForward = "ScanIndexForward"
            case limit = "Limit"
            case exclusiveStartKey = "ExclusiveStartKey"
        }
    }

    public struct QueryOutput: Sendable, Decodable {
        public var items: [DynamoDBItem]
        /// Set when there are more pages: pass it as the next `exclusiveStartKey`.
        public var lastEvaluatedKey: DynamoDBItem?
        public var count: Int

        enum CodingKeys: String, CodingKey {
            case items = "Items"
            case lastEvaluatedKey = "LastEvaluatedKey"
            case count = "Count"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            items = try c.decodeIfPresent([DynamoDBItem].self, forKey: .items) ?? []
            lastEvaluatedKey = try c.decodeIfPresent(DynamoDBItem.self, forKey: .lastEvaluatedKey)
            count = try c.decodeIfPresent(Int.self, forKey: .count) ?? items.count
        }
    }

    /// Up to 100 writes applied all together or not at all (TransactWriteItems). Each item may carry a condition;
    /// when any condition is false, or the transaction conflicts with another, nothing is written and the call
    /// throws ``TransactionCanceled`` with one reason per item, in the order of `transactItems`.
    public struct TransactWriteItemsInput: Sendable, Encodable {
        public var transactItems: [TransactWriteItem]
        /// Makes the call idempotent for ten minutes: a retry with the same token is not applied twice.
        public var clientRequestToken: String?

        public init(_ transactItems: [TransactWriteItem], clientRequestToken: String? = nil) {
            self.transactItems = transactItems
            self.clientRequestToken = clientRequestToken
        }

        enum CodingKeys: String, CodingKey {
            case transactItems = "TransactItems"
            case clientRequestToken = "ClientRequestToken"
        }
    }

    /// One write of a transaction: a condition on an item that is not written, or a Put, Update or Delete as
    /// `putItem`, `updateItem` and `deleteItem` take them. A transaction returns no attributes, so their
    /// `returnValues` must be nil; a request with one fails to encode (`AWSError` `.invalidRequest`), not sent.
    public enum TransactWriteItem: Sendable, Encodable {
        case conditionCheck(ConditionCheck)
        case put(PutItemInput)
        case update(UpdateItemInput)
        case delete(DeleteItemInput)

        /// A condition on an item the transaction does not write (DynamoDB's ConditionCheck).
        public struct ConditionCheck: Sendable, Encodable {
            public var tableName: String
            public var key: DynamoDBItem
            public var conditionExpression: String
            public var expressionAttributeNames: [String: String]?
            public var expressionAttributeValues: DynamoDBItem?
            public var returnValuesOnConditionCheckFailure: ReturnValuesOnConditionCheckFailure?

            public init(
                tableName: String,
                key: DynamoDBItem,
                conditionExpression: String,
                expressionAttributeNames: [String: String]? = nil,
                expressionAttributeValues: DynamoDBItem? = nil,
                returnValuesOnConditionCheckFailure: ReturnValuesOnConditionCheckFailure? = nil
            ) {
                self.tableName = tableName
                self.key = key
                self.conditionExpression = conditionExpression
                self.expressionAttributeNames = expressionAttributeNames
                self.expressionAttributeValues = expressionAttributeValues
                self.returnValuesOnConditionCheckFailure = returnValuesOnConditionCheckFailure
            }

            enum CodingKeys: String, CodingKey {
                case tableName = "TableName"
                case key = "Key"
                case conditionExpression = "ConditionExpression"
                case expressionAttributeNames = "ExpressionAttributeNames"
                case expressionAttributeValues = "ExpressionAttributeValues"
                case returnValuesOnConditionCheckFailure = "ReturnValuesOnConditionCheckFailure"
            }
        }

        enum CodingKeys: String, CodingKey {
            case conditionCheck = "ConditionCheck"
            case put = "Put"
            case update = "Update"
            case delete = "Delete"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            func refuseReturnValues(_ returnValues: ReturnValues?) throws {
                guard let returnValues else { return }
                throw EncodingError.invalidValue(
                    returnValues,
                    .init(
                        codingPath: container.codingPath,
                        debugDescription: "a transaction returns no attributes: returnValues must be nil"
                    )
                )
            }
            switch self {
            case .conditionCheck(let check):
                try container.encode(check, forKey: .conditionCheck)
            case .put(let put):
                try refuseReturnValues(put.returnValues)
                try container.encode(put, forKey: .put)
            case .update(let update):
                try refuseReturnValues(update.returnValues)
                try container.encode(update, forKey: .update)
            case .delete(let delete):
                try refuseReturnValues(delete.returnValues)
                try container.encode(delete, forKey: .delete)
            }
        }
    }

    /// Why one item of a cancelled transaction stopped it, or `.none` for an item that did not.
    public struct CancellationReason: Sendable, Equatable {
        /// DynamoDB's reason code; an unknown one is kept as sent.
        public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
            public var rawValue: String
            public init(rawValue: String) { self.rawValue = rawValue }

            /// This item did not stop the transaction.
            public static let none = Code(rawValue: "None")
            /// This item's condition was false.
            public static let conditionalCheckFailed = Code(rawValue: "ConditionalCheckFailed")
            /// Another transaction or write on this item was in progress; retrying may succeed.
            public static let transactionConflict = Code(rawValue: "TransactionConflict")
            public static let itemCollectionSizeLimitExceeded = Code(rawValue: "ItemCollectionSizeLimitExceeded")
            public static let provisionedThroughputExceeded = Code(rawValue: "ProvisionedThroughputExceeded")
            public static let throttlingError = Code(rawValue: "ThrottlingError")
            public static let validationError = Code(rawValue: "ValidationError")

            public var description: String { rawValue }
        }

        public var code: Code
        public var message: String?
        /// For `.conditionalCheckFailed` when the item asked for `returnValuesOnConditionCheckFailure: .allOld`:
        /// the item as it was.
        public var item: DynamoDBItem?

        public init(code: Code, message: String? = nil, item: DynamoDBItem? = nil) {
            self.code = code
            self.message = message
            self.item = item
        }
    }

    /// A transaction DynamoDB cancelled (`TransactionCanceledException`): nothing of it was written. `reasons`
    /// has one entry per item, in request order; `error` is the reply as an `AWSError` (status, request id).
    public struct TransactionCanceled: Error, Sendable, Equatable, CustomStringConvertible {
        public var reasons: [CancellationReason]
        public var error: AWSError

        public init(reasons: [CancellationReason], error: AWSError) {
            self.reasons = reasons
            self.error = error
        }

        /// Whether some item's condition was false (as opposed to a conflict or throttling, which a retry may
        /// get past).
        public var conditionFailed: Bool { reasons.contains { $0.code == .conditionalCheckFailed } }

        public var description: String {
            "TransactionCanceled([\(reasons.map(\.code.rawValue).joined(separator: ", "))]): \(error)"
        }
    }

    /// The type of a key attribute.
    public enum ScalarType: String, Sendable, Codable {
        case string = "S"
        case number = "N"
        case binary = "B"
    }
    /// Partition (`hash`) or sort (`range`) key.
    public enum KeyType: String, Sendable, Codable {
        case hash = "HASH"
        case range = "RANGE"
    }

    public struct KeySchemaElement: Sendable, Codable, Equatable {
        public var attributeName: String
        public var keyType: KeyType
        public init(_ attributeName: String, _ keyType: KeyType) {
            self.attributeName = attributeName
            self.keyType = keyType
        }
        enum CodingKeys: String, CodingKey {
            case attributeName = "AttributeName"
            case keyType = "KeyType"
        }
    }

    public struct AttributeDefinition: Sendable, Codable, Equatable {
        public var attributeName: String
        public var attributeType: ScalarType
        public init(_ attributeName: String, _ attributeType: ScalarType) {
            self.attributeName = attributeName
            self.attributeType = attributeType
        }
        enum CodingKeys: String, CodingKey {
            case attributeName = "AttributeName"
            case attributeType = "AttributeType"
        }
    }

    /// A table with on-demand (pay-per-request) billing, the mode Ballast's tables use.
    public struct CreateTableInput: Sendable, Encodable {
        public var tableName: String
        public var keySchema: [KeySchemaElement]
        public var attributeDefinitions: [AttributeDefinition]
        let billingMode = "PAY_PER_REQUEST"

        public init(tableName: String, keySchema: [KeySchemaElement], attributeDefinitions: [AttributeDefinition]) {
            self.tableName = tableName
            self.keySchema = keySchema
            self.attributeDefinitions = attributeDefinitions
        }

        enum CodingKeys: String, CodingKey {
            case tableName = "TableName"
            case keySchema = "KeySchema"
            case attributeDefinitions = "AttributeDefinitions"
            case billingMode = "BillingMode"
        }
    }

    public enum TableStatus: Sendable, Equatable, Codable {
        case creating, updating, deleting, active, inaccessibleEncryptionCredentials, archiving, archived
        case other(String)

        public init(from decoder: any Decoder) throws {
            let raw = try decoder.singleValueContainer().decode(String.self)
            switch raw {
            case "CREATING": self = .creating
            case "UPDATING": self = .updating
            case "DELETING": self = .deleting
            case "ACTIVE": self = .active
            case "INACCESSIBLE_ENCRYPTION_CREDENTIALS": self = .inaccessibleEncryptionCredentials
            case "ARCHIVING": self = .archiving
            case "ARCHIVED": self = .archived
            default: self = .other(raw)
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .creating: try c.encode("CREATING")
            case .updating: try c.encode("UPDATING")
            case .deleting: try c.encode("DELETING")
            case .active: try c.encode("ACTIVE")
            case .inaccessibleEncryptionCredentials: try c.encode("INACCESSIBLE_ENCRYPTION_CREDENTIALS")
            case .archiving: try c.encode("ARCHIVING")
            case .archived: try c.encode("ARCHIVED")
            case .other(let raw): try c.encode(raw)
            }
        }
    }

    public struct TableDescription: Sendable, Decodable, Equatable {
        public var tableName: String
        public var tableStatus: TableStatus
        public var keySchema: [KeySchemaElement]
        public var itemCount: Int?
        public var tableArn: String?

        enum CodingKeys: String, CodingKey {
            case tableName = "TableName"
            case tableStatus = "TableStatus"
            case keySchema = "KeySchema"
            case itemCount = "ItemCount"
            case tableArn = "TableArn"
        }
    }

    // MARK: Operations

    public func getItem(_ input: GetItemInput) async throws -> GetItemOutput {
        try await call("GetItem", input)
    }

    public func putItem(_ input: PutItemInput) async throws -> WriteOutput {
        try await call("PutItem", input)
    }

    public func updateItem(_ input: UpdateItemInput) async throws -> WriteOutput {
        try await call("UpdateItem", input)
    }

    public func deleteItem(_ input: DeleteItemInput) async throws -> WriteOutput {
        try await call("DeleteItem", input)
    }

    /// Applies the writes all together or not at all; throws ``TransactionCanceled`` when DynamoDB cancels the
    /// transaction (a false condition, a conflict), `AWSError` for any other failure.
    public func transactWriteItems(_ input: TransactWriteItemsInput) async throws {
        struct Output: Decodable {}
        do {
            let _: Output = try await call("TransactWriteItems", input)
        } catch let error as AWSError where error.serviceCode == "TransactionCanceledException" {
            throw TransactionCanceled(reasons: error.cancellationReasons ?? [], error: error)
        }
    }

    /// One page of a query; follow `lastEvaluatedKey` for the rest, or use ``queryAll(_:)``.
    public func query(_ input: QueryInput) async throws -> QueryOutput {
        try await call("Query", input)
    }

    /// Every item the query matches, following `LastEvaluatedKey` page by page.
    public func queryAll(_ input: QueryInput) async throws -> [DynamoDBItem] {
        var input = input
        var items: [DynamoDBItem] = []
        while true {
            let page = try await query(input)
            items += page.items
            guard let next = page.lastEvaluatedKey, !next.isEmpty else { return items }
            input.exclusiveStartKey = next
        }
    }

    public func createTable(_ input: CreateTableInput) async throws -> TableDescription {
        struct Output: Decodable { let TableDescription: DynamoDB.TableDescription }
        let output: Output = try await call("CreateTable", input)
        return output.TableDescription
    }

    public func describeTable(_ tableName: String) async throws -> TableDescription {
        struct Input: Encodable { let TableName: String }
        struct Output: Decodable { let Table: DynamoDB.TableDescription }
        let output: Output = try await call("DescribeTable", Input(TableName: tableName))
        return output.Table
    }

    public func deleteTable(_ tableName: String) async throws {
        struct Input: Encodable { let TableName: String }
        struct Output: Decodable {}
        let _: Output = try await call("DeleteTable", Input(TableName: tableName))
    }

    /// Polls DescribeTable every `pollInterval` (through the client's injected sleep) until the table is
    /// ACTIVE; throws `.service(code: "TableNotActive")` when it is not after `maxPolls`.
    public func waitUntilActive(
        _ tableName: String,
        pollInterval: Duration = .seconds(1),
        maxPolls: Int = 60
    )
        async throws -> TableDescription
    {
        var last: TableDescription?
        for poll in 0..<max(1, maxPolls) {
            let table = try await describeTable(tableName)
            if table.tableStatus == .active { return table }
            last = table
            if poll + 1 < maxPolls { try await client.configuration.sleep(pollInterval) }
        }
        let status = last.map { "\($0.tableStatus)" } ?? "unknown"
        throw AWSError(
            code: .service(code: "TableNotActive", message: "table \(tableName) is \(status)"),
            service: "dynamodb",
            operation: "DescribeTable",
            message: "table \(tableName) still \(status) after \(maxPolls) polls"
        )
    }

    /// Sends one operation with its input as the JSON body and decodes the reply.
    func call<Input: Encodable, Output: Decodable>(_ operation: String, _ input: Input) async throws -> Output {
        try await client.sendJSON(
            service: .dynamoDB,
            targetPrefix: "DynamoDB_20120810",
            operation: operation,
            input: input
        )
    }
}
