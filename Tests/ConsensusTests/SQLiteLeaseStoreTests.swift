import Foundation
import Testing

@testable import Consensus

private let alice = LeaseStoreContract.alice

private func lease(_ holder: LeaseHolder?, epoch: UInt64) -> LeaseRecord {
    LeaseStoreContract.lease(holder, epoch: epoch)
}

@Suite("SQLiteLeaseStore")
struct SQLiteLeaseStoreTests {
    @Test("a write succeeds only against the version it expects, and a read returns exactly what was written")
    func compareAndSwap() async throws {
        let file = try TemporaryStoreFile()
        defer { file.remove() }
        try await LeaseStoreContract.compareAndSwap(try SQLiteLeaseStore(path: file.path))
    }

    @Test("of many connections racing to replace the same version, exactly one wins")
    func raceAcrossConnections() async throws {
        let file = try TemporaryStoreFile()
        defer { file.remove() }
        let setUp = try SQLiteLeaseStore(path: file.path)
        // Separate stores are separate connection pools, as separate processes would have.
        let stores = try (0..<6).map { _ in try SQLiteLeaseStore(path: file.path, busyTimeout: .seconds(5)) }
        try await LeaseStoreContract.race(setUp: setUp, contenders: stores)
    }

    @Test("a fenced write is accepted from the current holder at the current epoch and refused after a takeover")
    func fencedWrites() async throws {
        let file = try TemporaryStoreFile()
        defer { file.remove() }
        try await LeaseStoreContract.fencedWrites(try SQLiteLeaseStore(path: file.path))
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
