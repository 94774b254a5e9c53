import Consensus
import FleetAPI

/// The coordinator's port for its right to act: whether this replica leads now, and under which fencing epoch.
/// Fed by Consensus' `LeaderElection` in production and in the simulator (the lease's epoch is what stamps every
/// command and every durable write); a test may drive it by hand.
///
/// Promise: `actingEpoch()` returns nil from the instant this replica must stop acting (renew deadline passed,
/// lease lost, shutdown), even before anyone has seen the step-down event; check it right before every command.
public protocol Leadership: Sendable {
    /// The epoch to act under now, or nil when this replica must not act at this instant.
    func actingEpoch() -> FencingEpoch?
    /// The lease as its store holds it now (epoch, holder id and address), for redirects and `coordctl leader`;
    /// nil when no lease was ever taken; throws when the store cannot be read.
    func currentLease() async throws -> LeaseRecord?
}

extension LeaderElection: Leadership {
    public func currentLease() async throws -> LeaseRecord? {
        try await store.read(fleet: configuration.fleet)
    }
}

/// A replica that runs no election and so never acts: it keeps the fleet's state warm and answers status, and
/// sends nothing.
public struct NeverLeading: Leadership {
    public init() {}
    public func actingEpoch() -> FencingEpoch? { nil }
    public func currentLease() async -> LeaseRecord? { nil }
}
