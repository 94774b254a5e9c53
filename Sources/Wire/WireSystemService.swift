import ServiceLifecycle

/// Keeps a `WireActorSystem` for the life of a `ServiceGroup`: on graceful shutdown (or cancellation) it shuts
/// the system down (goodbye on every connection, calls in flight failed, listeners closed). Put it last in the
/// group so the services that use the system stop first.
public struct WireSystemService: Service {
    private let system: WireActorSystem

    public init(system: WireActorSystem) {
        self.system = system
    }

    public func run() async throws {
        // Parks until shutdown is requested; the wait itself is cancelled by the shutdown.
        try? await cancelWhenGracefulShutdown {
            try await Task.sleep(for: .seconds(365 * 24 * 3600))
        }
        await system.shutdown()
    }
}
