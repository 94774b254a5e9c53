import AWSClients
import Foundation

/// The production lease store: one DynamoDB item per fleet, every write a conditional PutItem on the record
/// version, every read strongly consistent. Fenced state writes are TransactWriteItems that check the lease
/// item's epoch and holder in the same transaction as the state Put.
///
/// Give it a `DynamoDB` client whose `retry.maxAttempts` is 1 and whose `requestTimeout` is at most the lease's
/// `operationTimeout`: the campaign retries on its own schedule and must see each failure when it happens.
public struct DynamoDBLeaseStore: LeaseStore {
    /// Attribute names of the lease and state items (docs/consensus.md, "DynamoDB table").
    public enum Attribute {
        public static let key = "pk"
        public static let holderID = "holderId"
        public static let holderAddress = "holderAddress"
        public static let version = "version"
        public static let leaseDurationMs = "leaseDurationMs"
        public static let epoch = "epoch"
        public static let value = "value"
    }

    public let dynamoDB: DynamoDB
    /// The table holding lease items (partition key `pk`, a string).
    public let tableName: String
    /// The table holding fenced state items; may be the lease table.
    public let stateTableName: String

    public init(dynamoDB: DynamoDB, tableName: String, stateTableName: String? = nil) {
        self.dynamoDB = dynamoDB
        self.tableName = tableName
        self.stateTableName = stateTableName ?? tableName
    }

    /// The partition key of a fleet's lease item.
    public static func leaseKey(fleet: String) -> String { "lease#\(fleet)" }
    /// The partition key of a fenced state item.
    public static func stateKey(fleet: String, key: String) -> String { "state#\(fleet)#\(key)" }

    /// Creates the table (on-demand billing, partition key `pk`) and waits until it is active; for tests and
    /// first-time setup (production tables come from the CloudFormation template).
    public static func createTable(_ tableName: String, dynamoDB: DynamoDB) async throws {
        _ = try await dynamoDB.createTable(
            .init(
                tableName: tableName,
                keySchema: [.init(Attribute.key, .hash)],
                attributeDefinitions: [.init(Attribute.key, .string)]
            )
        )
        _ = try await dynamoDB.waitUntilActive(tableName, pollInterval: .milliseconds(100), maxPolls: 100)
    }

    public func read(fleet: String) async throws(LeaseStoreError) -> LeaseRecord? {
        let context = "read lease of fleet \(fleet) from table \(tableName)"
        let output: DynamoDB.GetItemOutput
        do {
            output = try await dynamoDB.getItem(
                .init(
                    tableName: tableName,
                    key: [Attribute.key: .string(Self.leaseKey(fleet: fleet))],
                    consistentRead: true
                )
            )
        } catch {
            throw Self.storeError(error, context: context)
        }
        guard let item = output.item else { return nil }
        return try Self.record(fleet: fleet, item: item, context: context)
    }

    public func write(
        _ record: LeaseRecord,
        replacing expected: RecordVersion?
    ) async throws(LeaseStoreError)
        -> LeaseWriteOutcome
    {
        let context = "write lease of fleet \(record.fleet) to table \(tableName)"
        var item: DynamoDBItem = [
            Attribute.key: .string(Self.leaseKey(fleet: record.fleet)),
            Attribute.version: .string(record.version.rawValue),
            Attribute.leaseDurationMs: .int(record.leaseDuration.wholeMilliseconds),
            Attribute.epoch: .int(record.epoch.rawValue),
        ]
        if let holder = record.holder {
            item[Attribute.holderID] = .string(holder.id)
            item[Attribute.holderAddress] = .string(holder.address)
        }
        let input: DynamoDB.PutItemInput
        if let expected {
            input = .init(
                tableName: tableName,
                item: item,
                conditionExpression: "#v = :expected",
                expressionAttributeNames: ["#v": Attribute.version],
                expressionAttributeValues: [":expected": .string(expected.rawValue)]
            )
        } else {
            input = .init(
                tableName: tableName,
                item: item,
                conditionExpression: "attribute_not_exists(#k)",
                expressionAttributeNames: ["#k": Attribute.key]
            )
        }
        do {
            _ = try await dynamoDB.putItem(input)
            return .written
        } catch let error as AWSError where error.code == .conditionalCheckFailed {
            return .versionMismatch
        } catch {
            throw Self.storeError(error, context: context)
        }
    }

    /// A TransactWriteItems with a ConditionCheck on the lease item (epoch and holder) and the state Put: the
    /// check reads the lease as it is at commit, so a leader deposed a moment ago is refused even for an item
    /// nobody newer has written yet (an epoch attribute on the state item alone could not refuse that).
    public func writeState(
        _ item: FencedStateItem,
        fencedBy epoch: FencingEpoch,
        holder: String
    )
        async throws(LeaseStoreError) -> FencedWriteOutcome
    {
        let context = "fenced write of \(item.key) in fleet \(item.fleet) at epoch \(epoch)"
        let transaction = DynamoDB.TransactWriteItemsInput([
            .conditionCheck(
                .init(
                    tableName: tableName,
                    key: [Attribute.key: .string(Self.leaseKey(fleet: item.fleet))],
                    conditionExpression: "#e = :epoch AND #h = :holder",
                    expressionAttributeNames: ["#e": Attribute.epoch, "#h": Attribute.holderID],
                    expressionAttributeValues: [":epoch": .int(epoch.rawValue), ":holder": .string(holder)]
                )
            ),
            .put(
                .init(
                    tableName: stateTableName,
                    item: [
                        Attribute.key: .string(Self.stateKey(fleet: item.fleet, key: item.key)),
                        Attribute.value: .string(item.value), Attribute.epoch: .int(epoch.rawValue),
                    ]
                )
            ),
        ])
        do {
            try await dynamoDB.transactWriteItems(transaction)
            return .written
        } catch let canceled as DynamoDB.TransactionCanceled {
            // Only the lease check has a condition; any other cancellation (a conflict) is the store's error.
            guard canceled.conditionFailed else { throw Self.storeError(canceled.error, context: context) }
            let current: FencingEpoch?
            do {
                current = try await read(fleet: item.fleet)?.epoch
            } catch {
                current = nil  // the refusal stands; the current epoch is only informative
            }
            return .refused(currentEpoch: current)
        } catch {
            throw Self.storeError(error, context: context)
        }
    }

    public func readState(fleet: String, key: String) async throws(LeaseStoreError) -> FencedStateItem? {
        let context = "read state \(key) of fleet \(fleet)"
        do {
            let output = try await dynamoDB.getItem(
                .init(
                    tableName: stateTableName,
                    key: [Attribute.key: .string(Self.stateKey(fleet: fleet, key: key))],
                    consistentRead: true
                )
            )
            guard let item = output.item else { return nil }
            guard let value = item[Attribute.value]?.stringValue,
                let epoch = item[Attribute.epoch]?.numberValue.flatMap({ UInt64($0) })
            else {
                throw LeaseStoreError(.corruptRecord, context: context, message: "state item lacks value or epoch")
            }
            return FencedStateItem(fleet: fleet, key: key, value: value, epoch: FencingEpoch(epoch))
        } catch {
            throw Self.storeError(error, context: context)
        }
    }

    private static func record(
        fleet: String,
        item: DynamoDBItem,
        context: String
    ) throws(LeaseStoreError)
        -> LeaseRecord
    {
        guard let version = item[Attribute.version]?.stringValue,
            let durationMs = item[Attribute.leaseDurationMs]?.numberValue.flatMap({ Int64($0) }), durationMs > 0,
            let epoch = item[Attribute.epoch]?.numberValue.flatMap({ UInt64($0) })
        else {
            throw LeaseStoreError(
                .corruptRecord,
                context: context,
                message: "lease item lacks a valid version, leaseDurationMs or epoch; delete the item to reset"
            )
        }
        let holder = item[Attribute.holderID]?.stringValue.map {
            LeaseHolder(id: $0, address: item[Attribute.holderAddress]?.stringValue ?? "")
        }
        return LeaseRecord(
            fleet: fleet,
            holder: holder,
            version: RecordVersion(rawValue: version),
            leaseDuration: .milliseconds(durationMs),
            epoch: FencingEpoch(epoch)
        )
    }

    private static func storeError(_ error: any Error, context: String) -> LeaseStoreError {
        if let error = error as? LeaseStoreError { return error }
        if error is CancellationError {
            return LeaseStoreError(.timedOut, context: context, message: "cancelled before DynamoDB answered")
        }
        guard let error = error as? AWSError else {
            return LeaseStoreError(.ambiguous, context: context, message: "\(error)")
        }
        let detail =
            "\(error.operation): \(error.message) (HTTP \(error.httpStatus.map(String.init) ?? "none"), "
            + "request id \(error.requestID ?? "none"))"
        switch error.code {
        case .throttled:
            return LeaseStoreError(.unavailable, context: context, message: "throttled, not applied: \(detail)")
        case .accessDenied, .authenticationFailed, .noCredentials:
            return LeaseStoreError(
                .misconfigured,
                context: context,
                message:
                    "not allowed: \(detail); grant dynamodb:GetItem, dynamodb:PutItem and dynamodb:ConditionCheckItem on the table"
            )
        case .resourceNotFound:
            return LeaseStoreError(.misconfigured, context: context, message: "table missing: \(detail)")
        case .invalidRequest:
            return LeaseStoreError(.misconfigured, context: context, message: detail)
        case .service where (error.httpStatus ?? 500) < 500:
            // A 4xx other than the ones above (ValidationException, ...): the request itself is wrong, and
            // retrying it will not help.
            return LeaseStoreError(.misconfigured, context: context, message: "rejected: \(detail)")
        case .transport, .invalidResponse, .service, .conditionalCheckFailed, .insufficientCapacity, .spotPriceTooLow:
            // No reply, a 5xx, or a reply we cannot read: the write may or may not have happened.
            return LeaseStoreError(.ambiguous, context: context, message: detail)
        }
    }
}
