/// Where a fleet's lease record lives. Every write is a compare-and-swap on the record version, which is the
/// only primitive the lease protocol needs: acquire, renew and release all replace the version they observed.
///
/// Implementations promise: a write succeeds only if the stored version equals `expected` (or the record is
/// absent when `expected` is nil), atomically across every process and host that shares the store; a read
/// returns the latest committed record (strongly consistent).
public protocol LeaseStore: Sendable {
    /// The fleet's current lease record, or nil when none was ever written.
    func read(fleet: String) async throws(LeaseStoreError) -> LeaseRecord?

    /// Replaces the fleet's record with `record` if its stored version is still `expected` (nil: if absent).
    func write(
        _ record: LeaseRecord,
        replacing expected: RecordVersion?
    ) async throws(LeaseStoreError)
        -> LeaseWriteOutcome

    /// Writes a state item only if `epoch` is the current epoch of the fleet's lease and `holder` its holder,
    /// atomically with that check, so a deposed leader's write is refused.
    func writeState(
        _ item: FencedStateItem,
        fencedBy epoch: FencingEpoch,
        holder: String
    )
        async throws(LeaseStoreError) -> FencedWriteOutcome

    /// A state item written by `writeState`, or nil when absent.
    func readState(fleet: String, key: String) async throws(LeaseStoreError) -> FencedStateItem?
}

/// The result of a conditional lease write that reached the store and was answered.
public enum LeaseWriteOutcome: Hashable, Sendable {
    /// The record now holds what was written.
    case written
    /// The stored version was not the expected one; nothing was written.
    case versionMismatch
}

/// A piece of durable leader state, written only under the writer's fencing epoch.
public struct FencedStateItem: Hashable, Sendable {
    public var fleet: String
    public var key: String
    /// Opaque to the store (the coordinator writes JSON).
    public var value: String
    /// The epoch of the leader that wrote it; set by the store on write.
    public var epoch: FencingEpoch

    public init(fleet: String, key: String, value: String, epoch: FencingEpoch = FencingEpoch(0)) {
        self.fleet = fleet
        self.key = key
        self.value = value
        self.epoch = epoch
    }
}

/// The result of a fenced state write that reached the store and was answered.
public enum FencedWriteOutcome: Hashable, Sendable {
    case written
    /// The writer's epoch is no longer current (or it no longer holds the lease); nothing was written.
    case refused(currentEpoch: FencingEpoch?)
}

/// A lease store call that failed. `code` says whether the write may have happened, which decides what the
/// caller must do next: after `.ambiguous` or `.timedOut` it re-reads before believing anything.
public struct LeaseStoreError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// The store could not be reached or refused the call before doing anything (connection refused,
        /// database locked, throttled); the call did not take effect.
        case unavailable
        /// The call may or may not have taken effect (reply lost, 5xx after sending); re-read to find out.
        case ambiguous
        /// No answer within the operation timeout; the call may still take effect later.
        case timedOut
        /// The stored record cannot be understood (written by an incompatible version, or edited by hand).
        case corruptRecord
        /// The store is set up wrongly (missing table, no permission, bad path); an operator must fix it.
        case misconfigured
    }

    public var code: Code
    /// What was being done, e.g. "renew lease of fleet prod".
    public var context: String
    /// What happened and what to do about it.
    public var message: String

    public init(_ code: Code, context: String, message: String) {
        self.code = code
        self.context = context
        self.message = message
    }

    public var description: String { "lease store \(code.rawValue) (\(context)): \(message)" }
}
