@testable import Consensus

/// An instant in virtual time: tests advance it by hand, nothing sleeps.
struct VirtualInstant: InstantProtocol, CustomStringConvertible {
    var offset: Duration

    static let zero = VirtualInstant(offset: .zero)

    func advanced(by duration: Duration) -> VirtualInstant { VirtualInstant(offset: offset + duration) }
    func duration(to other: VirtualInstant) -> Duration { other.offset - offset }
    static func < (lhs: VirtualInstant, rhs: VirtualInstant) -> Bool { lhs.offset < rhs.offset }

    var description: String { "t+\(offset)" }
}

extension LeaseCampaign.Action: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.read(let a), .read(let b)): a == b
        case (.write(let a, let r, let v), .write(let b, let s, let w)): a == b && r == s && v == w
        case (.becomeLeader(let a, let t), .becomeLeader(let b, let u)): a == b && t == u
        case (.extendLeadership(let a, let t), .extendLeadership(let b, let u)): a == b && t == u
        case (.stepDown(let a, let r), .stepDown(let b, let s)): a == b && r == s
        case (.scheduleTimer(let a, let t), .scheduleTimer(let b, let u)): a == b && t == u
        case (.finished, .finished): true
        default: false
        }
    }
}

extension Array {
    /// The single write among the actions (a test fails if there is not exactly one).
    func onlyWrite<I>() -> (id: LeaseCampaign<I>.OperationID, record: LeaseRecord, replacing: RecordVersion?)?
    where Element == LeaseCampaign<I>.Action {
        let writes = compactMap { action -> (LeaseCampaign<I>.OperationID, LeaseRecord, RecordVersion?)? in
            if case .write(let id, let record, let replacing) = action { return (id, record, replacing) }
            return nil
        }
        guard writes.count == 1 else { return nil }
        return (writes[0].0, writes[0].1, writes[0].2)
    }

    func onlyRead<I>() -> LeaseCampaign<I>.OperationID? where Element == LeaseCampaign<I>.Action {
        let reads = compactMap { action -> LeaseCampaign<I>.OperationID? in
            if case .read(let id) = action { return id }
            return nil
        }
        return reads.count == 1 ? reads[0] : nil
    }
}
