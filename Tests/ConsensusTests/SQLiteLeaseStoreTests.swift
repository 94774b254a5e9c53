import Foundation
import Testing

@testable import Consensus

private let alice = LeaseHolder(id: "alice", address: "127.0.0.1:1")
private let bob = LeaseHolder(id: "bob", address: "127.0.0.1:2")

private func lease(_ holder: LeaseHolder?, epoch: UInt64, fleet: String = "f") -> LeaseRecord {
    LeaseRecord(
        fleet: fleet,
        holder: holder,
        version: .random(),
        leaseDuration: .milliseconds(2500),
        epoch: FencingEpoch(epoch)
    )
}

@Suite("SQLiteLeaseStore")
struct SQLiteLeaseStoreTests {
    @Test("a write succeeds only against the version it expects, and a read returns exactly what was written")
    func compareAndSwap() async throws {
        let file = try TemporaryStoreFile()
        defer { file.remove() }
        let store = try SQLiteLeaseStore(path: file.path)
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

    @Test("of many connections racing to replace the same version, exactly one wins")
    func raceAcrossConnections() async throws {
        let file = try TemporaryStoreFile()
        defer { file.remove() }
        let setup = try SQLiteLeaseStore(path: file.path)
        let initial = lease(nil, epoch: 7)
        #expect(try await setup.write(initial, replacing: nil) == .written)
        // Separate stores are separate connection pools, as separate processes would have.
        let stores = try (0..<6).map { _ in try SQLiteLeaseStore(path: file.path, busyTimeout: .seconds(5)) }
        let wins = try await withThrowingTaskGroup(of: LeaseWriteOutcome.self) { group in
            for (index, store) in stores.enumerated() {
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
        #expect(try await setup.read(fleet: "f")?.epoch == FencingEpoch(8))
    }

    @Test("a fenced write is accepted from the current holder at the current epoch and refused after a takeover")
    func fencedWrites() async throws {
        let file = try TemporaryStoreFile()
        defer { file.remove() }
        let store = try SQLiteLeaseStore(path: file.path)
        let aliceLease = lease(alice, epoch: 4)
        #expect(try await store.write(aliceLease, replacing: nil) == .written)
        let item = FencedStateItem(fleet: "f", key: "plan", value: "{\"generation\":1}")
        #expect(try await store.writeState(item, fencedBy: FencingEpoch(4), holder: "alice") == .written)
        #expect(try await store.readState(fleet: "f", key: "plan")?.epoch == FencingEpoch(4))
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

    @Test("a database locked by another process makes calls fail as unavailable after the busy timeout, not hang")
    func lockedDatabase() async throws {
        let file = try TemporaryStoreFile()
        defer { file.remove() }
        let store = try SQLiteLeaseStore(path: file.path, busyTimeout: .milliseconds(100))
        let first = lease(alice, epoch: 1)
        #expect(try await store.write(first, replacing: nil) == .written)
        let locker = try StoreLock(path: file.path)
        try locker.lock()
        let error = await #expect(throws: LeaseStoreError.self) {
            try await store.write(lease(alice, epoch: 1), replacing: first.version)
        }
        #expect(error?.code == .unavailable)
        try locker.unlock()
        #expect(try await store.write(lease(alice, epoch: 1), replacing: first.version) == .written)
    }

    @Test("replicas opening a new store file at the same moment all succeed and share one lease")
    func concurrentFirstOpen() async throws {
        for _ in 0..<10 {
            let file = try TemporaryStoreFile()
            defer { file.remove() }
            // Each open on a thread of its own, as separate processes would; a short busy timeout as the probes use.
            let opened = await withTaskGroup(of: Result<SQLiteLeaseStore, LeaseStoreError>.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        await Task.detached {
                            do throws(LeaseStoreError) {
                                return .success(try SQLiteLeaseStore(path: file.path, busyTimeout: .milliseconds(50)))
                            } catch {
                                return .failure(error)
                            }
                        }.value
                    }
                }
                var results: [Result<SQLiteLeaseStore, LeaseStoreError>] = []
                for await result in group { results.append(result) }
                return results
            }
            let stores = try opened.map { try $0.get() }
            #expect(try await stores[0].write(lease(alice, epoch: 1), replacing: nil) == .written)
            #expect(try await stores[5].read(fleet: "f")?.holder == alice)
        }
    }

    @Test("a path in a missing directory is reported as a configuration error naming the path")
    func missingDirectory() {
        let error = #expect(throws: LeaseStoreError.self) {
            try SQLiteLeaseStore(path: "/nonexistent-\(UUID().uuidString)/lease.sqlite")
        }
        #expect(error?.code == .misconfigured)
        #expect(error?.context.contains("nonexistent") == true)
    }
}
