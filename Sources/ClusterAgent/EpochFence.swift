import FleetAPI
import Synchronization

/// The highest fencing epoch this agent has seen, from commands and from coordinators' acknowledgements, kept in
/// an `EpochStore` so it survives restarts. It owns the agent's one fencing rule.
///
/// Promises: a command whose epoch is lower than the highest seen is refused with `StaleEpochError`; a higher epoch
/// is made durable before the command that carries it is acted on; reads never block on I/O.
public final class EpochFence: Sendable {
    private let store: any EpochStore
    /// Serialises raising the epoch (the file write and the update), so two raises never store out of order.
    private let highest: Mutex<FencingEpoch>
    /// The epoch once durable, for readers: a drain asks before each step and must not wait behind an fsync.
    private let published: Atomic<UInt64>

    /// Loads the stored epoch; a file that cannot be read stops the agent at start (it must not act unfenced).
    public init(store: any EpochStore) throws(EpochStoreError) {
        self.store = store
        let loaded = try store.load()
        self.highest = Mutex(loaded)
        self.published = Atomic(loaded.rawValue)
    }

    /// The highest epoch seen (and made durable).
    public var highestSeen: FencingEpoch { FencingEpoch(published.load(ordering: .acquiring)) }

    /// Admits a command stamped with `epoch`: refuses it when lower than the highest seen, and persists it first
    /// when it is higher. Returns whether it raised the highest epoch.
    @discardableResult
    public func admit(_ epoch: FencingEpoch) throws -> Bool {
        try highest.withLock { highest throws -> Bool in
            guard epoch >= highest else { throw StaleEpochError(presented: epoch, highestSeen: highest) }
            guard epoch > highest else { return false }
            try store.store(epoch)
            highest = epoch
            published.store(epoch.rawValue, ordering: .releasing)
            return true
        }
    }

    /// Notes an epoch learned without a command (a coordinator's acknowledgement); persisted like a command's.
    /// A lower one changes nothing.
    @discardableResult
    public func observe(_ epoch: FencingEpoch) throws(EpochStoreError) -> Bool {
        try highest.withLock { highest throws(EpochStoreError) -> Bool in
            guard epoch > highest else { return false }
            try store.store(epoch)
            highest = epoch
            published.store(epoch.rawValue, ordering: .releasing)
            return true
        }
    }
}
