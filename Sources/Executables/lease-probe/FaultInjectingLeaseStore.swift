import Consensus
import Foundation
import Synchronization

/// How often each injected fault happens, per call.
struct FaultRates: Sendable {
    var dropReply: Double
    var unavailable: Double
    var applyThen503: Double
    var hang: Double
    var hangFor: Duration

    var isNone: Bool { dropReply == 0 && unavailable == 0 && applyThen503 == 0 && hang == 0 }
}

/// A store in front of another that injects the faults a network path to DynamoDB shows: a reply lost after the
/// write was applied, a 503 before reaching the store, a 503 after applying, a call that hangs and then lands
/// (possibly after the caller gave up on it).
final class FaultInjectingLeaseStore: LeaseStore {
    let base: any LeaseStore
    let rates: FaultRates
    private let random = Mutex(SystemRandomNumberGenerator())

    init(base: any LeaseStore, rates: FaultRates) {
        self.base = base
        self.rates = rates
    }

    private enum Fault { case none, dropReply, unavailable, applyThen503, hang }

    private func roll() -> Fault {
        let x = random.withLock { Double.random(in: 0..<1, using: &$0) }
        var edge = rates.dropReply
        if x < edge { return .dropReply }
        edge += rates.unavailable
        if x < edge { return .unavailable }
        edge += rates.applyThen503
        if x < edge { return .applyThen503 }
        edge += rates.hang
        if x < edge { return .hang }
        return .none
    }

    private func injected(_ code: LeaseStoreError.Code, _ what: String) -> LeaseStoreError {
        LeaseStoreError(code, context: "fault injection", message: what)
    }

    func read(fleet: String) async throws(LeaseStoreError) -> LeaseRecord? {
        switch roll() {
        case .unavailable, .applyThen503: throw injected(.ambiguous, "HTTP 503 (injected)")
        case .dropReply: throw injected(.timedOut, "reply dropped (injected)")
        case .hang: try? await Task.sleep(for: rates.hangFor)
        case .none: break
        }
        return try await base.read(fleet: fleet)
    }

    func write(
        _ record: LeaseRecord,
        replacing expected: RecordVersion?
    ) async throws(LeaseStoreError)
        -> LeaseWriteOutcome
    {
        switch roll() {
        case .none:
            return try await base.write(record, replacing: expected)
        case .unavailable:
            throw injected(.ambiguous, "HTTP 503 (injected, not applied)")
        case .dropReply:
            _ = try await base.write(record, replacing: expected)
            throw injected(.timedOut, "reply dropped after the write was applied (injected)")
        case .applyThen503:
            _ = try await base.write(record, replacing: expected)
            throw injected(.ambiguous, "HTTP 503 after the write was applied (injected)")
        case .hang:
            // The write lands late, whether or not the caller still waits for it.
            let base = base
            let delay = rates.hangFor
            let late = Task {
                try? await Task.sleep(for: delay)
                return try? await base.write(record, replacing: expected)
            }
            guard let outcome = await late.value else { throw injected(.ambiguous, "late write failed") }
            return outcome
        }
    }

    func writeState(
        _ item: FencedStateItem,
        fencedBy epoch: FencingEpoch,
        holder: String
    )
        async throws(LeaseStoreError) -> FencedWriteOutcome
    {
        try await base.writeState(item, fencedBy: epoch, holder: holder)
    }

    func readState(fleet: String, key: String) async throws(LeaseStoreError) -> FencedStateItem? {
        try await base.readState(fleet: fleet, key: key)
    }
}

/// Logs every failed lease read or write ("store call failed: write ambiguous pid P"), so tests can see that
/// injected faults reached the campaign.
struct ObservedLeaseStore: LeaseStore {
    let base: any LeaseStore
    let out: ProbeOutput

    private func note(_ operation: String, _ error: LeaseStoreError) {
        out.line("store call failed: \(operation) \(error.code.rawValue) pid \(getpid())")
    }

    func read(fleet: String) async throws(LeaseStoreError) -> LeaseRecord? {
        do { return try await base.read(fleet: fleet) } catch {
            note("read", error)
            throw error
        }
    }

    func write(
        _ record: LeaseRecord,
        replacing expected: RecordVersion?
    ) async throws(LeaseStoreError)
        -> LeaseWriteOutcome
    {
        do { return try await base.write(record, replacing: expected) } catch {
            note("write", error)
            throw error
        }
    }

    func writeState(
        _ item: FencedStateItem,
        fencedBy epoch: FencingEpoch,
        holder: String
    )
        async throws(LeaseStoreError) -> FencedWriteOutcome
    {
        try await base.writeState(item, fencedBy: epoch, holder: holder)
    }

    func readState(fleet: String, key: String) async throws(LeaseStoreError) -> FencedStateItem? {
        try await base.readState(fleet: fleet, key: key)
    }
}
