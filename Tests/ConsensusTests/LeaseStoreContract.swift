import Testing

@testable import Consensus

/// The promises every `LeaseStore` keeps (docs/consensus.md), written once and run by each implementation's
/// suite against a store of its own: a compare-and-swap on the record version, exactly one winner of a race,
/// and fenced state writes refused once the lease has moved on.
enum LeaseStoreContract {
    static let alice = LeaseHolder(id: "alice", address: "127.0.0.1:1")
    static let bob = LeaseHolder(id: "bob", address: "127.0.0.1:2")

    static func lease(_ holder: LeaseHolder?, epoch: UInt64, fleet: String = "f") -> LeaseRecord {
        LeaseRecord(
            fleet: fleet,
            holder: holder,
            version: .random(),
            leaseDuration: .milliseconds(2500),
            epoch: FencingEpoch(epoch)
        )
    }

    /// A write succeeds only against the version it expects, and a read returns exactly what was written.
    /// `store` must hold no record for fleets "f" and "other".
    static func compareAndSwap(_ store: some LeaseStore) async throws {
        #expect(try await store.read(fleet: "f") == nil)

        let first = lease(alice, epoch: 1)
        #expect(try await store.write(first, replacing: nil) == .written)
        #expect(try await store.write(lease(bob, epoch: 1), replacing: nil) == .versionMismatch)
        #expect(try await store.read(fleet: "f") == first)

        let stale = RecordVersion.random()
        #expect(try await store.write(lease(bob, epoch: 2), replacing: stale) == .versionMismatch)
        let free = LeaseRecord(
            fleet: "f",
            holder: nil,
            version: .random(),
            leaseDuration: .seconds(10),
            epoch: FencingEpoch(1)
        )
        #expect(try await store.write(free, replacing: first.version) == .written)
        #expect(try await store.read(fleet: "f") == free)
        // Fleets are independent.
        #expect(try await store.read(fleet: "other") == nil)
    }

    /// Of several contenders racing to replace the same version, exactly one wins. `setUp` writes the record
    /// they race for; each contender writes through its own store (separate connections, as separate
    /// processes would have, where the implementation has such a thing).
    static func race(setUp: some LeaseStore, contenders: [any LeaseStore]) async throws {
        let initial = lease(nil, epoch: 7)
        #expect(try await setUp.write(initial, replacing: nil) == .written)
        let wins = try await withThrowingTaskGroup(of: LeaseWriteOutcome.self) { group in
            for (index, store) in contenders.enumerated() {
                group.addTask {
                    try await store.write(
                        lease(LeaseHolder(id: "h\(index)", address: ""), epoch: 8),
                        replacing: initial.version
                    )
                }
            }
            return try await group.reduce(into: 0) { $0 += $1 == .written ? 1 : 0 }
        }
        #expect(wins == 1)
        #expect(try await setUp.read(fleet: "f")?.epoch == FencingEpoch(8))
    }

    /// A fenced write is accepted from the current holder at the current epoch and refused from another holder,
    /// at an older epoch, and after a takeover; a refused write leaves the item as it was.
    static func fencedWrites(_ store: some LeaseStore) async throws {
        let aliceLease = lease(alice, epoch: 4)
        #expect(try await store.write(aliceLease, replacing: nil) == .written)
        let item = FencedStateItem(fleet: "f", key: "plan", value: "{\"generation\":1}")
        #expect(try await store.writeState(item, fencedBy: FencingEpoch(4), holder: "alice") == .written)
        #expect(
            try await store.readState(fleet: "f", key: "plan")
                == FencedStateItem(fleet: "f", key: "plan", value: "{\"generation\":1}", epoch: FencingEpoch(4))
        )
        // Wrong holder or older epoch: refused.
        #expect(
            try await store.writeState(item, fencedBy: FencingEpoch(4), holder: "bob")
                == .refused(currentEpoch: FencingEpoch(4))
        )
        #expect(
            try await store.writeState(item, fencedBy: FencingEpoch(3), holder: "alice")
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
