import Foundation
import GRDB

/// The embedded lease store: a local SQLite file shared by several processes on one host (WAL mode, a busy
/// timeout, every write one IMMEDIATE transaction). It keeps the same compare-and-swap semantics as the DynamoDB
/// store, atomically across processes, through SQLite's file locks — so the file must be on a local file system,
/// never on NFS or another network share.
public final class SQLiteLeaseStore: LeaseStore {
    /// The SQL schema, also shown in docs/consensus.md.
    public static let schema = """
        CREATE TABLE IF NOT EXISTS lease (
            fleet TEXT PRIMARY KEY NOT NULL,
            holder_id TEXT,
            holder_address TEXT,
            version TEXT NOT NULL,
            lease_duration_ms INTEGER NOT NULL,
            epoch INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS fenced_state (
            fleet TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            epoch INTEGER NOT NULL,
            PRIMARY KEY (fleet, key)
        );
        """

    /// The schema's version, kept in `PRAGMA user_version`.
    static let schemaVersion = 1

    private let pool: DatabasePool
    public let path: String

    /// Opens (creating if needed) the store at `path`. `busyTimeout` is how long a call waits for another
    /// process's write lock before failing with `.unavailable`; keep it below the lease operation timeout.
    /// `setUpTimeout` bounds the wait for other processes' locks while the file is created and migrated.
    public init(
        path: String,
        busyTimeout: Duration = .milliseconds(500),
        setUpTimeout: Duration = .seconds(10)
    ) throws(LeaseStoreError) {
        self.path = path
        func configuration(busy: Duration) -> Configuration {
            var configuration = Configuration()
            configuration.busyMode = .timeout(Double(busy.wholeMilliseconds) / 1000)
            configuration.prepareDatabase { db in
                // An acquire that is lost on power failure could hand the same epoch to two holders in turn.
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            return configuration
        }
        do {
            // Replicas started together all create the file, switch it to WAL and migrate it at once; each step
            // waits for the others' locks, and with synchronous = FULL on a busy disk that can take longer than
            // a lease call should ever wait. So the set-up gets its own, long busy timeout, on a connection of
            // its own, and the pool the lease calls use opens on a file that is ready.
            let setUp = try DatabaseQueue(
                path: path,
                configuration: configuration(busy: max(setUpTimeout, busyTimeout))
            )
            try setUp.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                // Check and create under one write lock: a migrator that reads what is applied before it locks
                // lets two processes both create the tables ("table lease already exists").
                try db.inTransaction(.immediate) {
                    if try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0 < Self.schemaVersion {
                        try db.execute(sql: Self.schema)
                        try db.execute(sql: "PRAGMA user_version = \(Self.schemaVersion)")
                    }
                    return .commit
                }
            }
            try setUp.close()
            pool = try DatabasePool(path: path, configuration: configuration(busy: busyTimeout))
        } catch {
            throw LeaseStoreError(
                .misconfigured,
                context: "open lease store at \(path)",
                message: "\(error); check that the directory exists and is writable, on a local file system"
            )
        }
    }

    public func read(fleet: String) async throws(LeaseStoreError) -> LeaseRecord? {
        let context = "read lease of fleet \(fleet)"
        let row: LeaseRow?
        do {
            row = try await pool.read { db in
                try Row.fetchOne(
                    db,
                    sql:
                        "SELECT holder_id, holder_address, version, lease_duration_ms, epoch FROM lease WHERE fleet = ?",
                    arguments: [fleet]
                ).map(LeaseRow.init)
            }
        } catch {
            throw Self.storeError(error, context: context)
        }
        guard let row else { return nil }
        return try row.record(fleet: fleet, context: context)
    }

    public func write(
        _ record: LeaseRecord,
        replacing expected: RecordVersion?
    ) async throws(LeaseStoreError)
        -> LeaseWriteOutcome
    {
        let context = "write lease of fleet \(record.fleet)"
        guard let epoch = Int64(exactly: record.epoch.rawValue) else {
            throw LeaseStoreError(.corruptRecord, context: context, message: "epoch \(record.epoch) exceeds Int64")
        }
        let (holderID, holderAddress, version) = (record.holder?.id, record.holder?.address, record.version.rawValue)
        let (duration, fleet, expectedVersion) = (
            record.leaseDuration.wholeMilliseconds, record.fleet, expected?.rawValue
        )
        do {
            return try await pool.write { db -> LeaseWriteOutcome in
                let values: StatementArguments = [holderID, holderAddress, version, duration, epoch]
                if let expectedVersion {
                    try db.execute(
                        sql: """
                            UPDATE lease SET holder_id = ?, holder_address = ?, version = ?, lease_duration_ms = ?,
                            epoch = ? WHERE fleet = ? AND version = ?
                            """,
                        arguments: values + [fleet, expectedVersion]
                    )
                } else {
                    try db.execute(
                        sql: """
                            INSERT INTO lease (holder_id, holder_address, version, lease_duration_ms, epoch, fleet)
                            VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (fleet) DO NOTHING
                            """,
                        arguments: values + [fleet]
                    )
                }
                return db.changesCount == 1 ? .written : .versionMismatch
            }
        } catch {
            throw Self.storeError(error, context: context)
        }
    }

    public func writeState(
        _ item: FencedStateItem,
        fencedBy epoch: FencingEpoch,
        holder: String
    )
        async throws(LeaseStoreError) -> FencedWriteOutcome
    {
        let context = "fenced write of \(item.key) in fleet \(item.fleet) at epoch \(epoch)"
        guard let epochValue = Int64(exactly: epoch.rawValue) else {
            throw LeaseStoreError(.corruptRecord, context: context, message: "epoch \(epoch) exceeds Int64")
        }
        let (fleet, key, value) = (item.fleet, item.key, item.value)
        do {
            // One IMMEDIATE transaction: the lease check and the state write see and change the same snapshot,
            // and no other process can take the lease in between.
            return try await pool.write { db -> FencedWriteOutcome in
                let lease = try Row.fetchOne(
                    db,
                    sql: "SELECT holder_id, epoch FROM lease WHERE fleet = ?",
                    arguments: [fleet]
                )
                let currentEpoch: Int64? = lease?["epoch"]
                let currentHolder: String? = lease?["holder_id"]
                guard currentEpoch == epochValue, currentHolder == holder else {
                    return .refused(currentEpoch: currentEpoch.flatMap { UInt64(exactly: $0) }.map { FencingEpoch($0) })
                }
                try db.execute(
                    sql: """
                        INSERT INTO fenced_state (fleet, key, value, epoch) VALUES (?, ?, ?, ?)
                        ON CONFLICT (fleet, key) DO UPDATE SET value = excluded.value, epoch = excluded.epoch
                        """,
                    arguments: [fleet, key, value, epochValue]
                )
                return .written
            }
        } catch {
            throw Self.storeError(error, context: context)
        }
    }

    public func readState(fleet: String, key: String) async throws(LeaseStoreError) -> FencedStateItem? {
        let context = "read state \(key) of fleet \(fleet)"
        do {
            let found = try await pool.read { db -> (value: String, epoch: Int64)? in
                try Row.fetchOne(
                    db,
                    sql: "SELECT value, epoch FROM fenced_state WHERE fleet = ? AND key = ?",
                    arguments: [fleet, key]
                ).map { ($0["value"], $0["epoch"]) }
            }
            guard let found else { return nil }
            return FencedStateItem(
                fleet: fleet,
                key: key,
                value: found.value,
                epoch: FencingEpoch(UInt64(clamping: found.epoch))
            )
        } catch {
            throw Self.storeError(error, context: context)
        }
    }

    /// A lease row copied out of the database (rows themselves may not leave the database queue).
    private struct LeaseRow: Sendable {
        var holderID: String?
        var holderAddress: String?
        var version: String?
        var durationMs: Int64?
        var epoch: Int64?

        init(_ row: Row) {
            holderID = row["holder_id"]
            holderAddress = row["holder_address"]
            version = row["version"]
            durationMs = row["lease_duration_ms"]
            epoch = row["epoch"]
        }

        func record(fleet: String, context: String) throws(LeaseStoreError) -> LeaseRecord {
            guard let version, let durationMs, durationMs > 0, let epoch, epoch >= 0 else {
                throw LeaseStoreError(
                    .corruptRecord,
                    context: context,
                    message: "lease row has a missing or invalid version, duration or epoch; delete the row to reset"
                )
            }
            return LeaseRecord(
                fleet: fleet,
                holder: holderID.map { LeaseHolder(id: $0, address: holderAddress ?? "") },
                version: RecordVersion(rawValue: version),
                leaseDuration: .milliseconds(durationMs),
                epoch: FencingEpoch(UInt64(epoch))
            )
        }
    }

    private static func storeError(_ error: any Error, context: String) -> LeaseStoreError {
        if let error = error as? LeaseStoreError { return error }
        if error is CancellationError {
            return LeaseStoreError(.timedOut, context: context, message: "cancelled before the database answered")
        }
        if let error = error as? DatabaseError {
            switch error.resultCode {
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                // A write transaction is all-or-nothing: when it could not get the lock nothing was written.
                return LeaseStoreError(
                    .unavailable,
                    context: context,
                    message: "database locked by another process beyond the busy timeout (\(error.message ?? ""))"
                )
            case .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_AUTH:
                return LeaseStoreError(
                    .unavailable,
                    context: context,
                    message: "database not writable (\(error.message ?? "")); check file permissions and disk"
                )
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                return LeaseStoreError(
                    .corruptRecord,
                    context: context,
                    message: "database file is corrupt: \(error.message ?? "")"
                )
            default:
                return LeaseStoreError(.unavailable, context: context, message: "\(error)")
            }
        }
        return LeaseStoreError(.unavailable, context: context, message: "\(error)")
    }
}
