import Consensus
import Cost
import FleetAPI
import Foundation

/// What the leader keeps beyond the lease and must survive a restart and a change of leader: the operator's
/// changes to the budget and the clusters' policies (over what the configuration file says), and where the
/// decision journal stands. (The journal, the demand history and the spend ledger are items of their own.) Every write is fenced by the writer's epoch, so a deposed leader cannot write.
public struct DurableFleetState: Codable, Sendable, Hashable {
    /// Set by `coordctl budget set`: the budget in force instead of the file's (`nil` inside: unlimited).
    public var budgetOverride: BudgetOverride?
    /// Set by `coordctl policy set`, `pause`, `resume`: each cluster's changes over the file's policy.
    public var policyChanges: [String: PolicyChange]
    /// Regions and clusters failed over by `coordctl failover`, until `failback`.
    public var failedRegions: Set<String> = []
    public var failedClusters: Set<String> = []

    public struct BudgetOverride: Codable, Sendable, Hashable {
        public var budget: FleetBudget?
        public init(budget: FleetBudget?) { self.budget = budget }
    }

    public init(
        budgetOverride: BudgetOverride? = nil,
        policyChanges: [String: PolicyChange] = [:],
        failedRegions: Set<String> = []
    ) {
        self.budgetOverride = budgetOverride
        self.policyChanges = policyChanges
        self.failedRegions = failedRegions
    }

    private enum CodingKeys: String, CodingKey { case budgetOverride, policyChanges, failedRegions, failedClusters }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        budgetOverride = try container.decodeIfPresent(BudgetOverride.self, forKey: .budgetOverride)
        policyChanges = try container.decodeIfPresent([String: PolicyChange].self, forKey: .policyChanges) ?? [:]
        failedRegions = try container.decodeIfPresent(Set<String>.self, forKey: .failedRegions) ?? []
        failedClusters = try container.decodeIfPresent(Set<String>.self, forKey: .failedClusters) ?? []
    }
}

/// Where the coordinator's durable state lives: the same store as the lease (its SQLite file by default, its
/// DynamoDB table in production), every write fenced by the writer's epoch.
public protocol FleetStateStore: Sendable {
    /// The stored state, or an empty one when nothing was ever written.
    func load() async throws -> DurableFleetState
    /// Writes `state` if `epoch` is still the lease's current epoch and this replica its holder; false when the
    /// store refused it (the writer was deposed).
    func save(_ state: DurableFleetState, epoch: FencingEpoch) async throws -> Bool
    /// Appends entries to the bounded journal (fenced like `save`); false when refused.
    func append(_ entries: [JournalEntry], epoch: FencingEpoch) async throws -> Bool
    /// The journal as stored, oldest first (at most its bound).
    func journal() async throws -> [JournalEntry]
    /// Stores every cluster's demand profile (the forecaster's history), fenced like `save`.
    func save(forecasters: [ClusterID: ClusterDemandForecaster], epoch: FencingEpoch) async throws -> Bool
    /// The stored demand profiles.
    func forecasters() async throws -> [ClusterID: ClusterDemandForecaster]
    /// Stores the spend ledger (month-to-date and the budget alerts given), fenced like `save`.
    func save(spend: SpendLedger.Snapshot, epoch: FencingEpoch) async throws -> Bool
    /// The stored spend ledger, or nil when none was ever written.
    func spend() async throws -> SpendLedger.Snapshot?
}

/// A `FleetStateStore` on the lease store's fenced state items: the state as one JSON item, the journal as a ring
/// of pages of `pageSize` entries, `pages` pages in all (the oldest page is overwritten).
public struct LeaseBackedStateStore: FleetStateStore {
    private let store: any LeaseStore
    private let fleet: String
    private let holder: String
    public let pageSize: Int
    public let pages: Int

    public init(store: any LeaseStore, fleet: String, holder: String, pageSize: Int = 100, pages: Int = 20) {
        self.store = store
        self.fleet = fleet
        self.holder = holder
        self.pageSize = pageSize
        self.pages = pages
    }

    public func load() async throws -> DurableFleetState {
        guard let item = try await store.readState(fleet: fleet, key: "fleet-state") else { return DurableFleetState() }
        return try StateJSON.decode(DurableFleetState.self, item.value, key: "fleet-state")
    }

    public func save(_ state: DurableFleetState, epoch: FencingEpoch) async throws -> Bool {
        try await write("fleet-state", StateJSON.encode(state), epoch: epoch)
    }

    public func append(_ entries: [JournalEntry], epoch: FencingEpoch) async throws -> Bool {
        let byPage = Dictionary(grouping: entries) { Int(($0.sequence / UInt64(pageSize)) % UInt64(pages)) }
        for (page, added) in byPage.sorted(by: { $0.key < $1.key }) {
            let key = "journal/\(page)"
            let first = added.map(\.sequence).min() ?? 0
            let pageStart = first - first % UInt64(pageSize)
            var kept = try await readPage(key).filter { $0.sequence >= pageStart && $0.sequence < first }
            kept += added.sorted { $0.sequence < $1.sequence }
            guard try await write(key, StateJSON.encode(kept), epoch: epoch) else { return false }
        }
        return true
    }

    public func save(forecasters: [ClusterID: ClusterDemandForecaster], epoch: FencingEpoch) async throws -> Bool {
        let byName = Dictionary(uniqueKeysWithValues: forecasters.map { ($0.key.rawValue, $0.value) })
        return try await write("demand-history", StateJSON.encode(byName), epoch: epoch)
    }

    public func forecasters() async throws -> [ClusterID: ClusterDemandForecaster] {
        guard let item = try await store.readState(fleet: fleet, key: "demand-history") else { return [:] }
        let byName = try StateJSON.decode([String: ClusterDemandForecaster].self, item.value, key: "demand-history")
        return Dictionary(uniqueKeysWithValues: byName.map { (ClusterID($0.key), $0.value) })
    }

    public func save(spend: SpendLedger.Snapshot, epoch: FencingEpoch) async throws -> Bool {
        try await write("spend-ledger", StateJSON.encode(spend), epoch: epoch)
    }

    public func spend() async throws -> SpendLedger.Snapshot? {
        guard let item = try await store.readState(fleet: fleet, key: "spend-ledger") else { return nil }
        return try StateJSON.decode(SpendLedger.Snapshot.self, item.value, key: "spend-ledger")
    }

    public func journal() async throws -> [JournalEntry] {
        var all: [JournalEntry] = []
        for page in 0..<pages { all += try await readPage("journal/\(page)") }
        return all.sorted { $0.sequence < $1.sequence }
    }

    private func readPage(_ key: String) async throws -> [JournalEntry] {
        guard let item = try await store.readState(fleet: fleet, key: key) else { return [] }
        return try StateJSON.decode([JournalEntry].self, item.value, key: key)
    }

    private func write(_ key: String, _ value: String, epoch: FencingEpoch) async throws -> Bool {
        let outcome = try await store.writeState(
            FencedStateItem(fleet: fleet, key: key, value: value, epoch: epoch),
            fencedBy: epoch,
            holder: holder
        )
        if case .written = outcome { return true }
        return false
    }
}

/// A `FleetStateStore` in memory, fenced the same way (a write under an epoch lower than one already written is
/// refused): for tests and the simulator.
public actor InMemoryFleetStateStore: FleetStateStore {
    private var state = DurableFleetState()
    private var entries: [JournalEntry] = []
    private var highestEpoch = FencingEpoch.none
    private let bound: Int

    public init(bound: Int = 2000) { self.bound = bound }

    public func load() -> DurableFleetState { state }

    public func save(_ state: DurableFleetState, epoch: FencingEpoch) -> Bool {
        guard epoch >= highestEpoch else { return false }
        highestEpoch = epoch
        self.state = state
        return true
    }

    public func append(_ entries: [JournalEntry], epoch: FencingEpoch) -> Bool {
        guard epoch >= highestEpoch else { return false }
        highestEpoch = epoch
        self.entries += entries
        if self.entries.count > bound { self.entries.removeFirst(self.entries.count - bound) }
        return true
    }

    public func journal() -> [JournalEntry] { entries }

    private var demand: [ClusterID: ClusterDemandForecaster] = [:]

    public func save(forecasters: [ClusterID: ClusterDemandForecaster], epoch: FencingEpoch) -> Bool {
        guard epoch >= highestEpoch else { return false }
        highestEpoch = epoch
        demand = forecasters
        return true
    }

    public func forecasters() -> [ClusterID: ClusterDemandForecaster] { demand }

    private var spendLedger: SpendLedger.Snapshot?

    public func save(spend: SpendLedger.Snapshot, epoch: FencingEpoch) -> Bool {
        guard epoch >= highestEpoch else { return false }
        highestEpoch = epoch
        spendLedger = spend
        return true
    }

    public func spend() -> SpendLedger.Snapshot? { spendLedger }
}

/// The JSON of stored state: sorted keys, so the same state is the same bytes.
enum StateJSON {
    static func encode<Value: Encodable>(_ value: Value) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<Value: Decodable>(_ type: Value.Type, _ text: String, key: String) throws -> Value {
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch {
            throw LeaseStoreError(
                .corruptRecord,
                context: "read the coordinator's state item \(key)",
                message: "it is not the JSON this version writes: \(error)"
            )
        }
    }
}
